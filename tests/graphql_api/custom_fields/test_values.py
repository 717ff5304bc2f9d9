"""Custom fields through GraphQL over HTTP: definitions by admins, values validated on write
(each type, hostile values too), required, unique (also under concurrency), renames that keep
values, remove and restore, audit rows and events with the values, and refusals."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.conftest import GraphQLClient
from tests.factories import TenantData, TenantFactory
from tests.graphql_api.custom_fields.helpers import (
    AUDIT,
    CREATE_COMPANY,
    CREATE_CONTACT,
    CREATE_FIELD,
    DEFINITIONS,
    DELETE_FIELD,
    GET_CONTACT,
    REORDER,
    RESTORE_FIELD,
    UPDATE_CONTACT,
    UPDATE_FIELD,
    contact,
    define,
    fields_of,
    values_of,
)

LEVELS = [{"key": "a", "label": "A 级"}, {"key": "b", "label": "B 级"},
          {"key": "c", "label": "C 级"}]


@pytest.fixture
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make()


@pytest.fixture
def fields(gql: GraphQLClient, tenant: TenantData) -> dict[str, dict[str, Any]]:
    """One field of each type on contacts."""
    admin = tenant.keys["admin"]
    return {
        "wechat": define(gql, admin, key="wechat", label="微信号", type="TEXT"),
        "employees": define(gql, admin, key="employees", label="员工数", type="NUMBER"),
        "budget": define(gql, admin, key="budget", label="预算", type="DECIMAL"),
        "met_on": define(gql, admin, key="met_on", label="初次见面", type="DATE"),
        "vip": define(gql, admin, key="vip", label="VIP", type="BOOLEAN"),
        "level": define(gql, admin, key="level", label="客户等级", type="SELECT",
                        options=LEVELS),
        "channels": define(gql, admin, key="channels", label="渠道", type="MULTI_SELECT",
                           options=[{"key": "wechat", "label": "微信"},
                                    {"key": "phone", "label": "电话"},
                                    {"key": "visit", "label": "拜访"}]),
    }


def test_values_of_every_type_are_stored_and_read_back_typed(
    gql: GraphQLClient, tenant: TenantData, fields: dict[str, Any]
) -> None:
    manager = tenant.keys["manager"]
    made = contact(gql, manager, "王小明", wechat=" wx_wang ", employees=120, budget="12.50",
                   met_on="2026-03-01", vip=True, level="b", channels=["visit", "wechat"])
    assert values_of(made) == {"wechat": "wx_wang", "employees": 120, "budget": "12.50",
                               "met_on": "2026-03-01", "vip": True, "level": "b",
                               # in the options' order, whatever order they were sent in
                               "channels": ["wechat", "visit"]}
    shown = {v["key"]: v["display"] for v in made["customFields"]}
    assert shown["level"] == "B 级" and shown["channels"] == "微信, 拜访"
    assert [v["key"] for v in made["customFields"]] == list(fields)  # the fields' order
    again = gql.data(GET_CONTACT, {"id": made["id"]}, key=manager)["contact"]
    assert values_of(again) == values_of(made)


def test_an_update_changes_only_the_fields_sent_and_null_clears(
    gql: GraphQLClient, tenant: TenantData, fields: dict[str, Any]
) -> None:
    manager = tenant.keys["manager"]
    made = contact(gql, manager, "李雷", wechat="lilei", employees=5, level="a")
    updated = gql.data(UPDATE_CONTACT, {"id": made["id"], "input": {
        "customFields": [{"key": "employees", "value": 6}, {"key": "wechat", "value": None}]}},
        key=manager)["updateContact"]
    assert values_of(updated) == {"employees": 6, "level": "a"}
    # A built-in field alone leaves every custom value as it was.
    renamed = gql.data(UPDATE_CONTACT, {"id": made["id"], "input": {"name": "李雷雷"}},
                       key=manager)["updateContact"]
    assert values_of(renamed) == {"employees": 6, "level": "a"}


@pytest.mark.parametrize(("key", "value", "code"), [
    ("wechat", 12, "invalid"),
    ("wechat", "a\u202eb", "invalid"),  # a text-direction override
    ("wechat", "x" * 2001, "too_long"),
    ("wechat", {"nested": "x"}, "invalid"),
    ("employees", 1.5, "invalid"),
    ("employees", "12", "invalid"),
    ("employees", True, "invalid"),
    ("employees", 2**53, "out_of_range"),
    ("employees", 2**63, "out_of_range"),
    ("employees", 1e300, "out_of_range"),
    ("budget", "NaN", "invalid"),
    ("budget", "Infinity", "invalid"),
    ("budget", "1e18", "out_of_range"),
    ("budget", "0.0000001", "out_of_range"),
    ("budget", "12,50", "invalid"),
    ("budget", ["1"], "invalid"),
    ("met_on", "2026-02-30", "invalid"),
    ("met_on", "2026-3-1", "invalid"),
    ("met_on", 20260301, "invalid"),
    ("vip", "true", "invalid"),
    ("vip", 1, "invalid"),
    ("level", "z", "unknown_option"),
    ("level", ["a"], "unknown_option"),
    ("channels", ["wechat", "fax"], "unknown_option"),
    ("channels", "wechat", "invalid"),
    ("channels", [1, 2], "invalid"),
    ("nonexistent", "x", "unknown_field"),
])
def test_a_value_not_of_its_fields_type_is_refused_on_its_path(
    gql: GraphQLClient, tenant: TenantData, fields: dict[str, Any], key: str, value: Any,
    code: str
) -> None:
    error = gql.error(CREATE_CONTACT, {"input": {"name": "张三", "customFields": [
        {"key": key, "value": value}]}}, key=tenant.keys["manager"])
    assert error["extensions"]["code"] == "VALIDATION", error
    assert fields_of(error) == {f"customFields.{key}": code}


def test_hostile_shapes_are_refused_not_crashed_on(
    gql: GraphQLClient, tenant: TenantData, fields: dict[str, Any]
) -> None:
    manager = tenant.keys["manager"]
    # A NUL byte is refused at the edge, wherever it hides in the JSON value.
    response = gql(CREATE_CONTACT, {"input": {"name": "张三", "customFields": [
        {"key": "wechat", "value": "a\x00b"}]}}, key=manager)
    assert response["errors"][0]["extensions"]["code"] == "VALIDATION"
    # A JSON number past 64 bits is refused with the body, before anything runs.
    response = gql.post(CREATE_CONTACT, {"input": {"name": "张三", "customFields": [
        {"key": "employees", "value": 10**400}]}}, key=manager)
    assert response.status_code == 400
    # A field given twice, and errors of built-in and custom fields reported together.
    error = gql.error(CREATE_CONTACT, {"input": {"name": "", "customFields": [
        {"key": "vip", "value": True}, {"key": "vip", "value": False},
        {"key": "level", "value": "q"}]}}, key=manager)
    assert fields_of(error) == {"name": "required", "customFields.vip": "duplicate",
                                "customFields.level": "unknown_option"}
    # Too many values in one write.
    error = gql.error(CREATE_CONTACT, {"input": {"name": "张三", "customFields": [
        {"key": "vip", "value": True}] * 201}}, key=manager)
    assert fields_of(error) == {"customFields": "invalid"}
    # A key that is no key at all is reported on the list, not echoed as a path.
    error = gql.error(CREATE_CONTACT, {"input": {"name": "张三", "customFields": [
        {"key": "../../etc" * 50, "value": 1}]}}, key=manager)
    assert fields_of(error) == {"customFields": "unknown_field"}


def test_required_on_create_and_on_update(
    gql: GraphQLClient, tenant: TenantData, fields: dict[str, Any]
) -> None:
    admin, manager = tenant.keys["admin"], tenant.keys["manager"]
    define(gql, admin, key="source", label="来源", type="TEXT", required=True)
    error = gql.error(CREATE_CONTACT, {"input": {"name": "韩梅梅"}}, key=manager)
    assert fields_of(error) == {"customFields.source": "required"}
    error = gql.error(CREATE_CONTACT, {"input": {"name": "韩梅梅", "customFields": [
        {"key": "source", "value": "   "}]}}, key=manager)
    assert fields_of(error) == {"customFields.source": "required"}
    made = contact(gql, manager, "韩梅梅", source="展会")
    error = gql.error(UPDATE_CONTACT, {"id": made["id"], "input": {"customFields": [
        {"key": "source", "value": None}]}}, key=manager)
    assert fields_of(error) == {"customFields.source": "required"}
    # Other fields still change without resending it.
    gql.data(UPDATE_CONTACT, {"id": made["id"], "input": {"name": "韩梅"}}, key=manager)


def test_unique_per_tenant_and_entity_whatever_the_case(
    gql: GraphQLClient, tenant: TenantData, tenants: TenantFactory
) -> None:
    admin, manager = tenant.keys["admin"], tenant.keys["manager"]
    define(gql, admin, key="code", label="客户编号", type="TEXT", unique=True)
    contact(gql, manager, "甲", code="C-001")
    error = gql.error(CREATE_CONTACT, {"input": {"name": "乙", "customFields": [
        {"key": "code", "value": "c-001"}]}}, key=manager)
    assert error["extensions"] == {"code": "CONFLICT", "field": "customFields.code"}
    # Companies have fields of their own: the same key there is another field.
    company_field = define(gql, admin, key="code", label="公司编号", type="TEXT", unique=True,
                           entity="COMPANY")
    assert company_field["entity"] == "COMPANY"
    gql.data(CREATE_COMPANY, {"input": {"name": "丙公司", "customFields": [
        {"key": "code", "value": "C-001"}]}}, key=manager)
    # Another tenant's values never clash.
    other = tenants.make()
    define(gql, other.keys["admin"], key="code", label="编号", type="TEXT", unique=True)
    contact(gql, other.keys["manager"], "丁", code="C-001")


def test_unique_holds_under_concurrent_writes(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    admin, manager = tenant.keys["admin"], tenant.keys["manager"]
    define(gql, admin, key="tax_no", label="税号", type="TEXT", unique=True)
    barrier = threading.Barrier(6)
    results: list[dict[str, Any]] = []

    def create(i: int) -> None:
        barrier.wait()
        results.append(gql(CREATE_CONTACT, {"input": {"name": f"并发{i}", "customFields": [
            {"key": "tax_no", "value": "91110000X"}]}}, key=manager))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if not r.get("errors")]
    refused = [r["errors"][0]["extensions"] for r in results if r.get("errors")]
    assert len(ok) == 1, results
    assert refused == [{"code": "CONFLICT", "field": "customFields.tax_no"}] * 5


def test_making_a_field_unique_refuses_when_records_share_values(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    admin, manager = tenant.keys["admin"], tenant.keys["manager"]
    field = define(gql, admin, key="region", label="区域", type="TEXT")
    first = contact(gql, manager, "甲", region="华北")
    contact(gql, manager, "乙", region="华北")
    error = gql.error(UPDATE_FIELD, {"id": field["id"], "input": {"unique": True}}, key=admin)
    assert error["extensions"] == {"code": "CONFLICT", "field": "unique"}
    gql.data(UPDATE_CONTACT, {"id": first["id"], "input": {"customFields": [
        {"key": "region", "value": "华南"}]}}, key=manager)
    assert gql.data(UPDATE_FIELD, {"id": field["id"], "input": {"unique": True}},
                    key=admin)["updateCustomField"]["unique"] is True
    error = gql.error(CREATE_CONTACT, {"input": {"name": "丙", "customFields": [
        {"key": "region", "value": "华南"}]}}, key=manager)
    assert error["extensions"]["code"] == "CONFLICT"


def test_renaming_label_key_and_options_loses_nothing(
    gql: GraphQLClient, tenant: TenantData, fields: dict[str, Any]
) -> None:
    admin, manager = tenant.keys["admin"], tenant.keys["manager"]
    made = contact(gql, manager, "王五", level="c", wechat="ww")
    gql.data(UPDATE_FIELD, {"id": fields["level"]["id"], "input": {
        "key": "grade", "label": "等级",
        "options": [{"key": "a", "label": "金牌"}, {"key": "b", "label": "银牌"},
                    {"key": "c", "label": "铜牌"}]}}, key=admin)
    got = gql.data(GET_CONTACT, {"id": made["id"]}, key=manager)["contact"]
    grade = next(v for v in got["customFields"] if v["key"] == "grade")
    assert (grade["label"], grade["value"], grade["display"]) == ("等级", "c", "铜牌")
    assert values_of(got)["wechat"] == "ww"
    # The old key is free; the new one is taken.
    error = gql.error(CREATE_CONTACT, {"input": {"name": "x", "customFields": [
        {"key": "level", "value": "a"}]}}, key=manager)
    assert fields_of(error) == {"customFields.level": "unknown_field"}
    error = gql.error(CREATE_FIELD, {"input": {"entity": "CONTACT", "type": "TEXT",
                                               "key": "grade", "label": "重复"}}, key=admin)
    assert error["extensions"] == {"code": "CONFLICT", "field": "key"}
    # Entity and type never change.
    error = gql.error(UPDATE_FIELD, {"id": fields["wechat"]["id"],
                                     "input": {"type": "NUMBER"}}, key=admin)
    assert fields_of(error) == {"type": "immutable"}


def test_remove_hides_a_field_and_restore_brings_its_values_back(
    gql: GraphQLClient, tenant: TenantData, fields: dict[str, Any]
) -> None:
    admin, manager = tenant.keys["admin"], tenant.keys["manager"]
    made = contact(gql, manager, "赵六", wechat="zl", vip=True)
    removed = gql.data(DELETE_FIELD, {"id": fields["wechat"]["id"]},
                       key=admin)["deleteCustomField"]
    assert removed["deletedAt"] is not None
    got = gql.data(GET_CONTACT, {"id": made["id"]}, key=manager)["contact"]
    assert values_of(got) == {"vip": True}
    live = gql.data(DEFINITIONS, {"entity": "CONTACT"}, key=manager)["customFieldDefinitions"]
    assert "wechat" not in [f["key"] for f in live]
    every = gql.data(DEFINITIONS, {"entity": "CONTACT", "removed": True},
                     key=admin)["customFieldDefinitions"]
    assert every[-1]["key"] == "wechat" and every[-1]["deletedAt"]
    # Its key stays taken while it can be restored.
    error = gql.error(CREATE_FIELD, {"input": {"entity": "CONTACT", "type": "TEXT",
                                               "key": "wechat", "label": "微信"}}, key=admin)
    assert error["extensions"]["code"] == "CONFLICT"
    gql.data(RESTORE_FIELD, {"id": fields["wechat"]["id"]}, key=admin)
    got = gql.data(GET_CONTACT, {"id": made["id"]}, key=manager)["contact"]
    assert values_of(got) == {"wechat": "zl", "vip": True}


def test_reorder_puts_fields_in_the_order_given(
    gql: GraphQLClient, tenant: TenantData, fields: dict[str, Any]
) -> None:
    admin = tenant.keys["admin"]
    order = list(reversed([f["id"] for f in fields.values()]))
    got = gql.data(REORDER, {"entity": "CONTACT", "ids": order},
                   key=admin)["reorderCustomFields"]
    assert [f["key"] for f in got] == list(reversed(list(fields)))
    assert [f["position"] for f in got] == list(range(len(fields)))
    error = gql.error(REORDER, {"entity": "CONTACT", "ids": order[1:]}, key=admin)
    assert error["extensions"]["code"] == "VALIDATION"


def test_another_tenants_fields_cannot_be_changed_or_reordered(
    gql: GraphQLClient, tenant: TenantData, fields: dict[str, Any], tenants: TenantFactory
) -> None:
    other = tenants.make()
    key = other.keys["admin"]
    theirs = fields["level"]["id"]
    for query, variables in ((UPDATE_FIELD, {"id": theirs, "input": {"label": "x"}}),
                             (DELETE_FIELD, {"id": theirs})):
        assert gql.error(query, variables, key=key)["extensions"]["code"] == "NOT_FOUND"
    error = gql.error(REORDER, {"entity": "CONTACT", "ids": [theirs]}, key=key)
    assert error["extensions"]["code"] == "VALIDATION"
    assert gql.data(DEFINITIONS, {"entity": "CONTACT"},
                    key=key)["customFieldDefinitions"] == []


def test_writes_are_audited_and_evented_with_the_values(
    gql: GraphQLClient, tenant: TenantData, fields: dict[str, Any]
) -> None:
    manager, owner = tenant.keys["manager"], tenant.keys["owner"]
    made = contact(gql, manager, "钱七", level="a", budget="99.90")
    gql.data(UPDATE_CONTACT, {"id": made["id"], "input": {"customFields": [
        {"key": "level", "value": "b"}]}}, key=manager)
    rows = gql.data(AUDIT, {"filter": {"entityId": made["id"]}}, key=owner)["auditLog"]["nodes"]
    by_action = {r["action"]: r for r in rows}
    assert by_action["created"]["after"]["customFields"] == {"level": "a", "budget": "99.90"}
    assert by_action["updated"]["before"]["customFields"] == {"level": "a", "budget": "99.90"}
    assert by_action["updated"]["after"]["customFields"] == {"level": "b", "budget": "99.90"}
    # Sending the value it holds changes nothing: no audit row.
    gql.data(UPDATE_CONTACT, {"id": made["id"], "input": {"customFields": [
        {"key": "level", "value": "b"}]}}, key=manager)
    rows = gql.data(AUDIT, {"filter": {"entityId": made["id"]}}, key=owner)["auditLog"]["nodes"]
    assert len(rows) == 2
    field_rows = gql.data(AUDIT, {"filter": {"entityId": fields["level"]["id"]}},
                          key=owner)["auditLog"]["nodes"]
    assert [r["action"] for r in field_rows] == ["created"]
    assert field_rows[0]["after"]["type"] == "SELECT"


def test_only_admins_define_fields_and_everyone_reads_them(
    gql: GraphQLClient, tenant: TenantData, fields: dict[str, Any]
) -> None:
    for role in ("manager", "viewer"):
        key = tenant.keys[role]
        error = gql.error(CREATE_FIELD, {"input": {"entity": "CONTACT", "type": "TEXT",
                                                   "key": "x", "label": "X"}}, key=key)
        assert error["extensions"]["code"] == "FORBIDDEN"
        error = gql.error(UPDATE_FIELD, {"id": fields["vip"]["id"], "input": {"label": "Y"}},
                          key=key)
        assert error["extensions"]["code"] == "FORBIDDEN"
        error = gql.error(DELETE_FIELD, {"id": fields["vip"]["id"]}, key=key)
        assert error["extensions"]["code"] == "FORBIDDEN"
        live = gql.data(DEFINITIONS, {"entity": "CONTACT"}, key=key)["customFieldDefinitions"]
        assert [f["key"] for f in live] == list(fields)
        error = gql.error(DEFINITIONS, {"entity": "CONTACT", "removed": True}, key=key)
        assert error["extensions"]["code"] == "FORBIDDEN"
    # A viewer reads values but cannot set them.
    made = contact(gql, tenant.keys["manager"], "孙八", vip=True)
    got = gql.data(GET_CONTACT, {"id": made["id"]}, key=tenant.keys["viewer"])["contact"]
    assert values_of(got) == {"vip": True}
    error = gql.error(UPDATE_CONTACT, {"id": made["id"], "input": {"customFields": [
        {"key": "vip", "value": False}]}}, key=tenant.keys["viewer"])
    assert error["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(("payload", "errors"), [
    ({"key": "Bad Key", "label": "x"}, {"key": "invalid_key"}),
    ({"key": "x", "label": ""}, {"label": "required"}),
    ({"key": "x", "label": "a\nb"}, {"label": "invalid"}),
    ({"key": "x", "label": "x", "type": "SELECT"}, {"options": "invalid"}),
    ({"key": "x", "label": "x", "type": "SELECT",
      "options": [{"key": "a", "label": "A"}, {"key": "a", "label": "B"}]},
     {"options.1.key": "duplicate"}),
    ({"key": "x", "label": "x", "options": [{"key": "a", "label": "A"}]},
     {"options": "not_applicable"}),
    ({"key": "x", "label": "x", "type": "BOOLEAN", "unique": True}, {"unique": "not_applicable"}),
    ({"key": "x", "label": "x", "position": -1}, {"position": "out_of_range"}),
])
def test_a_bad_definition_is_refused(
    gql: GraphQLClient, tenant: TenantData, payload: dict[str, Any], errors: dict[str, str]
) -> None:
    error = gql.error(CREATE_FIELD, {"input": {"entity": "CONTACT", "type": "TEXT", **payload}},
                      key=tenant.keys["admin"])
    assert error["extensions"]["code"] == "VALIDATION"
    assert fields_of(error) == errors


def test_a_page_reads_its_values_in_one_batch_whatever_its_size(
    gql: GraphQLClient, tenant: TenantData, fields: dict[str, Any], live_server: Any,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenancy.auth import api_key_cache
    from tests.graphql_api.test_query_count import count_statements

    monkeypatch.setattr(api_key_cache, "ttl", 3600.0)
    monkeypatch.setattr(api_key_cache, "_entries", {})
    manager = tenant.keys["manager"]
    for i in range(30):
        contact(gql, manager, f"批量{i}", level="abc"[i % 3], channels=["wechat", "phone"])
    query = ("query($n: Int) { contacts(first: $n) { nodes { id name "
             "customFields { key value display } } } }")
    gql.data(query, {"n": 5}, key=manager)  # the document's first run (then its plan)
    counts = []
    for n in (5, 30):
        with count_statements(live_server) as statements:
            nodes = gql.data(query, {"n": n}, key=manager)["contacts"]["nodes"]
        assert len(nodes) == n and all(len(c["customFields"]) == 2 for c in nodes)
        counts.append(len([s for s in statements if "set_config" not in s]))
    # The page, the definitions and the values: three statements for 5 records or 30.
    assert counts == [3, 3], counts


COMPANIES = """query($filter: CustomerFilter, $sortBy: CustomFieldSort) {
  companies(first: 50, filter: $filter, sortBy: $sortBy) {
    nodes { name customFields { key value } } } }"""
UPDATE_COMPANY = """mutation($id: ID!, $input: CompanyInput!) {
  updateCompany(id: $id, input: $input) { customFields { key value } } }"""


def test_companies_hold_filter_and_sort_by_their_own_fields(
    gql: GraphQLClient, tenant: TenantData, fields: dict[str, Any]
) -> None:
    admin, manager = tenant.keys["admin"], tenant.keys["manager"]
    define(gql, admin, entity="COMPANY", key="revenue", type="DECIMAL")
    made = []
    for name, revenue in (("甲公司", "300.5"), ("乙公司", "12"), ("丙公司", None)):
        custom = [] if revenue is None else [{"key": "revenue", "value": revenue}]
        made.append(gql.data(CREATE_COMPANY, {"input": {"name": name, "customFields": custom}},
                             key=manager)["createCompany"])
    # A contact's field is not a company's.
    error = gql.error(CREATE_COMPANY, {"input": {"name": "丁公司", "customFields": [
        {"key": "vip", "value": True}]}}, key=manager)
    assert fields_of(error) == {"customFields.vip": "unknown_field"}
    got = gql.data(UPDATE_COMPANY, {"id": made[2]["id"], "input": {"customFields": [
        {"key": "revenue", "value": 7}]}}, key=manager)["updateCompany"]
    assert got["customFields"] == [{"key": "revenue", "value": "7"}]
    nodes = gql.data(COMPANIES, {"sortBy": {"customField": "revenue", "descending": True}},
                     key=manager)["companies"]["nodes"]
    assert [n["name"] for n in nodes] == ["甲公司", "乙公司", "丙公司"]
    nodes = gql.data(COMPANIES, {"filter": {"customFields": [
        {"key": "revenue", "max": "12"}]}}, key=manager)["companies"]["nodes"]
    assert sorted(n["name"] for n in nodes) == ["丙公司", "乙公司"]

"""Segments and saved views through GraphQL over HTTP: a segment is its saved filter, read
again each time (members listed, counted and paged like the list, current without touching
the segment), under the caller's data scope; private and shared ones; refusals (role, other
tenant, invalid or hostile filters, a stored filter that no longer applies); the CSV export
(BOM, formula cells defused, capped, audited); saved views with one default per member."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from infra.global_ids import to_global_id
from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, TenantData, TenantFactory
from tests.graphql_api.custom_fields.helpers import DELETE_FIELD, define, fields_of

SEGMENT = "id kind entity name filter sort columns shared isDefault author { email }"
CREATE = f"mutation($input: SegmentInput!) {{ createSegment(input: $input) {{ {SEGMENT} }} }}"
UPDATE = f"""mutation($id: ID!, $input: SegmentInput!) {{
  updateSegment(id: $id, input: $input) {{ {SEGMENT} }} }}"""
DELETE = "mutation($id: ID!) { deleteSegment(id: $id) { id deletedAt } }"
GET = f"query($id: ID!) {{ segment(id: $id) {{ {SEGMENT} memberCount }} }}"
LIST = """query($filter: SegmentFilter) { segments(first: 50, filter: $filter) {
  totalCount nodes { id name shared memberCount } } }"""
RENDERED = """{ segments(first: 50) {
  nodes { id kind entity name filter columns author { id } } } }"""
MEMBERS = """query($filter: CustomerFilter, $first: Int, $after: String) {
  contacts(first: $first, after: $after, filter: $filter, sort: NAME_ASC) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id name } } }"""
COMPANY_MEMBERS = MEMBERS.replace("contacts(", "companies(")
EXPORT = "mutation($id: ID!) { exportSegment(id: $id) { filename rows csv } }"
CREATE_CONTACT = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"
AUDIT = """query($id: ID!) { auditLog(first: 20, filter: {entityId: $id}) {
  nodes { action after actorId } } }"""


def _contact(gql: GraphQLClient, tenant: TenantData, name: str, owner: str | None = None,
             **extra: Any) -> str:
    input = {"name": name, **extra}
    if owner:
        input["ownerId"] = to_global_id("User", tenant.members[owner].user_id)
    return gql.data(CREATE_CONTACT, {"input": input}, key=tenant.keys["owner"])[  # type: ignore[no-any-return]
        "createContact"]["id"]


def _segment(gql: GraphQLClient, key: str | None = None, client: Any = None,
             **fields: Any) -> dict[str, Any]:
    input = {"kind": "SEGMENT", "entity": "CONTACT", "name": "华为客户", **fields}
    return gql.data(CREATE, {"input": input}, key=key, client=client)[  # type: ignore[no-any-return]
        "createSegment"]


def _names(page: dict[str, Any]) -> list[str]:
    return [n["name"] for n in page["nodes"]]


def test_a_segment_stays_current_and_lists_counts_and_pages_like_the_list(
        gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant = tenants.make()
    key = tenant.keys["manager"]
    for name in ("华为 张伟", "华为 李娜", "华为 王芳", "腾讯 刘洋"):
        _contact(gql, tenant, name)
    segment = _segment(gql, key, filter={"search": "华为"}, shared=True)
    assert segment["filter"] == {"search": "华为"} and segment["shared"] is True

    first = gql.data(MEMBERS, {"filter": {"segment": segment["id"]}, "first": 2},
                     key=key)["contacts"]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"]
    rest = gql.data(MEMBERS, {"filter": {"segment": segment["id"]}, "first": 2,
                              "after": first["pageInfo"]["endCursor"]}, key=key)["contacts"]
    assert sorted(_names(first) + _names(rest)) == ["华为 张伟", "华为 李娜", "华为 王芳"]
    assert not rest["pageInfo"]["hasNextPage"]

    # A new contact that matches is a member at once: the segment is never touched.
    _contact(gql, tenant, "华为 陈静")
    assert gql.data(GET, {"id": segment["id"]}, key=key)["segment"]["memberCount"] == 4
    assert gql.data(MEMBERS, {"filter": {"segment": segment["id"]}},
                    key=key)["contacts"]["totalCount"] == 4
    # The list's own conditions narrow the segment further.
    narrowed = gql.data(MEMBERS, {"filter": {"segment": segment["id"], "email": "x@y.cn"}},
                        key=key)["contacts"]
    assert narrowed["totalCount"] == 0


def test_a_reps_segment_members_count_and_export_hold_only_what_he_may_see(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    tenant = tenants.make(members={"ann": "sales", "bo": "sales"})
    for i in range(3):
        _contact(gql, tenant, f"华为 安{i}", owner="ann")
    for i in range(2):
        _contact(gql, tenant, f"华为 博{i}", owner="bo")
    shared = _segment(gql, tenant.keys["manager"], filter={"search": "华为"}, shared=True)
    ann = login(live_server, gql, tenant.members["ann"].email, PASSWORD)

    members = gql.data(MEMBERS, {"filter": {"segment": shared["id"]}}, client=ann)["contacts"]
    assert members["totalCount"] == 3 and all("安" in n for n in _names(members))
    assert gql.data(GET, {"id": shared["id"]}, client=ann)["segment"]["memberCount"] == 3
    assert gql.data(GET, {"id": shared["id"]},
                    key=tenant.keys["manager"])["segment"]["memberCount"] == 5
    exported = gql.data(EXPORT, {"id": shared["id"]}, client=ann)["exportSegment"]
    assert exported["rows"] == 3 and "博" not in exported["csv"]


def test_private_segments_are_their_authors_and_sharing_is_for_managers(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    tenant = tenants.make(members={"ann": "sales", "bo": "sales", "vic": "viewer"})
    ann = login(live_server, gql, tenant.members["ann"].email, PASSWORD)
    bo = login(live_server, gql, tenant.members["bo"].email, PASSWORD)
    vic = login(live_server, gql, tenant.members["vic"].email, PASSWORD)
    mine = _segment(gql, client=ann, name="我的华为", filter={"search": "华为"})
    assert mine["shared"] is False and mine["author"]["email"] == tenant.members["ann"].email

    # Nobody else sees a private one: not bo, not the manager, not by id or as a filter.
    assert gql.error(GET, {"id": mine["id"]}, client=bo)["extensions"]["code"] == "NOT_FOUND"
    assert gql.error(GET, {"id": mine["id"]},
                     key=tenant.keys["manager"])["extensions"]["code"] == "NOT_FOUND"
    assert gql.error(MEMBERS, {"filter": {"segment": mine["id"]}},
                     client=bo)["extensions"]["code"] == "NOT_FOUND"
    assert mine["id"] not in {n["id"] for n in gql.data(LIST, client=bo)["segments"]["nodes"]}
    assert gql.data(LIST, {"filter": {"shared": False}},
                    key=tenant.keys["owner"])["segments"]["totalCount"] == 0
    assert gql.data("query($id: ID!) { node(id: $id) { id } }", {"id": mine["id"]},
                    client=bo)["node"] is None
    assert gql.error(UPDATE, {"id": mine["id"], "input": {"name": "偷改"}},
                     client=bo)["extensions"]["code"] == "NOT_FOUND"

    # Sharing with the tenant is for managers; a rep cannot change what a manager shared.
    refused = gql.error(UPDATE, {"id": mine["id"], "input": {"shared": True}}, client=ann)
    assert refused["extensions"]["code"] == "FORBIDDEN"
    shared = _segment(gql, tenant.keys["manager"], name="全员可见", shared=True)
    assert shared["id"] in {n["id"] for n in gql.data(LIST, client=bo)["segments"]["nodes"]}
    for document, variables in ((UPDATE, {"id": shared["id"], "input": {"name": "改名"}}),
                                (DELETE, {"id": shared["id"]})):
        assert gql.error(document, variables, client=bo)["extensions"]["code"] == "FORBIDDEN"

    # A viewer reads shared segments and their members, and saves nothing.
    assert gql.data(GET, {"id": shared["id"]}, client=vic)["segment"]["name"] == "全员可见"
    error = gql.error(CREATE, {"input": {"kind": "SEGMENT", "entity": "CONTACT",
                                         "name": "x"}}, client=vic)
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert gql.error(EXPORT, {"id": shared["id"]},
                     client=vic)["extensions"]["code"] == "FORBIDDEN"
    # Her own private one stays hers to change and remove.
    gql.data(UPDATE, {"id": mine["id"], "input": {"name": "我的华为（新）"}}, client=ann)
    gql.data(DELETE, {"id": mine["id"]}, client=ann)


def test_another_tenants_segment_is_not_found_by_any_route(
        gql: GraphQLClient, tenants: TenantFactory) -> None:
    ours, theirs = tenants.make(), tenants.make()
    _contact(gql, theirs, "华为 秘密")
    segment = _segment(gql, theirs.keys["owner"], filter={"search": "华为"}, shared=True)
    key = ours.keys["owner"]
    for document, variables in (
            (GET, {"id": segment["id"]}),
            (MEMBERS, {"filter": {"segment": segment["id"]}}),
            (EXPORT, {"id": segment["id"]}),
            (UPDATE, {"id": segment["id"], "input": {"name": "x"}}),
            (DELETE, {"id": segment["id"]})):
        assert gql.error(document, variables, key=key)["extensions"]["code"] == "NOT_FOUND"
    assert gql.data(LIST, key=key)["segments"]["totalCount"] == 0


@pytest.mark.parametrize(("filter", "field"), [
    ({"nope": 1}, "filter"),
    ({"search": 5}, "filter.search"),
    ({"tagIds": ["not an id"]}, "filter.tagIds"),
    ({"createdAfter": "yesterday"}, "filter.createdAfter"),
    ({"customFields": [{"key": "missing", "equals": 1}]}, "filter.customFields[0].key"),
    ({"customFields": [{"key": "budget", "min": "lots"}]}, "filter.customFields[0].min"),
    ({"levels": ["A"], "minRecencyScore": 9}, "filter.minRecencyScore"),
    ({"segment": "U2VnbWVudDox"}, "filter.segment"),
    ([1, 2, 3], "filter"),
    ("华为", "filter"),
    ({"search": "华" * 9000}, "filter"),
    ({"customFields": [{"key": "budget", "in": [[[[[[[[1]]]]]]]]}]}, "filter"),
])
def test_an_invalid_or_hostile_filter_is_refused_on_save(
        gql: GraphQLClient, tenants: TenantFactory, filter: Any, field: str) -> None:
    tenant = tenants.make()
    define(gql, tenant.keys["admin"], key="budget", type="NUMBER")
    error = gql.error(CREATE, {"input": {"kind": "SEGMENT", "entity": "CONTACT", "name": "坏",
                                         "filter": filter}}, key=tenant.keys["manager"])
    assert error["extensions"]["code"] == "VALIDATION", error
    assert any(f == field or f.startswith(field + ".") or f.startswith(field + "[")
               for f in fields_of(error)), fields_of(error)
    assert gql.data(LIST, key=tenant.keys["manager"])["segments"]["totalCount"] == 0


def test_a_companies_only_condition_and_a_wrong_list_are_refused(
        gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant = tenants.make()
    key = tenant.keys["manager"]
    company = gql.data("mutation { createCompany(input: {name: \"华为\"}) { id } }",
                       key=key)["createCompany"]["id"]
    error = gql.error(CREATE, {"input": {"kind": "SEGMENT", "entity": "COMPANY", "name": "x",
                                         "filter": {"companyId": company}}}, key=key)
    assert fields_of(error) == {"filter.companyId": "not_applicable"}
    contacts = _segment(gql, key, filter={"companyId": company}, shared=True)
    error = gql.error(COMPANY_MEMBERS, {"filter": {"segment": contacts["id"]}}, key=key)
    assert fields_of(error) == {"filter.segment": "not_applicable"}


def test_custom_field_conditions_work_in_a_segment_and_a_removed_field_is_a_clear_error(
        gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant = tenants.make()
    admin, key = tenant.keys["admin"], tenant.keys["manager"]
    budget = define(gql, admin, key="budget", type="NUMBER")
    for name, value in (("大单", 50000), ("小单", 800), ("没填", None)):
        extra = {"customFields": [{"key": "budget", "value": value}]} if value else {}
        _contact(gql, tenant, name, **extra)
    segment = _segment(gql, key, name="预算过万", shared=True,
                       filter={"customFields": [{"key": "budget", "min": 10000}]})
    assert _names(gql.data(MEMBERS, {"filter": {"segment": segment["id"]}},
                           key=key)["contacts"]) == ["大单"]
    # The list's own custom-field conditions add to the segment's.
    both = gql.data(MEMBERS, {"filter": {"segment": segment["id"], "customFields": [
        {"key": "budget", "max": 20000}]}}, key=key)["contacts"]
    assert both["totalCount"] == 0
    # A condition the segment sets otherwise is refused, not silently replaced.
    clash = _segment(gql, key, name="华为", filter={"search": "华为"}, shared=True)
    error = gql.error(MEMBERS, {"filter": {"segment": clash["id"], "search": "腾讯"}}, key=key)
    assert fields_of(error) == {"filter.search": "conflict"}

    gql.data(DELETE_FIELD, {"id": budget["id"]}, key=admin)
    error = gql.error(MEMBERS, {"filter": {"segment": segment["id"]}}, key=key)
    assert error["extensions"]["code"] == "VALIDATION"
    assert fields_of(error) == {"filter.segment": "invalid_segment"}
    assert "customFields[0].key: no such field" in error["message"]


def test_the_export_is_csv_with_a_bom_defused_formulas_capped_and_audited(
        gql: GraphQLClient, tenants: TenantFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = tenants.make()
    key = tenant.keys["manager"]
    _contact(gql, tenant, "华为 张伟", email="zw@huawei.com")
    _contact(gql, tenant, "=HYPERLINK(\"http://evil\") 华为")
    segment = _segment(gql, key, filter={"search": "华为"}, shared=True)

    exported = gql.data(EXPORT, {"id": segment["id"]}, key=key)["exportSegment"]
    assert exported["rows"] == 2 and exported["filename"].endswith(".csv")
    assert exported["csv"].startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(exported["csv"][1:])))
    assert rows[0][:3] == ["id", "name", "email"] and "level" in rows[0]
    names = {r[1] for r in rows[1:]}
    assert "华为 张伟" in names and "'=HYPERLINK(\"http://evil\") 华为" in names
    trail = gql.data(AUDIT, {"id": segment["id"]}, key=tenant.keys["owner"])["auditLog"]["nodes"]
    assert trail[0]["action"] == "exported" and trail[0]["after"]["exportedRows"] == 2

    from modules.segments import export

    monkeypatch.setattr(export, "EXPORT_LIMIT", 1)
    error = gql.error(EXPORT, {"id": segment["id"]}, key=key)
    assert fields_of(error) == {"id": "too_many"} and "at most 1" in error["message"]


def test_saved_views_carry_sort_and_columns_and_one_default_per_member(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    tenant = tenants.make(members={"ann": "sales"})
    ann = login(live_server, gql, tenant.members["ann"].email, PASSWORD)
    view = {"kind": "VIEW", "entity": "CONTACT", "sort": "NAME_ASC",
            "columns": ["name", "email", "level"], "isDefault": True}
    first = gql.data(CREATE, {"input": {**view, "name": "按名字"}}, client=ann)["createSegment"]
    assert (first["sort"], first["columns"], first["isDefault"]) == (
        "NAME_ASC", ["name", "email", "level"], True)
    second = gql.data(CREATE, {"input": {**view, "name": "新默认", "filter": {"levels": ["A"]}}},
                      client=ann)["createSegment"]
    assert second["isDefault"] is True
    assert gql.data(GET, {"id": first["id"]}, client=ann)["segment"]["isDefault"] is False
    views = gql.data(LIST, {"filter": {"kind": "VIEW", "entity": "CONTACT"}},
                     client=ann)["segments"]["nodes"]
    assert {v["name"] for v in views} == {"按名字", "新默认"}
    # The list as the database renders it reads the same as the resolvers do.
    rendered = {n["name"]: n for n in gql.data(RENDERED, client=ann)["segments"]["nodes"]}
    assert (rendered["按名字"]["kind"], rendered["按名字"]["entity"]) == ("VIEW", "CONTACT")
    assert rendered["按名字"]["columns"] == ["name", "email", "level"]
    assert rendered["新默认"]["filter"] == {"levels": ["A"]}

    # A segment has no sort or columns; a view's sort is the list's; nobody else's default.
    error = gql.error(CREATE, {"input": {"kind": "SEGMENT", "entity": "CONTACT", "name": "x",
                                         "sort": "NAME_ASC"}}, client=ann)
    assert fields_of(error) == {"sort": "not_applicable"}
    error = gql.error(CREATE, {"input": {**view, "name": "x", "sort": "DROP TABLE"}},
                      client=ann)
    assert "sort" in fields_of(error)
    shared = gql.data(CREATE, {"input": {**view, "name": "团队", "isDefault": False,
                                         "shared": True}},
                      key=tenant.keys["manager"])["createSegment"]
    error = gql.error(UPDATE, {"id": shared["id"], "input": {"isDefault": True}}, client=ann)
    assert error["extensions"]["code"] == "FORBIDDEN"


def test_a_bulk_operation_by_a_segment_acts_on_its_members(
        gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant = tenants.make()
    key = tenant.keys["manager"]
    ids = [_contact(gql, tenant, f"华为 {i}") for i in range(2)]
    _contact(gql, tenant, "腾讯 0")
    segment = _segment(gql, key, filter={"search": "华为"}, shared=True)
    result = gql.data("""mutation($f: CustomerFilter) {
      bulkUpdateContacts(action: DELETE, filter: $f) { matched changed } }""",
                      {"f": {"segment": segment["id"]}}, key=key)["bulkUpdateContacts"]
    assert result == {"matched": 2, "changed": 2}
    left = gql.data(MEMBERS, {}, key=key)["contacts"]
    assert _names(left) == ["腾讯 0"] and not set(ids) & {n["id"] for n in left["nodes"]}

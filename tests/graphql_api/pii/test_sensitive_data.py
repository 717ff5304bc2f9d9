"""Sensitive data over GraphQL/HTTP: sealed at rest (read as the table's owner: no clear
text), bound to its row and tenant, masked for everyone, revealed only by `pii:read` holders
and audited, never in audit rows, events or logs; ID numbers validated (GB 11643) and found by
exact match through the blind index; sensitive custom fields."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest

from infra.global_ids import from_global_id
from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import TenantData, TenantFactory

ID_NUMBER = "11010519491231002X"  # GB 11643's own example: check digit X
NOTES = "对青霉素过敏，女儿在北京读书"
CREATE = """mutation($input: ContactInput!) { createContact(input: $input) {
  id name idType idNumber personalNotes customFields { key value display } } }"""
UPDATE = """mutation($id: ID!, $input: ContactInput!) { updateContact(id: $id, input: $input) {
  id idType idNumber personalNotes } }"""
GET = "query($id: ID!) { contact(id: $id) { id idType idNumber personalNotes } }"
LIST = """query($filter: CustomerFilter) { contacts(first: 50, filter: $filter) {
  totalCount nodes { id name idNumber personalNotes } } }"""
REVEAL = """mutation($id: ID!, $fields: [String!]!) {
  revealContactPii(id: $id, fields: $fields) { field value } }"""
AUDIT = """query($filter: AuditFilter) { auditLog(first: 100, filter: $filter) {
  nodes { action entityType entityId actorLabel before after } } }"""
EVENTS = "{ events(first: 100) { nodes { eventType payload } } }"
CREATE_FIELD = """mutation($input: CustomFieldInput!) { createCustomField(input: $input) {
  id key sensitive unique } }"""


@pytest.fixture
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make()


def make_contact(gql: GraphQLClient, key: str, **extra: Any) -> dict[str, Any]:
    payload = {"name": "赵敏", "idNumber": ID_NUMBER, "personalNotes": NOTES, **extra}
    return gql.data(CREATE, {"input": payload}, key=key)["createContact"]  # type: ignore[no-any-return]


def fields_of(error: dict[str, Any]) -> dict[str, str]:
    ext = error["extensions"]
    return {f["field"]: f["code"] for f in ext.get("fields", [])} or {ext.get("field"): ext["code"]}


def test_values_are_sealed_at_rest_and_masked_for_everyone(
        gql: GraphQLClient, tenant: TenantData, owner_conn: psycopg.Connection[Any]) -> None:
    made = make_contact(gql, tenant.keys["owner"])
    assert made["idType"] == "RESIDENT_ID"
    assert made["idNumber"] == "110***********002X"
    assert made["personalNotes"] == "••••"
    for role in ("owner", "viewer"):  # masked for every reader: clear values come by reveal
        got = gql.data(GET, {"id": made["id"]}, key=tenant.keys[role])["contact"]
        assert got["idNumber"] == "110***********002X" and got["personalNotes"] == "••••"
    listed = gql.data(LIST, key=tenant.keys["viewer"])["contacts"]["nodes"]
    assert listed[0]["idNumber"] == "110***********002X"
    for _ in range(3):  # repeated: a compiled plan, the masks rendered by PostgreSQL
        rendered = gql.data("{ contacts(first: 5) { nodes { id idNumber } } }",
                            key=tenant.keys["viewer"])["contacts"]["nodes"]
        assert rendered == [{"id": made["id"], "idNumber": "110***********002X"}]

    # The table's owner (no row-level security in the way) reads no clear text.
    _, id = from_global_id(made["id"])
    row = owner_conn.execute(
        "select c::text, id_number_sealed, personal_notes_sealed from contacts c "
        "where tenant_id = %s and id = %s", (tenant.id, id)).fetchone()
    assert row is not None
    whole, sealed_id, sealed_notes = row
    assert ID_NUMBER not in whole and "19491231" not in whole and "青霉素" not in whole
    assert ID_NUMBER.encode() not in bytes(sealed_id)
    assert NOTES.encode() not in bytes(sealed_notes)


def test_reveal_gives_clear_values_to_pii_readers_and_audits_each_field(
        gql: GraphQLClient, tenant: TenantData, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):  # the server runs in this process: its logs too
        made = make_contact(gql, tenant.keys["owner"])
        revealed = gql.data(REVEAL, {"id": made["id"], "fields": ["idNumber", "personalNotes"]},
                            key=tenant.keys["admin"])["revealContactPii"]
    assert {r["field"]: r["value"] for r in revealed} == {"idNumber": ID_NUMBER,
                                                          "personalNotes": NOTES}
    logged = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    assert caplog.records and ID_NUMBER not in logged and "青霉素" not in logged

    audit = gql.data(AUDIT, {"filter": {"entityType": "contact"}},
                     key=tenant.keys["owner"])["auditLog"]["nodes"]
    reads = [a for a in audit if a["action"] == "pii.read"]
    assert sorted(a["after"]["field"] for a in reads) == ["idNumber", "personalNotes"]
    assert {a["actorLabel"] for a in reads} == {"api key admin key"}
    # No audit row and no event holds a clear value, the creation's included.
    events = gql.data(EVENTS, key=tenant.keys["owner"])["events"]["nodes"]
    dumped = repr(audit) + repr(events)
    assert ID_NUMBER not in dumped and "青霉素" not in dumped and "19491231" not in dumped
    created = next(a for a in audit if a["action"] == "created")
    assert created["after"]["idNumber"] == "110***********002X"
    assert created["after"]["personalNotes"] == "••••"
    assert "idNumberSealed" not in created["after"] and "idNumberIndex" not in created["after"]


def test_reveal_is_refused_without_pii_read_and_for_unknown_fields(
        gql: GraphQLClient, tenant: TenantData, tenants: TenantFactory) -> None:
    made = make_contact(gql, tenant.keys["owner"])
    for role in ("manager", "viewer"):
        error = gql.error(REVEAL, {"id": made["id"], "fields": ["idNumber"]},
                          key=tenant.keys[role])
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert error["extensions"]["permission"] == "pii:read"
    for fields in (["name"], [], ["idNumber", "idNumber"], ["x" * 10_000], ["\x00"]):
        error = gql.error(REVEAL, {"id": made["id"], "fields": fields},
                          key=tenant.keys["owner"])
        assert error["extensions"]["code"] in ("VALIDATION", "BAD_REQUEST"), error
    other = tenants.make()
    error = gql.error(REVEAL, {"id": made["id"], "fields": ["idNumber"]},
                      key=other.keys["owner"])
    assert error["extensions"]["code"] == "NOT_FOUND"
    audit = gql.data(AUDIT, {"filter": {"entityType": "contact"}},
                     key=tenant.keys["owner"])["auditLog"]["nodes"]
    assert not [a for a in audit if a["action"] == "pii.read"]  # refusals opened nothing


@pytest.mark.parametrize(("number", "code"), [
    ("110105194912310021", "invalid_id_number"),  # wrong check digit
    ("11010519491331002X", "invalid_id_number"),  # no 13th month
    ("1101051949123100", "invalid_id_number"),  # too short
    ("11010519491231002\x00", "invalid_character"),  # refused with the variables
    ("１１０１０５１９４９１２３１００２Ｘ", None),  # full-width: folded, accepted
    ("110105 19491231 002x", None),  # spaces and a lower-case x: folded
    ("1" * 100_000, "invalid"),  # huge
    ("11010519491231002\u202e", "invalid_id_number"),  # a text-direction override
    ("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "invalid_id_number"),  # Arabic-Indic digits are not ID digits
])
def test_resident_id_numbers_are_checked(gql: GraphQLClient, tenant: TenantData, number: str,
                                         code: str | None) -> None:
    payload = {"input": {"name": "张三", "idNumber": number}}
    if code is None:
        made = gql.data(CREATE, payload, key=tenant.keys["owner"])["createContact"]
        assert made["idNumber"] == "110***********002X"
        return
    error = gql.error(CREATE, payload, key=tenant.keys["owner"])
    assert error["extensions"]["code"] == "VALIDATION"
    assert list(fields_of(error).values()) == [code]


def test_passports_updates_and_clearing(gql: GraphQLClient, tenant: TenantData) -> None:
    owner = tenant.keys["owner"]
    error = gql.error(CREATE, {"input": {"name": "x", "personalNotes": "长" * 10_001}},
                      key=owner)
    assert fields_of(error) == {"personalNotes": "too_long"}
    made = gql.data(CREATE, {"input": {"name": "John Smith", "idType": "PASSPORT",
                                       "idNumber": "e12345678"}}, key=owner)["createContact"]
    assert made["idType"] == "PASSPORT" and made["idNumber"] == "E1*****78"
    error = gql.error(CREATE, {"input": {"name": "x", "idType": "PASSPORT",
                                         "idNumber": "E1234<script>"}}, key=owner)
    assert fields_of(error) == {"idNumber": "invalid_id_number"}
    error = gql.error(UPDATE, {"id": made["id"], "input": {"idType": "RESIDENT_ID"}}, key=owner)
    assert fields_of(error) == {"idNumber": "required"}
    changed = gql.data(UPDATE, {"id": made["id"], "input": {
        "idType": "RESIDENT_ID", "idNumber": ID_NUMBER}}, key=owner)["updateContact"]
    assert changed["idType"] == "RESIDENT_ID" and changed["idNumber"] == "110***********002X"
    revealed = gql.data(REVEAL, {"id": made["id"], "fields": ["idNumber"]}, key=owner)
    assert revealed["revealContactPii"] == [{"field": "idNumber", "value": ID_NUMBER}]
    cleared = gql.data(UPDATE, {"id": made["id"], "input": {"idNumber": None,
                                                            "personalNotes": None}},
                       key=owner)["updateContact"]
    assert cleared == {"id": made["id"], "idType": None, "idNumber": None, "personalNotes": None}


def test_sending_the_same_values_again_changes_nothing(gql: GraphQLClient,
                                                       tenant: TenantData) -> None:
    owner = tenant.keys["owner"]
    made = make_contact(gql, owner)
    gql.data(UPDATE, {"id": made["id"], "input": {"idNumber": ID_NUMBER,
                                                  "personalNotes": NOTES}}, key=owner)
    audit = gql.data(AUDIT, {"filter": {"entityType": "contact"}},
                     key=owner)["auditLog"]["nodes"]
    assert [a["action"] for a in audit] == ["created"]


def test_id_number_lookup_by_blind_index_for_pii_readers_only(gql: GraphQLClient,
                                                              tenant: TenantData) -> None:
    owner = tenant.keys["owner"]
    made = make_contact(gql, owner)
    make_contact(gql, owner, name="别人", idNumber="110101199003070935")
    found = gql.data(LIST, {"filter": {"idNumber": "11010519491231002x"}},
                     key=owner)["contacts"]
    assert found["totalCount"] == 1 and found["nodes"][0]["id"] == made["id"]
    error = gql.error(LIST, {"filter": {"idNumber": ID_NUMBER}}, key=tenant.keys["viewer"])
    assert error["extensions"]["code"] == "FORBIDDEN"
    error = gql.error(LIST, {"filter": {"idNumber": "x" * 100}}, key=owner)
    assert error["extensions"]["code"] == "VALIDATION"


def test_a_ciphertext_copied_to_another_row_or_tenant_does_not_open(
        gql: GraphQLClient, tenant: TenantData, tenants: TenantFactory,
        owner_conn: psycopg.Connection[Any]) -> None:
    owner = tenant.keys["owner"]
    source = make_contact(gql, owner)
    target = gql.data(CREATE, {"input": {"name": "空白", "idNumber": "110101199003070935"}},
                      key=owner)["createContact"]
    other = tenants.make()
    foreign = gql.data(CREATE, {"input": {"name": "外人", "idNumber": "110101199003070935"}},
                       key=other.keys["owner"])["createContact"]
    _, source_id = from_global_id(source["id"])
    for (tenant_id, node) in ((tenant.id, target), (other.id, foreign)):
        _, id = from_global_id(node["id"])
        owner_conn.execute(
            "update contacts set id_number_sealed = (select id_number_sealed from contacts "
            "where id = %s), personal_notes_sealed = (select personal_notes_sealed from "
            "contacts where id = %s) where tenant_id = %s and id = %s",
            (source_id, source_id, tenant_id, id))
    owner_conn.commit()
    for key, node in ((owner, target), (other.keys["owner"], foreign)):
        for field in ("idNumber", "personalNotes"):
            error = gql.error(REVEAL, {"id": node["id"], "fields": [field]}, key=key)
            assert error["extensions"]["code"] == "INTERNAL", error  # refused, never opened
            assert ID_NUMBER not in repr(error) and "青霉素" not in repr(error)


def test_sensitive_custom_fields(gql: GraphQLClient, tenant: TenantData,
                                 owner_conn: psycopg.Connection[Any]) -> None:
    admin = tenant.keys["admin"]
    field = gql.data(CREATE_FIELD, {"input": {"entity": "CONTACT", "key": "bank_account",
                                              "label": "银行账号", "type": "TEXT",
                                              "sensitive": True}}, key=admin)
    assert field["createCustomField"]["sensitive"] is True
    for bad in ({"type": "NUMBER", "sensitive": True}, {"sensitive": True, "unique": True},
                {"entity": "COMPANY", "sensitive": True}):
        error = gql.error(CREATE_FIELD, {"input": {"entity": "CONTACT", "key": "x",
                                                   "label": "X", "type": "TEXT", **bad}},
                          key=admin)
        assert error["extensions"]["code"] == "VALIDATION"
        assert set(fields_of(error)) & {"sensitive", "unique"}, error
    error = gql.error("""mutation($id: ID!) { updateCustomField(id: $id,
        input: {sensitive: false}) { id } }""", {"id": field["createCustomField"]["id"]},
                      key=admin)
    assert fields_of(error) == {"sensitive": "immutable"}

    made = gql.data(CREATE, {"input": {"name": "钱多多", "customFields": [
        {"key": "bank_account", "value": "6222020200112233445"}]}}, key=admin)["createContact"]
    assert made["customFields"] == [{"key": "bank_account", "value": "••••",
                                     "display": "••••"}]
    dump = owner_conn.execute("select string_agg(v::text, ' ') from custom_field_values v "
                              "where tenant_id = %s", (tenant.id,)).fetchone()
    assert dump is not None and "6222020200112233445" not in dump[0]
    revealed = gql.data(REVEAL, {"id": made["id"], "fields": ["customFields.bank_account"]},
                        key=admin)["revealContactPii"]
    assert revealed == [{"field": "customFields.bank_account", "value": "6222020200112233445"}]

    by_value = {"customFields": [{"key": "bank_account", "equals": "6222020200112233445"}]}
    found = gql.data(LIST, {"filter": by_value}, key=admin)["contacts"]
    assert [n["id"] for n in found["nodes"]] == [made["id"]]
    for refused in ({"customFields": [{"key": "bank_account", "min": "1"}]},):
        assert gql.error(LIST, {"filter": refused}, key=admin)["extensions"]["code"] == \
            "VALIDATION"
    error = gql.error(LIST, {"filter": by_value}, key=tenant.keys["viewer"])
    assert fields_of(error) == {"filter.customFields[0]": "not_filterable"}
    error = gql.error("""{ contacts(first: 5, sortBy: {customField: "bank_account"}) {
        totalCount } }""", key=admin)
    assert fields_of(error) == {"sortBy.customField": "not_sortable"}
    audit = gql.data(AUDIT, {"filter": {"entityType": "contact"}}, key=admin)
    assert "6222020200112233445" not in repr(audit)


def test_a_sales_user_may_not_reveal_even_their_own(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    tenant = tenants.make(members={"li": "sales"})
    client = login(live_server, gql, tenant.members["li"].email, tenant.members["li"].password)
    made = gql.data(CREATE, {"input": {"name": "自己的客户", "idNumber": ID_NUMBER}},
                    client=client)["createContact"]
    assert made["idNumber"] == "110***********002X"
    error = gql.error(REVEAL, {"id": made["id"], "fields": ["idNumber"]}, client=client)
    assert error["extensions"]["code"] == "FORBIDDEN"


def test_a_saved_segment_holds_no_sensitive_value(gql: GraphQLClient, tenant: TenantData
                                                  ) -> None:
    admin = tenant.keys["admin"]
    gql.data(CREATE_FIELD, {"input": {"entity": "CONTACT", "key": "bank", "label": "银行账号",
                                      "type": "TEXT", "sensitive": True}}, key=admin)
    save = """mutation($f: JSON!) { createSegment(input: {kind: SEGMENT, entity: CONTACT,
        name: "查重", filter: $f}) { id } }"""
    for refused, field in (({"idNumber": ID_NUMBER}, "filter.idNumber"),
                           ({"customFields": [{"key": "bank", "equals": "6222"}]},
                            "filter.customFields[0]")):
        error = gql.error(save, {"f": refused}, key=admin)
        assert fields_of(error) == {field: "not_applicable"}
    assert gql.data(save, {"f": {"customFields": [{"key": "bank", "present": True}]}},
                    key=admin)["createSegment"]["id"]

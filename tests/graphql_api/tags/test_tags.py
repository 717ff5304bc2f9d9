"""Tags through GraphQL over HTTP: the tags themselves, tagging contacts and companies, the tag
filter of customer lists, two tenants, roles, and the audit row and event of every write."""

from __future__ import annotations

import base64
import threading
import uuid
from typing import Any

import pytest

from modules.tags.service import TagService
from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import TenantData, TenantFactory

CREATE_TAG = """mutation($input: TagInput!) {
  createTag(input: $input) { id name color createdAt updatedAt deletedAt } }"""
UPDATE_TAG = """mutation($id: ID!, $input: TagInput!) {
  updateTag(id: $id, input: $input) { id name color } }"""
DELETE_TAG = "mutation($id: ID!) { deleteTag(id: $id) { id deletedAt } }"
RESTORE_TAG = "mutation($id: ID!) { restoreTag(id: $id) { id deletedAt } }"
GET_TAG = "query($id: ID!) { tag(id: $id) { id name color } }"
NODE = "query($id: ID!) { node(id: $id) { id ... on Tag { name color } } }"
TAGS = """query($filter: TagFilter, $sort: TagSort) {
  tags(first: 100, filter: $filter, sort: $sort) { totalCount nodes { id name } } }"""

CREATE_CONTACT = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"
CREATE_COMPANY = "mutation($input: CompanyInput!) { createCompany(input: $input) { id } }"
TAG_CONTACT = """mutation($id: ID!, $tags: [ID!]!) {
  tagContact(id: $id, tagIds: $tags) { id tags { id name color } } }"""
UNTAG_CONTACT = """mutation($id: ID!, $tags: [ID!]!) {
  untagContact(id: $id, tagIds: $tags) { id tags { name } } }"""
TAG_COMPANY = """mutation($id: ID!, $tags: [ID!]!) {
  tagCompany(id: $id, tagIds: $tags) { id tags { name } } }"""
UNTAG_COMPANY = """mutation($id: ID!, $tags: [ID!]!) {
  untagCompany(id: $id, tagIds: $tags) { id tags { name } } }"""
CONTACT_TAGS = "query($id: ID!) { contact(id: $id) { tags { name } } }"
CONTACTS = """query($filter: CustomerFilter) {
  contacts(first: 100, filter: $filter, sort: NAME_ASC) { totalCount nodes { name } } }"""
COMPANIES = """query($filter: CustomerFilter) {
  companies(first: 100, filter: $filter, sort: NAME_ASC) { totalCount nodes { name } } }"""
AUDIT = """query($filter: AuditFilter) { auditLog(first: 50, filter: $filter) {
  nodes { action entityType entityId before after requestId } } }"""
EVENTS = "query($type: String) { events(first: 50, type: $type) { nodes { payload } } }"


@pytest.fixture
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make()


def make_tag(gql: GraphQLClient, key: str, name: str, color: str | None = None) -> str:
    fields: dict[str, Any] = {"name": name} if color is None else {"name": name, "color": color}
    return str(gql.data(CREATE_TAG, {"input": fields}, key=key)["createTag"]["id"])


def make(gql: GraphQLClient, key: str, kind: str, name: str, **fields: Any) -> str:
    query = CREATE_CONTACT if kind == "Contact" else CREATE_COMPANY
    return str(gql.data(query, {"input": {"name": name, **fields}}, key=key)[f"create{kind}"]["id"])


def names(gql: GraphQLClient, query: str, variables: dict[str, Any], key: str) -> list[str]:
    data = gql.data(query, variables, key=key)
    return [n["name"] for n in next(iter(data.values()))["nodes"]]


# -- the tags themselves ---------------------------------------------------------------------

def test_a_tag_is_created_cleaned_changed_deleted_and_restored(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    key = tenant.keys["manager"]
    created = gql.data(CREATE_TAG, {"input": {"name": "  重要\u3000 客户\u200b "}},
                       key=key)["createTag"]
    # The shared text rules: full-width and runs of spaces folded, zero-width dropped, trimmed.
    assert created["name"] == "重要 客户"
    assert created["color"] == "#9e9e9e"  # the default
    assert created["deletedAt"] is None
    tag_id = created["id"]
    assert gql.data(GET_TAG, {"id": tag_id}, key=key)["tag"] == {
        "id": tag_id, "name": "重要 客户", "color": "#9e9e9e"}
    assert gql.data(NODE, {"id": tag_id}, key=key)["node"] == {
        "id": tag_id, "name": "重要 客户", "color": "#9e9e9e"}

    updated = gql.data(UPDATE_TAG, {"id": tag_id, "input": {"color": "#1E88E5"}},
                       key=key)["updateTag"]
    assert updated == {"id": tag_id, "name": "重要 客户", "color": "#1e88e5"}  # name kept
    updated = gql.data(UPDATE_TAG, {"id": tag_id, "input": {"name": "VIP", "color": None}},
                       key=key)["updateTag"]
    assert updated == {"id": tag_id, "name": "VIP", "color": "#9e9e9e"}  # null: the default

    deleted = gql.data(DELETE_TAG, {"id": tag_id}, key=key)["deleteTag"]
    assert deleted["deletedAt"] is not None
    assert gql.data(DELETE_TAG, {"id": tag_id}, key=key)["deleteTag"] == deleted  # idempotent
    assert names(gql, TAGS, {}, key) == []
    assert names(gql, TAGS, {"filter": {"includeDeleted": True}}, key) == ["VIP"]
    assert names(gql, TAGS, {"filter": {"deletedOnly": True}}, key) == ["VIP"]
    assert gql.data(RESTORE_TAG, {"id": tag_id}, key=key)["restoreTag"]["deletedAt"] is None
    assert names(gql, TAGS, {}, key) == ["VIP"]


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({}, "name", "required"),
    ({"name": "  \u3000 "}, "name", "required"),
    ({"name": "长" * 51}, "name", "too_long"),
    ({"name": "two\nlines"}, "name", "invalid"),
    ({"name": "spoof\u202eed"}, "name", "invalid"),
    ({"name": "ok", "color": "blue"}, "color", "invalid_color"),
    ({"name": "ok", "color": "#12345"}, "color", "invalid_color"),
    ({"name": "ok", "color": "#12345g"}, "color", "invalid_color"),
])
def test_bad_names_and_colours_are_refused(
    gql: GraphQLClient, tenant: TenantData, fields: dict[str, Any], field: str, code: str
) -> None:
    error = gql.error(CREATE_TAG, {"input": fields}, key=tenant.keys["manager"])
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["extensions"]["field"] == field
    assert error["extensions"]["fields"][0]["code"] == code


def test_fifty_chinese_characters_make_a_name(gql: GraphQLClient, tenant: TenantData) -> None:
    name = "长" * 50
    assert gql.data(CREATE_TAG, {"input": {"name": name, "color": "#ABCDEF"}},
                    key=tenant.keys["manager"])["createTag"]["color"] == "#abcdef"
    assert names(gql, TAGS, {}, tenant.keys["manager"]) == [name]


def test_tags_list_by_name_unless_sorted_and_search(gql: GraphQLClient, tenant: TenantData
                                                    ) -> None:
    key = tenant.keys["manager"]
    for name in ("b-意向", "A-老客户", "c-流失"):
        make_tag(gql, key, name)
    assert names(gql, TAGS, {}, key) == ["A-老客户", "b-意向", "c-流失"]
    assert names(gql, TAGS, {"sort": "CREATED_AT_DESC"}, key) == ["c-流失", "A-老客户", "b-意向"]
    assert names(gql, TAGS, {"filter": {"search": "客户"}}, key) == ["A-老客户"]
    assert names(gql, TAGS, {"filter": {"search": "a-"}}, key) == ["A-老客户"]  # any case
    assert names(gql, TAGS, {"filter": {"search": "%"}}, key) == []  # a % is a %


# -- unique names ------------------------------------------------------------------------------

def test_names_are_unique_in_a_tenant_whatever_their_case(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    tenant, other = tenants.make(), tenants.make()
    key = tenant.keys["manager"]
    vip = make_tag(gql, key, "VIP")
    for name in ("VIP", "vip", " Vip "):
        error = gql.error(CREATE_TAG, {"input": {"name": name}}, key=key)
        assert error["extensions"] == {"code": "CONFLICT", "field": "name"}, error
    other_tag = make_tag(gql, key, "重点")
    error = gql.error(UPDATE_TAG, {"id": other_tag, "input": {"name": "vIP"}}, key=key)
    assert error["extensions"] == {"code": "CONFLICT", "field": "name"}
    # A tag may change its own name's case; another tenant may have the same name.
    assert gql.data(UPDATE_TAG, {"id": vip, "input": {"name": "Vip"}},
                    key=key)["updateTag"]["name"] == "Vip"
    make_tag(gql, other.keys["manager"], "VIP")
    # A deleted tag keeps its name: the error says to restore it.
    gql.data(DELETE_TAG, {"id": vip}, key=key)
    error = gql.error(CREATE_TAG, {"input": {"name": "VIP"}}, key=key)
    assert error["extensions"] == {"code": "CONFLICT", "field": "name"}
    assert "restore" in error["message"]
    assert gql.data(RESTORE_TAG, {"id": vip}, key=key)["restoreTag"]["deletedAt"] is None


def test_the_unique_index_decides_when_checks_race(
    gql: GraphQLClient, tenant: TenantData, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tenant.keys["manager"]
    make_tag(gql, key, "竞争")

    # As if another request had inserted it between our check and our insert.
    async def no_check(*args: Any, **kwargs: Any) -> None:
        return None

    monkeypatch.setattr(TagService, "check", no_check)  # the live server runs in this process
    error = gql.error(CREATE_TAG, {"input": {"name": "竞争"}}, key=key)
    assert error["extensions"] == {"code": "CONFLICT", "field": "name"}
    renamed = make_tag(gql, key, "另一个")
    error = gql.error(UPDATE_TAG, {"id": renamed, "input": {"name": "竞争"}}, key=key)
    assert error["extensions"] == {"code": "CONFLICT", "field": "name"}
    assert names(gql, TAGS, {}, key) == ["另一个", "竞争"]


def test_concurrent_creates_of_one_name_make_one_tag(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    key = tenant.keys["manager"]
    results: list[dict[str, Any]] = []
    start = threading.Barrier(8)

    def create() -> None:
        start.wait()
        results.append(gql(CREATE_TAG, {"input": {"name": "Concurrent 并发"}}, key=key))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    made = [r for r in results if "errors" not in r]
    refused = [r["errors"][0]["extensions"] for r in results if "errors" in r]
    assert len(made) == 1
    assert refused == [{"code": "CONFLICT", "field": "name"}] * 7
    assert names(gql, TAGS, {}, key) == ["Concurrent 并发"]


# -- tagging customers -----------------------------------------------------------------------

def test_tagging_and_untagging_is_idempotent_audited_and_evented(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    key = tenant.keys["manager"]
    vip, new, cold = (make_tag(gql, key, n, c) for n, c in
                      (("VIP", "#ff0000"), ("新客户", None), ("冷淡", None)))
    contact = make(gql, key, "Contact", "王小明")

    tagged = gql.data(TAG_CONTACT, {"id": contact, "tags": [vip, new, vip]}, key=key)
    assert tagged["tagContact"] == {"id": contact, "tags": [
        {"id": vip, "name": "VIP", "color": "#ff0000"},
        {"id": new, "name": "新客户", "color": "#9e9e9e"}]}
    again = gql.data(TAG_CONTACT, {"id": contact, "tags": [new]}, key=key)  # already so
    assert [t["id"] for t in again["tagContact"]["tags"]] == [vip, new]
    gql.data(TAG_CONTACT, {"id": contact, "tags": [cold]}, key=key)
    assert [t["name"] for t in gql.data(CONTACT_TAGS, {"id": contact}, key=key)["contact"][
        "tags"]] == ["VIP", "冷淡", "新客户"]
    untagged = gql.data(UNTAG_CONTACT, {"id": contact, "tags": [vip, cold]}, key=key)
    assert untagged["untagContact"]["tags"] == [{"name": "新客户"}]
    gql.data(UNTAG_CONTACT, {"id": contact, "tags": [vip]}, key=key)  # no longer there: no-op

    audit = gql.data(AUDIT, {"filter": {"entityId": contact}}, key=tenant.keys["owner"])
    rows = [(n["action"], n["entityType"], n["before"], n["after"])
            for n in audit["auditLog"]["nodes"] if n["action"] != "created"]
    by_id = sorted([vip, new, cold], key=lambda g: _uuid_of(g))
    # Newest first; the ids in the API's form, in id (creation) order; no row for a no-op.
    assert rows == [
        ("untagged", "contact", {"tagIds": by_id}, {"tagIds": [new]}),
        ("tagged", "contact", {"tagIds": [vip, new]}, {"tagIds": by_id}),
        ("tagged", "contact", {"tagIds": []}, {"tagIds": [vip, new]}),
    ]
    events = gql.data(EVENTS, {"type": "contact.tagged"}, key=tenant.keys["owner"])
    payloads = [e["payload"] for e in events["events"]["nodes"]]
    assert len(payloads) == 2 and payloads[0]["changed"] == ["tagIds"]
    assert payloads[0]["id"] == contact
    assert payloads[0]["data"] == {"tagIds": by_id}
    untag_events = gql.data(EVENTS, {"type": "contact.untagged"}, key=tenant.keys["owner"])
    assert [e["payload"]["data"] for e in untag_events["events"]["nodes"]] == [
        {"tagIds": [new]}]

    company = make(gql, key, "Company", "深圳云帆物流")
    assert gql.data(TAG_COMPANY, {"id": company, "tags": [cold, vip]}, key=key)[
        "tagCompany"]["tags"] == [{"name": "VIP"}, {"name": "冷淡"}]
    assert gql.data(UNTAG_COMPANY, {"id": company, "tags": [vip]}, key=key)[
        "untagCompany"]["tags"] == [{"name": "冷淡"}]
    company_audit = gql.data(AUDIT, {"filter": {"entityId": company}}, key=tenant.keys["owner"])
    assert [n["action"] for n in company_audit["auditLog"]["nodes"]] == [
        "untagged", "tagged", "created"]


def _uuid_of(global_id: str) -> uuid.UUID:
    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return uuid.UUID(raw.partition(":")[2])


def test_a_tag_list_request_sees_what_the_write_left(gql: GraphQLClient, tenant: TenantData
                                                    ) -> None:
    """Two writes in one request: the second answer is not the first one's cached list."""
    key = tenant.keys["manager"]
    one, two = make_tag(gql, key, "一"), make_tag(gql, key, "二")
    contact = make(gql, key, "Contact", "同一请求")
    data = gql.data("""mutation($c: ID!, $one: [ID!]!, $two: [ID!]!) {
      a: tagContact(id: $c, tagIds: $one) { tags { name } }
      b: tagContact(id: $c, tagIds: $two) { tags { name } }
      c: untagContact(id: $c, tagIds: $one) { tags { name } } }""",
                    {"c": contact, "one": [one], "two": [two]}, key=key)
    assert data == {"a": {"tags": [{"name": "一"}]},
                    "b": {"tags": [{"name": "一"}, {"name": "二"}]},
                    "c": {"tags": [{"name": "二"}]}}


def test_bad_tag_ids_are_refused_with_their_field(gql: GraphQLClient, tenant: TenantData
                                                  ) -> None:
    key = tenant.keys["manager"]
    contact = make(gql, key, "Contact", "张三")
    tag = make_tag(gql, key, "ok")
    for ids, code in (([contact], "invalid_id"), (["garbage"], "invalid_id")):
        error = gql.error(TAG_CONTACT, {"id": contact, "tags": ids}, key=key)
        assert error["extensions"]["code"] == "VALIDATION"
        assert error["extensions"]["fields"] == [
            {"field": "tagIds", "message": error["extensions"]["fields"][0]["message"],
             "code": code}]
    error = gql.error(TAG_CONTACT, {"id": tag, "tags": [tag]}, key=key)  # a tag for a contact
    assert error["extensions"]["field"] == "id"
    missing = _global("Tag", uuid.uuid4())
    error = gql.error(TAG_CONTACT, {"id": contact, "tags": [tag, missing]}, key=key)
    assert error["extensions"]["code"] == "VALIDATION"
    assert [(f["field"], f["code"]) for f in error["extensions"]["fields"]] == [
        ("tagIds", "not_found")]
    assert gql.data(CONTACT_TAGS, {"id": contact}, key=key)["contact"]["tags"] == []  # nothing


def _global(type_name: str, id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{id.hex}".encode()).decode().rstrip("=")


def test_a_customer_carries_at_most_fifty_tags(gql: GraphQLClient, tenant: TenantData) -> None:
    key = tenant.keys["manager"]
    tags = [make_tag(gql, key, f"标签{i:02d}") for i in range(51)]
    contact = make(gql, key, "Contact", "很多标签")
    error = gql.error(TAG_CONTACT, {"id": contact, "tags": tags}, key=key)
    assert (error["extensions"]["field"], error["extensions"]["fields"][0]["code"]) == (
        "tagIds", "too_many")
    assert len(gql.data(TAG_CONTACT, {"id": contact, "tags": tags[:50]}, key=key)[
        "tagContact"]["tags"]) == 50
    error = gql.error(TAG_CONTACT, {"id": contact, "tags": tags[50:]}, key=key)
    assert error["extensions"]["fields"][0]["code"] == "too_many"


def test_a_deleted_customer_is_restored_before_its_tags_change(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    key = tenant.keys["manager"]
    tag = make_tag(gql, key, "VIP")
    contact = make(gql, key, "Contact", "已删除的客户")
    gql.data(TAG_CONTACT, {"id": contact, "tags": [tag]}, key=key)
    gql.data("mutation($id: ID!) { deleteContact(id: $id) { id } }", {"id": contact}, key=key)
    for query in (TAG_CONTACT, UNTAG_CONTACT):
        error = gql.error(query, {"id": contact, "tags": [tag]}, key=key)
        assert error["extensions"] == {"code": "CONFLICT", "field": "id"}
    gql.data("mutation($id: ID!) { restoreContact(id: $id) { id } }", {"id": contact}, key=key)
    assert gql.data(UNTAG_CONTACT, {"id": contact, "tags": [tag]}, key=key)[
        "untagContact"]["tags"] == []


def test_a_deleted_tag_is_hidden_from_customers_and_comes_back_on_restore(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    key = tenant.keys["manager"]
    vip, other = make_tag(gql, key, "VIP"), make_tag(gql, key, "其他")
    contact = make(gql, key, "Contact", "李四")
    gql.data(TAG_CONTACT, {"id": contact, "tags": [vip, other]}, key=key)
    gql.data(DELETE_TAG, {"id": vip}, key=key)

    for role in ("manager", "owner"):  # even for those who may see deleted tags
        assert gql.data(CONTACT_TAGS, {"id": contact}, key=tenant.keys[role])["contact"][
            "tags"] == [{"name": "其他"}]
    assert names(gql, CONTACTS, {"filter": {"tagIds": [vip]}}, key) == []
    error = gql.error(TAG_CONTACT, {"id": contact, "tags": [vip]}, key=key)
    assert error["extensions"]["fields"][0]["code"] == "not_found"

    gql.data(RESTORE_TAG, {"id": vip}, key=key)
    assert gql.data(CONTACT_TAGS, {"id": contact}, key=key)["contact"]["tags"] == [
        {"name": "VIP"}, {"name": "其他"}]
    assert names(gql, CONTACTS, {"filter": {"tagIds": [vip]}}, key) == ["李四"]


# -- the tag filter of customer lists ----------------------------------------------------------

def test_contacts_and_companies_filter_by_tag(gql: GraphQLClient, tenant: TenantData) -> None:
    key = tenant.keys["manager"]
    vip, lead, none = (make_tag(gql, key, n) for n in ("VIP", "线索", "无人"))
    a, b, _ = (make(gql, key, "Contact", n) for n in ("A 客户", "B 客户", "C 客户"))
    gql.data(TAG_CONTACT, {"id": a, "tags": [vip, lead]}, key=key)
    gql.data(TAG_CONTACT, {"id": b, "tags": [lead]}, key=key)
    company = make(gql, key, "Company", "有标签的公司")
    make(gql, key, "Company", "没标签的公司")
    gql.data(TAG_COMPANY, {"id": company, "tags": [vip]}, key=key)

    def contacts(tags: list[str], **more: Any) -> tuple[list[str], int]:
        data = gql.data(CONTACTS, {"filter": {"tagIds": tags, **more}}, key=key)["contacts"]
        return [n["name"] for n in data["nodes"]], data["totalCount"]

    assert contacts([vip]) == (["A 客户"], 1)
    assert contacts([lead]) == (["A 客户", "B 客户"], 2)
    assert contacts([vip, lead]) == (["A 客户", "B 客户"], 2)  # any of them, each once
    assert contacts([none]) == ([], 0)
    assert contacts([]) == (["A 客户", "B 客户", "C 客户"], 3)  # no condition
    assert contacts([lead], search="B") == (["B 客户"], 1)  # with the other conditions
    assert names(gql, COMPANIES, {"filter": {"tagIds": [vip]}}, key) == ["有标签的公司"]
    error = gql.error(CONTACTS, {"filter": {"tagIds": [a]}}, key=key)
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "VALIDATION", "filter.tagIds")
    many = [_global("Tag", uuid.uuid4()) for _ in range(101)]
    error = gql.error(CONTACTS, {"filter": {"tagIds": many}}, key=key)
    assert (error["extensions"]["field"], error["extensions"]["fields"][0]["code"]) == (
        "filter.tagIds", "too_many")


# -- two tenants and the roles ---------------------------------------------------------------

def test_tenant_b_can_neither_see_nor_use_tenant_a_tags(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    a, b = tenants.make(), tenants.make()
    a_key, b_key = a.keys["owner"], b.keys["owner"]
    a_tag = make_tag(gql, a_key, "A 的标签")
    a_contact = make(gql, a_key, "Contact", "A 的客户")
    gql.data(TAG_CONTACT, {"id": a_contact, "tags": [a_tag]}, key=a_key)
    b_tag = make_tag(gql, b_key, "B 的标签")
    b_contact = make(gql, b_key, "Contact", "B 的客户")

    # Positive control: A sees its own.
    assert names(gql, TAGS, {}, a_key) == ["A 的标签"]
    assert names(gql, CONTACTS, {"filter": {"tagIds": [a_tag]}}, a_key) == ["A 的客户"]

    assert names(gql, TAGS, {"filter": {"includeDeleted": True}}, b_key) == ["B 的标签"]
    assert gql.data(NODE, {"id": a_tag}, key=b_key) == {"node": None}
    for query, variables in [
        (GET_TAG, {"id": a_tag}),
        (UPDATE_TAG, {"id": a_tag, "input": {"name": "偷改"}}),
        (DELETE_TAG, {"id": a_tag}),
        (RESTORE_TAG, {"id": a_tag}),
        (TAG_CONTACT, {"id": a_contact, "tags": [b_tag]}),  # B's tag on A's contact
        (UNTAG_CONTACT, {"id": a_contact, "tags": [a_tag]}),
    ]:
        assert gql.error(query, variables, key=b_key)["extensions"]["code"] == "NOT_FOUND"
    # A's tag on B's contact: no such tag, for B.
    error = gql.error(TAG_CONTACT, {"id": b_contact, "tags": [a_tag]}, key=b_key)
    assert (error["extensions"]["code"], error["extensions"]["fields"][0]["code"]) == (
        "VALIDATION", "not_found")
    # Untagging it is answered like any tag the contact does not carry.
    assert gql.data(UNTAG_CONTACT, {"id": b_contact, "tags": [a_tag]}, key=b_key)[
        "untagContact"]["tags"] == []
    assert names(gql, CONTACTS, {"filter": {"tagIds": [a_tag]}}, b_key) == []
    # A's tag may share its name with one of B's.
    make_tag(gql, b_key, "A 的标签")

    assert gql.data(CONTACT_TAGS, {"id": a_contact}, key=a_key)["contact"]["tags"] == [
        {"name": "A 的标签"}]
    assert gql.data(GET_TAG, {"id": a_tag}, key=a_key)["tag"]["name"] == "A 的标签"


def test_sales_tag_only_their_own_customers_and_viewers_only_read(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory
) -> None:
    team = tenants.make(members={"alice": "sales", "bob": "sales"})
    manager = team.keys["manager"]
    vip = make_tag(gql, manager, "VIP")
    alice = login(live_server, gql, team.members["alice"].email, team.members["alice"].password)
    bob = login(live_server, gql, team.members["bob"].email, team.members["bob"].password)
    try:
        mine = gql.data(CREATE_CONTACT, {"input": {"name": "Alice 的客户"}},
                        client=alice)["createContact"]["id"]
        bobs = gql.data(CREATE_COMPANY, {"input": {"name": "Bob 的公司"}},
                        client=bob)["createCompany"]["id"]
        assert gql.data(TAG_CONTACT, {"id": mine, "tags": [vip]}, client=alice)[
            "tagContact"]["tags"][0]["name"] == "VIP"
        for query, variables in [(TAG_COMPANY, {"id": bobs, "tags": [vip]}),
                                 (UNTAG_CONTACT, {"id": mine, "tags": [vip]})]:
            error = gql.error(query, variables, client=bob if "untag" in query else alice)
            assert error["extensions"]["code"] == "NOT_FOUND"
        assert [n["name"] for n in gql.data(TAGS, client=alice)["tags"]["nodes"]] == ["VIP"]
        # Sales use the tenant's tags; managers make them.
        error = gql.error(CREATE_TAG, {"input": {"name": "我自己的"}}, client=alice)
        assert error["extensions"] == {"code": "FORBIDDEN", "permission": "tags:write"}
        assert gql.data(CONTACTS, {"filter": {"tagIds": [vip]}}, client=bob)["contacts"][
            "nodes"] == []  # Alice's contact is not Bob's to see
    finally:
        alice.close()
        bob.close()

    viewer = team.keys["viewer"]
    assert names(gql, CONTACTS, {"filter": {"tagIds": [vip]}}, viewer) == ["Alice 的客户"]
    assert gql.data(CONTACT_TAGS, {"id": mine}, key=viewer)["contact"]["tags"] == [
        {"name": "VIP"}]
    for query, variables, permission in [
        (CREATE_TAG, {"input": {"name": "x"}}, "tags:write"),
        (UPDATE_TAG, {"id": vip, "input": {"name": "x"}}, "tags:write"),
        (DELETE_TAG, {"id": vip}, "tags:delete"),
        (RESTORE_TAG, {"id": vip}, "tags:delete"),
        (TAG_CONTACT, {"id": mine, "tags": [vip]}, "customers:write"),
        (UNTAG_CONTACT, {"id": mine, "tags": [vip]}, "customers:write"),
        (TAG_COMPANY, {"id": bobs, "tags": [vip]}, "customers:write"),
        (UNTAG_COMPANY, {"id": bobs, "tags": [vip]}, "customers:write"),
    ]:
        error = gql.error(query, variables, key=viewer)
        assert error["extensions"] == {"code": "FORBIDDEN", "permission": permission}
    error = gql.error(TAGS, {"filter": {"includeDeleted": True}}, key=viewer)
    assert error["extensions"]["code"] == "FORBIDDEN"

"""Contacts and companies through GraphQL over HTTP: writes, validation, lists, audit and events."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import GraphQLClient
from tests.factories import TenantData, TenantFactory

CREATE_CONTACT = """
mutation($input: ContactInput!) {
  createContact(input: $input) {
    id name email phone gender birthday title notes deletedAt
    address { country province city district street postalCode }
    company { id name }
    owner { id }
  }
}"""
UPDATE_CONTACT = """
mutation($id: ID!, $input: ContactInput!) {
  updateContact(id: $id, input: $input) { id name email phone title notes }
}"""
DELETE_CONTACT = "mutation($id: ID!) { deleteContact(id: $id) { id deletedAt } }"
RESTORE_CONTACT = "mutation($id: ID!) { restoreContact(id: $id) { id deletedAt } }"
CREATE_COMPANY = "mutation($input: CompanyInput!) { createCompany(input: $input) { id name } }"
GET_CONTACT = "query($id: ID!) { contact(id: $id) { id name company { name } } }"
LIST = """
query($first: Int, $after: String, $filter: CustomerFilter, $sort: CustomerSort) {
  contacts(first: $first, after: $after, filter: $filter, sort: $sort) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id name } }
  }
}"""
AUDIT = """
query($filter: AuditFilter) {
  auditLog(first: 50, filter: $filter) {
    nodes { action entityType entityId actorType actorLabel before after requestId }
  }
}"""
EVENTS = """
query($type: String) {
  events(first: 50, type: $type) { nodes { eventType aggregateId payload } }
}"""


@pytest.fixture
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make()


def test_create_contact_with_chinese_name_address_and_mainland_phone(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    key = tenant.keys["admin"]
    company = gql.data(CREATE_COMPANY, {"input": {"name": "上海华联贸易有限公司"}}, key=key)
    contact = gql.data(CREATE_CONTACT, {"input": {
        "name": "  欧阳　娜娜 ",  # full-width space inside, spaces around
        "email": "NaNa@Example.COM",
        "phone": "138 0013 8000",
        "gender": "FEMALE",
        "birthday": "1990-05-04",
        "title": "采购经理",
        "address": {"country": "cn", "province": "广东省", "city": "深圳市", "district": "南山区",
                    "street": "科技园南区高新南一道 8 号", "postalCode": "518057"},
        "companyId": company["createCompany"]["id"],
    }}, key=key)["createContact"]
    assert contact["name"] == "欧阳 娜娜"
    assert contact["email"] == "nana@example.com"
    assert contact["phone"] == "+8613800138000"
    assert contact["gender"] == "FEMALE"
    assert contact["birthday"] == "1990-05-04"
    assert contact["address"] == {"country": "CN", "province": "广东省", "city": "深圳市",
                                  "district": "南山区", "street": "科技园南区高新南一道 8 号",
                                  "postalCode": "518057"}
    assert contact["company"]["name"] == "上海华联贸易有限公司"
    assert base64.urlsafe_b64decode(contact["id"] + "==").startswith(b"Contact:")
    fetched = gql.data(GET_CONTACT, {"id": contact["id"]}, key=key)["contact"]
    assert fetched["company"]["name"] == "上海华联贸易有限公司"


def test_invalid_input_reports_every_field_and_writes_nothing(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    key = tenant.keys["admin"]
    error = gql.error(CREATE_CONTACT, {"input": {
        "name": "x" * 201, "email": "not-an-email", "phone": "12345", "birthday": "2999-01-01",
    }}, key=key)
    assert error["extensions"]["code"] == "VALIDATION"
    fields = {f["field"]: f["code"] for f in error["extensions"]["fields"]}
    assert fields == {"name": "too_long", "email": "invalid_email", "phone": "invalid_phone",
                      "birthday": "out_of_range"}
    assert error["extensions"]["field"] == "name"
    assert gql.data(LIST, {}, key=key)["contacts"]["totalCount"] == 0
    assert gql.data(EVENTS, {}, key=key)["events"]["nodes"] == [
        e for e in gql.data(EVENTS, {}, key=key)["events"]["nodes"]
        if not e["eventType"].startswith("contact.")
    ]


def test_name_is_required_and_unknown_company_is_rejected(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    key = tenant.keys["admin"]
    assert gql.error(CREATE_CONTACT, {"input": {"name": "  "}}, key=key)["extensions"][
        "fields"] == [{"field": "name", "message": "must not be empty", "code": "required"}]
    bogus = base64.urlsafe_b64encode(b"Company:00000000-0000-0000-0000-000000000000").decode()
    error = gql.error(CREATE_CONTACT, {"input": {"name": "张三", "companyId": bogus}}, key=key)
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["extensions"]["field"] == "companyId"
    error = gql.error(GET_CONTACT, {"id": "garbage"}, key=key)
    assert error["extensions"] == {"code": "VALIDATION", "field": "id", "fields": [
        {"field": "id", "message": "is not a valid ID", "code": "invalid_id"}]}


def test_update_changes_only_sent_fields_and_null_clears(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    key = tenant.keys["admin"]
    created = gql.data(CREATE_CONTACT, {"input": {
        "name": "李雷", "email": "lilei@example.com", "title": "工程师", "notes": "老客户"}},
        key=key)["createContact"]
    updated = gql.data(UPDATE_CONTACT, {"id": created["id"], "input": {
        "phone": "+86 139 1234 5678", "title": None}}, key=key)["updateContact"]
    assert updated == {"id": created["id"], "name": "李雷", "email": "lilei@example.com",
                       "phone": "+8613912345678", "title": None, "notes": "老客户"}


def test_soft_delete_hides_and_restore_brings_back(gql: GraphQLClient, tenant: TenantData) -> None:
    key = tenant.keys["admin"]
    created = gql.data(CREATE_CONTACT, {"input": {"name": "韩梅梅"}}, key=key)["createContact"]
    deleted = gql.data(DELETE_CONTACT, {"id": created["id"]}, key=key)["deleteContact"]
    assert deleted["deletedAt"] is not None
    assert gql.data(LIST, {}, key=key)["contacts"]["totalCount"] == 0
    listed = gql.data(LIST, {"filter": {"deletedOnly": True}}, key=key)["contacts"]
    assert [e["node"]["id"] for e in listed["edges"]] == [created["id"]]
    assert gql.error(UPDATE_CONTACT, {"id": created["id"], "input": {"name": "x"}},
                     key=key)["extensions"]["code"] == "CONFLICT"
    restored = gql.data(RESTORE_CONTACT, {"id": created["id"]}, key=key)["restoreContact"]
    assert restored["deletedAt"] is None
    assert gql.data(LIST, {}, key=key)["contacts"]["totalCount"] == 1


def test_every_mutation_leaves_an_audit_row_and_an_event(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    key = tenant.keys["admin"]
    cid = gql.data(CREATE_CONTACT, {"input": {"name": "王五"}}, key=key)["createContact"]["id"]
    gql.data(UPDATE_CONTACT, {"id": cid, "input": {"name": "王五五"}}, key=key)
    gql.data(DELETE_CONTACT, {"id": cid}, key=key)
    gql.data(RESTORE_CONTACT, {"id": cid}, key=key)

    audit = gql.data(AUDIT, {"filter": {"entityType": "contact", "entityId": cid}},
                     key=tenant.keys["manager"])["auditLog"]["nodes"]
    assert [a["action"] for a in audit] == ["restored", "deleted", "updated", "created"]
    assert all(a["entityId"] == cid and a["actorType"] == "api_key" for a in audit)
    assert all(a["actorLabel"] == "api key admin key" and a["requestId"] for a in audit)
    created, updated = audit[3], audit[2]
    assert created["before"] is None and created["after"]["name"] == "王五"
    assert updated["before"]["name"] == "王五" and updated["after"]["name"] == "王五五"

    events = gql.data(EVENTS, {}, key=key)["events"]["nodes"]
    mine = [e for e in events if e["aggregateId"] == cid]
    assert [e["eventType"] for e in mine] == ["contact.restored", "contact.deleted",
                                             "contact.updated", "contact.created"]
    assert mine[2]["payload"]["changed"] == ["name"]
    assert mine[3]["payload"]["data"]["name"] == "王五"


def test_audit_log_filters_by_action_and_needs_audit_permission(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    gql.data(CREATE_COMPANY, {"input": {"name": "Acme"}}, key=tenant.keys["admin"])
    rows = gql.data(AUDIT, {"filter": {"entityType": "company", "action": "created"}},
                    key=tenant.keys["admin"])["auditLog"]["nodes"]
    assert [r["after"]["name"] for r in rows] == ["Acme"]
    error = gql.error(AUDIT, {}, key=tenant.keys["viewer"])
    assert error["extensions"]["code"] == "FORBIDDEN"


def test_pagination_walks_every_row_once_in_order(gql: GraphQLClient, tenant: TenantData) -> None:
    key = tenant.keys["admin"]
    names = [f"客户{i:02d}" for i in range(25)]
    for name in names:
        gql.data(CREATE_CONTACT, {"input": {"name": name}}, key=key)
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = gql.data(LIST, {"first": 10, "after": after, "sort": "NAME_ASC"},
                        key=key)["contacts"]
        pages += 1
        seen += [e["node"]["name"] for e in page["edges"]]
        assert page["totalCount"] == 25
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
    assert pages == 3
    assert seen == names

    newest = gql.data(LIST, {"first": 3}, key=key)["contacts"]["edges"]
    assert [e["node"]["name"] for e in newest] == ["客户24", "客户23", "客户22"]


def test_search_and_page_size_limits(gql: GraphQLClient, tenant: TenantData) -> None:
    key = tenant.keys["admin"]
    gql.data(CREATE_CONTACT, {"input": {"name": "诸葛亮", "phone": "13700000001"}}, key=key)
    gql.data(CREATE_CONTACT, {"input": {"name": "Zhuge Liang", "email": "kongming@shu.cn"}},
             key=key)
    by_name = gql.data(LIST, {"filter": {"search": "诸葛"}}, key=key)["contacts"]
    assert [e["node"]["name"] for e in by_name["edges"]] == ["诸葛亮"]
    by_phone = gql.data(LIST, {"filter": {"search": "13700000001"}}, key=key)["contacts"]
    assert by_phone["totalCount"] == 1
    by_email = gql.data(LIST, {"filter": {"search": "KONGMING"}}, key=key)["contacts"]
    assert [e["node"]["name"] for e in by_email["edges"]] == ["Zhuge Liang"]
    error = gql.error(LIST, {"first": 101}, key=key)
    assert error["extensions"] == {"code": "BAD_REQUEST", "field": "first", "maximum": 100}
    error = gql.error(LIST, {"after": "not-a-cursor"}, key=key)
    assert error["extensions"]["code"] == "BAD_REQUEST"


def test_contacts_filter_by_company(gql: GraphQLClient, tenant: TenantData) -> None:
    key = tenant.keys["admin"]
    acme = gql.data(CREATE_COMPANY, {"input": {"name": "Acme"}}, key=key)["createCompany"]["id"]
    gql.data(CREATE_CONTACT, {"input": {"name": "In Acme", "companyId": acme}}, key=key)
    gql.data(CREATE_CONTACT, {"input": {"name": "Elsewhere"}}, key=key)
    rows = gql.data(LIST, {"filter": {"companyId": acme}}, key=key)["contacts"]["edges"]
    assert [e["node"]["name"] for e in rows] == ["In Acme"]


def test_a_request_whose_mutation_fails_changes_nothing(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    key = tenant.keys["admin"]
    body = gql("""mutation {
      first: createContact(input: {name: "本应留下"}) { id name }
      bad: createContact(input: {name: "x", email: "nope"}) { id }
    }""", key=key)
    # A failing non-null mutation nulls the whole response: the caller cannot see that `first`
    # succeeded, so it must not have.
    assert body["data"] is None
    assert [e["path"] for e in body["errors"]] == [["bad"]]
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION"
    assert gql.data(LIST, {}, key=key)["contacts"]["totalCount"] == 0
    created = gql.data(AUDIT, {"filter": {"entityType": "contact"}}, key=key)["auditLog"]["nodes"]
    assert created == []
    events = gql.data(EVENTS, {"type": "contact.created"}, key=key)["events"]["nodes"]
    assert events == []

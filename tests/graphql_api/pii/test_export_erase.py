"""Export and erasure of a contact on request, over GraphQL/HTTP: what the export holds (clear
for pii:read holders, masked for others), what erasure removes, keeps and redacts, and who is
refused (wrong permission, other tenant, out of the caller's data scope)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from infra.global_ids import from_global_id
from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import TenantData, TenantFactory

ID_NUMBER = "11010519491231002X"
CREATE = """mutation($input: ContactInput!) { createContact(input: $input) { id name } }"""
UPDATE = """mutation($id: ID!, $input: ContactInput!) { updateContact(id: $id, input: $input) {
  id } }"""
EXPORT = "mutation($id: ID!) { exportContact(id: $id) }"
ERASE = """mutation($id: ID!) { eraseContact(id: $id) { id name email phone title notes
  idNumber idType personalNotes erasedAt address { city } customFields { key value } } }"""
FIELD = """mutation($input: CustomFieldInput!) { createCustomField(input: $input) { id } }"""
TAG = """mutation($n: String!) { createTag(input: {name: $n}) { id } }"""
TAG_CONTACT = "mutation($id: ID!, $t: [ID!]!) { tagContact(id: $id, tagIds: $t) { id } }"
TYPES = "{ interactionTypes(first: 10) { nodes { id key } } }"
LOG = """mutation($input: InteractionInput!) { createInteraction(input: $input) { id } }"""
SURVEY = """mutation($input: SurveyResponseInput!) { createSurveyResponse(input: $input) {
  id } }"""
AUDIT = """query($filter: AuditFilter) { auditLog(first: 100, filter: $filter) {
  nodes { action entityType entityId actorLabel before after } } }"""
COUNT = "{ contacts(first: 1) { totalCount } }"


@pytest.fixture
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make()


def held_contact(gql: GraphQLClient, tenant: TenantData) -> str:
    """A contact with everything: contact points, address, notes, ID number, personal notes,
    a sensitive and a plain custom field, a tag, an interaction and a survey answer."""
    admin = tenant.keys["admin"]
    gql.data(FIELD, {"input": {"entity": "CONTACT", "key": "wechat", "label": "微信号",
                               "type": "TEXT"}}, key=admin)
    gql.data(FIELD, {"input": {"entity": "CONTACT", "key": "bank", "label": "银行账号",
                               "type": "TEXT", "sensitive": True}}, key=admin)
    id = gql.data(CREATE, {"input": {
        "name": "赵敏", "email": "zhaomin@example.com", "phone": "13912345678",
        "title": "采购经理", "notes": "喜欢周五下午联系", "idNumber": ID_NUMBER,
        "personalNotes": "对青霉素过敏", "address": {"city": "杭州市", "street": "文三路 90 号"},
        "customFields": [{"key": "wechat", "value": "zhaomin88"},
                         {"key": "bank", "value": "6222020200112233445"}]}},
        key=admin)["createContact"]["id"]
    tag = gql.data(TAG, {"n": "VIP"}, key=admin)["createTag"]["id"]
    gql.data(TAG_CONTACT, {"id": id, "t": [tag]}, key=admin)
    call = next(t["id"] for t in gql.data(TYPES, key=admin)["interactionTypes"]["nodes"]
                if t["key"] == "CALL")
    gql.data(LOG, {"input": {"typeId": call, "contactId": id, "subject": "电话回访：赵敏的订单",
                             "body": "她说下周去北京出差", "occurredAt": "2026-11-01T08:00:00Z"}},
             key=admin)
    gql.data(SURVEY, {"input": {"contactId": id, "csat": 4, "comment": "赵敏说服务很好"}},
             key=admin)
    return id  # type: ignore[no-any-return]


def webhook_delivery(gql: GraphQLClient, tenant: TenantData,
                     owner_conn: psycopg.Connection[Any], contact_id: str) -> None:
    """A delivery of the contact's creation as the webhook log keeps it (payload and body)."""
    subscription = gql.data("""mutation { createWebhookSubscription(input: {
        url: "https://93.184.215.14/hooks", eventTypes: ["contact.created"]}) { id } }""",
                            key=tenant.keys["owner"])["createWebhookSubscription"]["id"]
    _, subscription_id = from_global_id(subscription)
    event = owner_conn.execute(
        "select id, payload::text from outbox where tenant_id = %s and event_type = "
        "'contact.created'", (tenant.id,)).fetchone()
    assert event is not None and "赵敏" in event[1]
    owner_conn.execute(
        "insert into webhook_deliveries (tenant_id, id, subscription_id, event_id, event_type, "
        "occurred_at, ordering_key, message_id, payload, body, status) values (%s, "
        "gen_random_uuid(), %s, %s, 'contact.created', now(), %s, 'msg_1', %s::jsonb, %s, "
        "'succeeded')", (tenant.id, subscription_id, event[0], f"contact:{contact_id}",
                         event[1], event[1]))
    owner_conn.commit()


def test_export_holds_everything_in_clear_for_a_pii_reader(gql: GraphQLClient,
                                                           tenant: TenantData) -> None:
    id = held_contact(gql, tenant)
    document = gql.data(EXPORT, {"id": id}, key=tenant.keys["admin"])["exportContact"]
    assert document["format"] == "crm.contact-export/1" and document["sensitiveInClear"]
    contact = document["contact"]
    assert contact["name"] == "赵敏" and contact["email"] == "zhaomin@example.com"
    assert contact["idNumber"] == ID_NUMBER and contact["personalNotes"] == "对青霉素过敏"
    assert document["customFields"] == {"wechat": "zhaomin88", "bank": "6222020200112233445"}
    assert document["tags"] == ["VIP"]
    assert [i["subject"] for i in document["interactions"]] == ["电话回访：赵敏的订单"]
    assert [s["comment"] for s in document["surveyResponses"]] == ["赵敏说服务很好"]
    assert [a["action"] for a in document["auditHistory"]][:3] == ["created", "tagged",
                                                                   "pii.read"]
    audit = gql.data(AUDIT, {"filter": {"entityId": id}}, key=tenant.keys["owner"])
    actions = [a["action"] for a in audit["auditLog"]["nodes"]]
    assert actions.count("pii.read") == 3 and actions[0] == "exported"
    assert ID_NUMBER not in repr(audit) and "6222020200112233445" not in repr(audit)


def test_export_is_masked_for_others_and_refused_across_tenants(
        gql: GraphQLClient, tenant: TenantData, tenants: TenantFactory) -> None:
    id = held_contact(gql, tenant)
    document = gql.data(EXPORT, {"id": id}, key=tenant.keys["manager"])["exportContact"]
    assert not document["sensitiveInClear"]
    assert document["contact"]["idNumber"] == "110***********002X"
    assert document["contact"]["personalNotes"] == "••••"
    assert document["customFields"] == {"wechat": "zhaomin88", "bank": "••••"}
    assert ID_NUMBER not in repr(document) and "青霉素" not in repr(document)
    other = tenants.make()
    error = gql.error(EXPORT, {"id": id}, key=other.keys["owner"])
    assert error["extensions"]["code"] == "NOT_FOUND"


def test_erase_anonymises_keeps_the_record_and_redacts_its_history(
        gql: GraphQLClient, tenant: TenantData, owner_conn: psycopg.Connection[Any]) -> None:
    id = held_contact(gql, tenant)
    _, raw_id = from_global_id(id)
    webhook_delivery(gql, tenant, owner_conn, id)
    before = gql.data(COUNT, key=tenant.keys["owner"])["contacts"]["totalCount"]
    erased = gql.data(ERASE, {"id": id}, key=tenant.keys["admin"])["eraseContact"]
    assert erased["name"] == "(erased)" and erased["erasedAt"]
    assert all(erased[k] is None for k in ("email", "phone", "title", "notes", "idNumber",
                                           "idType", "personalNotes", "address"))
    assert erased["customFields"] == []
    assert gql.data(COUNT, key=tenant.keys["owner"])["contacts"]["totalCount"] == before

    # Nothing of what was held remains anywhere in the tenant's rows, history included.
    dump = "\n".join(str(r[0]) for r in owner_conn.execute(
        """select c::text from contacts c where tenant_id = %(t)s and id = %(id)s
           union all select v::text from custom_field_values v where tenant_id = %(t)s
           union all select i::text from interactions i where tenant_id = %(t)s
           union all select s::text from survey_responses s where tenant_id = %(t)s
           union all select a::text from audit_log a where tenant_id = %(t)s
           union all select o::text from outbox o where tenant_id = %(t)s
           union all select d::text from webhook_deliveries d where tenant_id = %(t)s""",
        {"t": tenant.id, "id": raw_id}).fetchall())
    for held in ("赵敏", "zhaomin", "13912345678", "文三路", "喜欢周五", "青霉素", "北京出差",
                 "服务很好", "6222020200112233445", ID_NUMBER):
        assert held not in dump, held
    audit = gql.data(AUDIT, {"filter": {"entityId": id}}, key=tenant.keys["owner"])
    rows = audit["auditLog"]["nodes"]
    assert rows[0]["action"] == "erased" and rows[0]["before"] is None \
        and rows[0]["after"] is None and rows[0]["actorLabel"] == "api key admin key"
    created = next(r for r in rows if r["action"] == "created")
    assert created["after"]["redacted"] is True and created["after"]["name"] is None

    again = gql.data(ERASE, {"id": id}, key=tenant.keys["admin"])["eraseContact"]
    assert again["erasedAt"] == erased["erasedAt"]  # idempotent
    audit = gql.data(AUDIT, {"filter": {"entityId": id}}, key=tenant.keys["owner"])
    assert [r["action"] for r in audit["auditLog"]["nodes"]].count("erased") == 1


def test_erase_is_refused_without_the_permission_and_across_tenants(
        gql: GraphQLClient, tenant: TenantData, tenants: TenantFactory) -> None:
    id = gql.data(CREATE, {"input": {"name": "钱多多", "idNumber": ID_NUMBER}},
                  key=tenant.keys["owner"])["createContact"]["id"]
    for role in ("manager", "viewer"):
        error = gql.error(ERASE, {"id": id}, key=tenant.keys[role])
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert error["extensions"]["permission"] == "pii:erase"
    other = tenants.make()
    error = gql.error(ERASE, {"id": id}, key=other.keys["owner"])
    assert error["extensions"]["code"] == "NOT_FOUND"
    for bad in ("not-an-id", "Q29udGFjdDo" + "A" * 5000, "\x00"):
        error = gql.error(ERASE, {"id": bad}, key=tenant.keys["owner"])
        assert error["extensions"]["code"] in ("VALIDATION", "BAD_REQUEST", "NOT_FOUND")
    name = gql.data("query($id: ID!) { contact(id: $id) { name idNumber } }", {"id": id},
                    key=tenant.keys["owner"])["contact"]
    assert name == {"name": "钱多多", "idNumber": "110***********002X"}


def test_erase_and_reveal_follow_the_data_scope(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory,
        owner_conn: psycopg.Connection[Any]) -> None:
    """Sales given pii:read and pii:erase still act only on what their scope (own) shows."""
    tenant = tenants.make(members={"li": "sales", "wang": "sales"})
    owner_conn.execute("update roles set permissions = permissions || "
                       "array['pii:read', 'pii:erase'] where tenant_id = %s and key = 'sales'",
                       (tenant.id,))
    owner_conn.commit()
    li = login(live_server, gql, tenant.members["li"].email, tenant.members["li"].password)
    wang = login(live_server, gql, tenant.members["wang"].email,
                 tenant.members["wang"].password)
    theirs = gql.data(CREATE, {"input": {"name": "李的客户", "idNumber": ID_NUMBER}},
                      client=li)["createContact"]["id"]
    for document, variables in ((ERASE, {"id": theirs}),
                                ("""mutation($id: ID!) { revealContactPii(id: $id,
                                    fields: ["idNumber"]) { value } }""", {"id": theirs}),
                                (EXPORT, {"id": theirs})):
        error = gql.error(document, variables, client=wang)
        assert error["extensions"]["code"] == "NOT_FOUND"
    assert gql.data(ERASE, {"id": theirs}, client=li)["eraseContact"]["name"] == "(erased)"

"""Audit rows and events speak the API's language: global ids, enum names, camelCase fields, and
one timestamp per write (the audit row's time, `updatedAt` and `deletedAt` of a delete agree)."""

from __future__ import annotations

import base64
from typing import Any

from tests.conftest import GraphQLClient
from tests.factories import TenantFactory

FIELDS = """id name email phone gender birthday title notes createdAt updatedAt deletedAt
  idType idNumber personalNotes erasedAt
  address { country province city district street postalCode } owner { id } company { id }
  customFields { key value } phones { number label primary } emails { email label primary }
  mergedInto"""
CREATE = f"mutation($i: ContactInput!) {{ createContact(input: $i) {{ {FIELDS} }} }}"
DELETE = f"mutation($id: ID!) {{ deleteContact(id: $id) {{ {FIELDS} }} }}"
HISTORY = """query($id: ID!) {
  auditLog(first: 10, filter: {entityId: $id}) { nodes { action occurredAt before after } }
  events(first: 50) { nodes { eventType aggregateId occurredAt payload } }
}"""


def as_recorded(contact: dict[str, Any]) -> dict[str, Any]:
    """What the API shows of a contact, as audit rows and events record it."""
    recorded = {k: v for k, v in contact.items() if k not in ("owner", "company")}
    recorded["ownerId"] = contact["owner"] and contact["owner"]["id"]
    recorded["companyId"] = contact["company"] and contact["company"]["id"]
    recorded["address"] = {k: v for k, v in contact["address"].items() if v is not None}
    # Custom fields as {key: value} (modules/kit/custom_values.py: api_form).
    recorded["customFields"] = {v["key"]: v["value"] for v in contact["customFields"]}
    return recorded


def test_audit_rows_and_events_use_the_apis_forms_and_one_time_per_write(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    tenant = tenants.make()
    key = tenant.keys["admin"]
    owner = gql.data("{ members(first: 1) { nodes { user { id } } } }",
                     key=key)["members"]["nodes"][0]["user"]["id"]
    company = gql.data('mutation { createCompany(input: {name: "华夏"}) { id } }',
                       key=key)["createCompany"]["id"]
    contact = gql.data(CREATE, {"i": {
        "name": "钱十", "email": "qian@example.com", "phone": "13800138000", "gender": "MALE",
        "birthday": "1980-01-02", "title": "总监", "notes": "备注", "ownerId": owner,
        "idNumber": "11010519491231002X", "personalNotes": "对花生过敏",
        "companyId": company, "address": {"city": "杭州市", "postalCode": "310000"}}},
        key=key)["createContact"]
    deleted = gql.data(DELETE, {"id": contact["id"]}, key=key)["deleteContact"]

    history = gql.data(HISTORY, {"id": contact["id"]}, key=key)
    removal, creation = history["auditLog"]["nodes"]
    assert creation["action"] == "created" and creation["before"] is None
    assert creation["after"] == as_recorded(contact)
    assert creation["after"]["gender"] == "MALE"
    assert creation["after"]["ownerId"] == owner and creation["after"]["companyId"] == company
    assert removal["before"] == as_recorded(contact)
    assert removal["after"] == as_recorded(deleted)
    # One write, one time: the audit row's, updatedAt and deletedAt.
    assert deleted["deletedAt"] == deleted["updatedAt"] == removal["occurredAt"]
    assert contact["createdAt"] == contact["updatedAt"] == creation["occurredAt"]

    events = {e["eventType"]: e for e in history["events"]["nodes"]
              if e["aggregateId"] == contact["id"]}
    assert events["contact.created"]["payload"] == {
        "id": contact["id"], "data": as_recorded(contact), "changed": sorted(
            k for k, v in as_recorded(contact).items() if v is not None and k != "updatedAt")}
    assert events["contact.deleted"]["payload"] == {
        "id": contact["id"], "data": as_recorded(deleted), "changed": ["deletedAt"]}
    assert events["contact.deleted"]["occurredAt"] == deleted["deletedAt"]


def test_an_api_key_revocation_is_recorded_at_the_time_it_shows(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    tenant = tenants.make()
    key = tenant.keys["owner"]
    created = gql.data('mutation { createApiKey(name: "ERP", role: "viewer") '
                       "{ apiKey { id role } } }", key=key)["createApiKey"]["apiKey"]
    revoked = gql.data("mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }",
                       {"id": created["id"]}, key=key)["revokeApiKey"]
    audit = gql.data(HISTORY, {"id": created["id"]}, key=key)["auditLog"]["nodes"]
    assert [a["action"] for a in audit] == ["revoked", "created"]
    assert audit[0]["after"]["revokedAt"] == revoked["revokedAt"] == audit[0]["occurredAt"]
    assert audit[0]["after"]["id"] == created["id"]
    assert "keyHash" not in audit[0]["after"] and "key_hash" not in audit[0]["after"]
    role_id = audit[1]["after"]["roleId"]
    assert base64.urlsafe_b64decode(role_id + "=" * (-len(role_id) % 4)).startswith(b"Role:")

"""A webhook URL's query often carries the integrator's token: the audit log (read with
`audit:read`, which managers have without `webhooks:manage`) and subscription events show the
URL without it."""

from __future__ import annotations

from tests.conftest import GraphQLClient
from tests.factories import TenantFactory

CREATE = """mutation($i: WebhookSubscriptionInput!) {
  createWebhookSubscription(input: $i) { id url } }"""
UPDATE = """mutation($id: ID!, $i: WebhookSubscriptionInput!) {
  updateWebhookSubscription(id: $id, input: $i) { id url } }"""
AUDIT = """query($id: ID!) { auditLog(first: 20, filter: {entityId: $id}) {
  nodes { action before after } } }"""
EVENTS = "{ events(first: 50) { nodes { eventType payload } } }"


def test_the_audit_log_and_events_never_show_a_webhook_urls_query(
        gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant = tenants.make()
    url = "https://93.184.215.14/hooks/crm?token=SEKRIT-INTEGRATOR-TOKEN#frag"
    sub = gql.data(CREATE, {"i": {"url": url, "eventTypes": ["contact.created"]}},
                   key=tenant.keys["owner"])["createWebhookSubscription"]
    assert sub["url"] == url  # those who manage webhooks see it whole
    gql.data(UPDATE, {"id": sub["id"], "i": {"url": url.replace("SEKRIT", "OTHER")}},
             key=tenant.keys["owner"])
    rows = gql.data(AUDIT, {"id": sub["id"]}, key=tenant.keys["manager"])["auditLog"]["nodes"]
    assert {r["action"] for r in rows} == {"created", "updated"}
    events = gql.data(EVENTS, key=tenant.keys["owner"])["events"]["nodes"]
    text = repr(rows) + repr([e for e in events if e["eventType"].startswith("webhook")])
    assert "SEKRIT" not in text and "OTHER" not in text and "frag" not in text
    assert "https://93.184.215.14/hooks/crm?…" in text

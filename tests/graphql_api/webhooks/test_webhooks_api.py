"""The webhooks' GraphQL API: who may use it, the secret shown once and never stored where it
could leak, hostile input answered as VALIDATION (never INTERNAL), the SSRF guard at
subscription time and again at delivery time, the delivery log, test sends and redelivery."""

from __future__ import annotations

import ipaddress

import pytest

from modules.webhooks import targets
from modules.webhooks.delivery import DeliveryConfig
from tests.conftest import GraphQLClient
from tests.factories import TenantData, TenantFactory
from tests.modules.webhooks.harness import (
    Harness,
)
from tests.modules.webhooks.receiver import Receiver

FIELDS = "id url eventTypes description status statusReason secretHint signingSecret"
CREATE = f"""mutation($i: WebhookSubscriptionInput!) {{
  createWebhookSubscription(input: $i) {{ {FIELDS} }} }}"""
GET = f"query($id: ID!) {{ webhookSubscription(id: $id) {{ {FIELDS} }} }}"
PUBLIC = "https://93.184.215.14/hooks/crm"


@pytest.fixture(scope="module")
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make()


def _create(gql: GraphQLClient, tenant: TenantData, **input: object) -> dict[str, object]:
    return gql.data(CREATE, {"i": {"url": PUBLIC, "eventTypes": ["contact.created"], **input}},
                    key=tenant.keys["owner"])["createWebhookSubscription"]  # type: ignore[no-any-return]


def test_only_webhook_managers_may_see_or_change_anything(gql: GraphQLClient,
                                                          tenant: TenantData) -> None:
    sub = _create(gql, tenant)
    for role in ("manager", "viewer"):
        for query, variables in (
                ("{ webhookSubscriptions { nodes { id } } }", {}),
                ("{ webhookDeliveries { nodes { id } } }", {}),
                ("{ webhookEventTypes }", {}),
                (GET, {"id": sub["id"]}),
                (CREATE, {"i": {"url": PUBLIC, "eventTypes": ["contact.created"]}}),
                ("mutation($id: ID!) { sendTestWebhookEvent(id: $id) { id } }",
                 {"id": sub["id"]}),
                ("mutation($id: ID!) { rotateWebhookSecret(id: $id) { id } }",
                 {"id": sub["id"]})):
            error = gql.error(query, variables, key=tenant.keys[role])
            assert error["extensions"]["code"] == "FORBIDDEN", (role, query)
            assert error["extensions"]["permission"] == "webhooks:manage"


def test_the_secret_is_shown_once_and_never_stored_in_audit_or_events(
        gql: GraphQLClient, tenant: TenantData, harness: Harness) -> None:
    sub = _create(gql, tenant, description="ERP 同步")
    secret = sub["signingSecret"]
    assert isinstance(secret, str) and secret.startswith("whsec_")
    assert sub["secretHint"] == secret[:10]
    assert sub["status"] == "ACTIVE" and sub["statusReason"] is None
    assert gql.data(GET, {"id": sub["id"]}, key=tenant.keys["owner"])[
        "webhookSubscription"]["signingSecret"] is None
    listed = gql.data("{ webhookSubscriptions(first: 100) { nodes { id signingSecret } } }",
                      key=tenant.keys["owner"])["webhookSubscriptions"]["nodes"]
    assert all(n["signingSecret"] is None for n in listed)
    rotated = gql.data("mutation($id: ID!) { rotateWebhookSecret(id: $id) { signingSecret "
                       "previousSecretExpiresAt } }", {"id": sub["id"]},
                       key=tenant.keys["owner"])["rotateWebhookSecret"]
    assert rotated["signingSecret"] not in (None, secret)
    assert rotated["previousSecretExpiresAt"] is not None
    body = secret.removeprefix("whsec_")
    new_body = rotated["signingSecret"].removeprefix("whsec_")
    for table, column in (("audit_log", "coalesce(before::text, '') || after::text"),
                          ("outbox", "payload::text")):
        rows = harness.sql(f"select {column} from {table} where tenant_id = %(t)s",
                           {"t": tenant.id})
        assert rows, table
        for (text,) in rows:
            assert body[:16] not in text and new_body[:16] not in text, table


@pytest.mark.parametrize(("url", "code"), [
    ("http://93.184.215.14/hook", "insecure_url"),
    ("https://127.0.0.1/hook", "private_address"),
    ("https://10.1.2.3/hook", "private_address"),
    ("https://192.168.0.1/hook", "private_address"),
    ("https://169.254.169.254/latest/meta-data", "private_address"),
    ("https://100.100.100.200/hook", "private_address"),
    ("https://100.64.0.1/hook", "private_address"),
    ("https://[::1]/hook", "private_address"),
    ("https://[fd00:ec2::254]/hook", "private_address"),
    ("https://[fe80::1]/hook", "private_address"),
    ("https://[::ffff:10.0.0.1]/hook", "private_address"),
    ("https://[64:ff9b::7f00:1]/hook", "private_address"),
    ("https://0.0.0.0/hook", "private_address"),
    ("https://localhost/hook", "private_address"),
    ("https://user:pw@93.184.215.14/hook", "invalid_url"),
    ("https://exa mple.com/hook", "invalid_url"),
    ("https://ex\u202eample.com/hook", "invalid_url"),
    ("https://exa\u200bmple.com/hook", "invalid_url"),
    ("https://[::1/hook", "invalid_url"),
    ("https://93.184.215.14:99999/hook", "invalid_url"),
    ("javascript:alert(1)", "insecure_url"),
    ("https://no-such-host.invalid/hook", "unresolvable"),
    ("https://" + "a" * 2000 + ".com/", "too_long"),
    ("", "required"),
])
def test_refused_targets_are_validation_errors(gql: GraphQLClient, tenant: TenantData,
                                               url: str, code: str) -> None:
    error = gql.error(CREATE, {"i": {"url": url, "eventTypes": ["contact.created"]}},
                      key=tenant.keys["owner"])["extensions"]
    assert error["code"] == "VALIDATION", error
    assert error["fields"][0] == {"field": "url", "message": error["fields"][0]["message"],
                                  "code": code}


def test_hostile_input_is_refused_as_validation(gql: GraphQLClient, tenant: TenantData) -> None:
    for input, field in (
            ({"url": "https://93.184.215.14/\x00", "eventTypes": ["contact.created"]}, None),
            ({"url": PUBLIC, "eventTypes": ["contact.created"] * 5000}, "eventTypes"),
            ({"url": PUBLIC, "eventTypes": []}, "eventTypes"),
            ({"url": PUBLIC, "eventTypes": ["contact.créé", "x" * 10000]}, "eventTypes"),
            ({"url": PUBLIC, "eventTypes": ["contact.created"], "description": "x" * 201},
             "description"),
            ({"url": PUBLIC, "eventTypes": ["contact.created"], "description": "a\u202eb"},
             "description")):
        error = gql.error(CREATE, {"i": input}, key=tenant.keys["owner"])["extensions"]
        assert error["code"] == "VALIDATION", (input, error)
        if field is not None:
            assert error["field"] == field
    error = gql.error("mutation($id: ID!) { rotateWebhookSecret(id: $id, overlapHours: 100000) "
                      "{ id } }", {"id": _create(gql, tenant)["id"]},
                      key=tenant.keys["owner"])["extensions"]
    assert error["code"] == "BAD_REQUEST"


def test_addresses_refused_by_the_guard() -> None:
    for text in ("127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                 "100.64.1.1", "100.100.100.200", "0.0.0.0", "224.0.0.1", "::1", "fe80::1",
                 "fc00::1", "fd00:ec2::254", "::ffff:192.168.0.1", "64:ff9b::a00:1",
                 "2002:a00:1::1", "192.0.2.1", "198.18.0.1", "255.255.255.255"):
        assert targets.refusal(ipaddress.ip_address(text)) is not None, text
    for text in ("93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"):
        assert targets.refusal(ipaddress.ip_address(text)) is None, text


def test_the_guard_holds_again_at_delivery_time(harness: Harness, tenants: TenantFactory
                                                ) -> None:
    """A name that pointed somewhere allowed when subscribed and now resolves to loopback
    (DNS rebinding) is refused before anything is sent."""
    receiver = Receiver()
    try:
        tenant = tenants.make()
        harness.subscribe(tenant, f"http://localhost:{receiver.port}/hook", ["contact.created"])
        harness.gql.data("mutation { createContact(input: {name: \"王五\"}) { id } }",
                         key=tenant.keys["owner"])
        [delivery_id] = harness.fan_out(tenant, harness.events(tenant, "contact.created")[-1])
        outcome = harness.attempt(tenant, delivery_id, DeliveryConfig(timeout=5.0))
        assert outcome.status == "retrying"
        row = harness.delivery(delivery_id)
        assert "refused" in row["attempts"][0]["error"]
        assert receiver.requests == []
        harness.make_due(delivery_id)
        assert harness.attempt(tenant, delivery_id).status == "succeeded"  # allowed: sent
        assert len(receiver.wait_for(1)) == 1
    finally:
        receiver.close()


LOG = """query($f: WebhookDeliveryFilter) { webhookDeliveries(first: 50, filter: $f) {
  totalCount nodes { id eventType status statusDetail messageId attemptCount requestBody
  requestHeaders payload attempts { at httpStatus latencyMs error responseExcerpt manual } } } }"""


def test_test_sends_redelivery_and_the_log(harness: Harness, tenants: TenantFactory,
                                           gql: GraphQLClient) -> None:
    receiver = Receiver()
    try:
        tenant = tenants.make()
        key = tenant.keys["owner"]
        sub = harness.subscribe(tenant, receiver.url(), ["contact.created"])
        sub_id = harness.gql.data("{ webhookSubscriptions { nodes { id } } }", key=key)[
            "webhookSubscriptions"]["nodes"][0]["id"]
        test = gql.data("mutation($id: ID!) { sendTestWebhookEvent(id: $id) { id status "
                        "eventType } }", {"id": sub_id}, key=key)["sendTestWebhookEvent"]
        assert test["status"] == "PENDING" and test["eventType"] == "webhook.test"
        [row_id] = [r[0] for r in harness.sql("select id from webhook_deliveries where "
                                              "tenant_id = %(t)s", {"t": tenant.id})]
        assert harness.attempt(tenant, row_id).status == "succeeded"
        receiver.wait_for(1)

        log = gql.data(LOG, {"f": {"subscriptionId": sub_id, "status": "SUCCEEDED"}},
                       key=key)["webhookDeliveries"]
        assert log["totalCount"] == 1
        [entry] = log["nodes"]
        assert entry["attemptCount"] == 1 and entry["attempts"][0]["httpStatus"] == 200
        assert entry["requestHeaders"]["webhook-id"] == entry["messageId"]
        assert '"type":"webhook.test"' in entry["requestBody"]
        assert gql.data(LOG, {"f": {"status": "FAILED"}}, key=key)[
            "webhookDeliveries"]["totalCount"] == 0
        assert gql.data(LOG, {"f": {"eventType": "contact.created"}}, key=key)[
            "webhookDeliveries"]["totalCount"] == 0

        again = gql.data("mutation($id: ID!) { redeliverWebhook(id: $id) { status "
                         "messageId } }", {"id": entry["id"]}, key=key)["redeliverWebhook"]
        assert again == {"status": "PENDING", "messageId": entry["messageId"]}
        assert harness.attempt(tenant, row_id).status == "succeeded"
        first, second = receiver.wait_for(2)
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        assert first.body == second.body

        count = gql.data("mutation($s: ID!, $t: DateTime!) { redeliverWebhooksSince("
                         "subscriptionId: $s, since: $t) }",
                         {"s": sub_id, "t": "2000-01-01T00:00:00+00:00"},
                         key=key)["redeliverWebhooksSince"]
        assert count == 1
        actions = [n["action"] for n in gql.data(
            "{ auditLog(first: 50, filter: {entityType: \"webhook_subscription\"}) { nodes "
            "{ action } } }", key=key)["auditLog"]["nodes"]]
        assert actions.count("redelivery_requested") == 2 and "test_sent" in actions

        paused = gql.data("mutation($id: ID!) { pauseWebhookSubscription(id: $id) { status "
                          "statusReason } }", {"id": sub_id}, key=key)
        assert paused["pauseWebhookSubscription"] == {"status": "PAUSED",
                                                      "statusReason": "BY_HAND"}
        harness.make_due(row_id)
        assert not harness.attempt(tenant, row_id).sent  # held while paused
        resumed = gql.data("mutation($id: ID!) { resumeWebhookSubscription(id: $id) { status "
                           "} }", {"id": sub_id}, key=key)
        assert resumed["resumeWebhookSubscription"]["status"] == "ACTIVE"
        assert harness.attempt(tenant, row_id).status == "succeeded"
        del sub
    finally:
        receiver.close()

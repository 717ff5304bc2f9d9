"""One delivery attempt against a real HTTP receiver on loopback: Standard Webhooks signatures
(verified with the `standardwebhooks` package), secret rotation, retries and their schedule,
the order of one record's events, `410 Gone`, the circuit breaker, and what the creator may
read."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from modules.webhooks import delivery
from modules.webhooks.service import webhook_subscriptions
from tests.factories import TenantData, TenantFactory
from tests.modules.webhooks.harness import Harness
from tests.modules.webhooks.receiver import Receiver

CREATE_CONTACT = "mutation($n: String!) { createContact(input: {name: $n}) { id } }"
UPDATE_CONTACT = ("mutation($id: ID!, $t: String!) { updateContact(id: $id, input: {title: $t})"
                  " { id } }")


def _contact(h: Harness, tenant: TenantData, name: str = "王小明", key: str = "owner") -> str:
    return h.gql.data(CREATE_CONTACT, {"n": name},  # type: ignore[no-any-return]
                      key=tenant.keys[key])["createContact"]["id"]


def _deliver_latest(h: Harness, tenant: TenantData, event_type: str) -> uuid.UUID:
    event = h.events(tenant, event_type)[-1]
    ids = h.fan_out(tenant, event)
    assert len(ids) == 1, ids
    return ids[0]


def test_a_delivery_is_signed_per_standard_webhooks(harness: Harness, tenants: TenantFactory,
                                                    receiver: Receiver) -> None:
    tenant = tenants.make()
    sub = harness.subscribe(tenant, receiver.url(), ["contact.created"])
    secret = sub.revealed_secret
    assert secret.startswith("whsec_")
    contact = _contact(harness, tenant)
    delivery_id = _deliver_latest(harness, tenant, "contact.created")

    outcome = harness.attempt(tenant, delivery_id)

    assert outcome.status == "succeeded"
    [request] = receiver.wait_for(1)
    assert request.path == "/hook"
    body = Webhook(secret).verify(request.body, request.headers)
    event = harness.events(tenant, "contact.created")[-1]
    assert body == {"type": "contact.created", "timestamp": body["timestamp"],
                    "data": event.payload}
    assert body["data"]["id"] == contact
    assert request.headers["webhook-id"].startswith("msg_")
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)
    row = harness.delivery(delivery_id)
    assert row["status"] == "succeeded"
    assert row["attempt_count"] == 1 and row["response_status"] == 200
    assert row["attempts"][0]["response"] == '{"ok": true}'
    # Fanned out again (the relay delivers at least once): no second delivery.
    assert harness.fan_out(tenant, event) == []


def test_rotation_signs_with_old_and_new_secrets_during_the_overlap(
        harness: Harness, tenants: TenantFactory, receiver: Receiver) -> None:
    tenant = tenants.make()
    sub = harness.subscribe(tenant, receiver.url(), ["contact.created"])
    old = sub.revealed_secret
    rotated = harness.in_tenant(tenant.id, webhook_subscriptions.rotate_secret,
                                harness.owner_ctx(tenant), sub.id, overlap_hours=24)
    new = rotated.revealed_secret
    assert new != old and rotated.secret_hint == new[:10]
    _contact(harness, tenant)
    harness.attempt(tenant, _deliver_latest(harness, tenant, "contact.created"))
    [request] = receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):  # a receiver holding either one verifies it
        Webhook(secret).verify(request.body, request.headers)

    # Once the overlap is over, only the new secret signs.
    harness.sql_write("update webhook_subscriptions set previous_secret_expires_at = now() "
                      "- interval '1 second' where id = %(i)s", {"i": sub.id})
    _contact(harness, tenant, "李四")
    harness.attempt(tenant, _deliver_latest(harness, tenant, "contact.created"))
    request = receiver.wait_for(2)[1]
    Webhook(new).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request.body, request.headers)


def test_failures_retry_on_the_schedule_and_410_disables(
        harness: Harness, tenants: TenantFactory, receiver: Receiver) -> None:
    tenant = tenants.make()
    sub = harness.subscribe(tenant, receiver.url(), ["contact.created"])
    _contact(harness, tenant)
    delivery_id = _deliver_latest(harness, tenant, "contact.created")
    receiver.answer(500)

    outcome = harness.attempt(tenant, delivery_id)

    assert outcome.status == "retrying"
    assert outcome.retry_in is not None
    assert timedelta(seconds=4) <= outcome.retry_in <= timedelta(seconds=6)
    row = harness.delivery(delivery_id)
    assert row["status"] == "retrying" and row["response_status"] == 500
    assert row["attempts"][0]["response"] == "nope \ufffd bad"  # a NUL can't be stored
    # Not due yet: a second message does nothing.
    assert not harness.attempt(tenant, delivery_id).sent

    harness.make_due(delivery_id)
    receiver.answer(410)
    outcome = harness.attempt(tenant, delivery_id)

    assert outcome.status == "failed"
    assert harness.sql("select status, status_reason from webhook_subscriptions where id = "
                       "%(i)s", {"i": sub.id}) == [("disabled", "gone")]
    [notice] = harness.events(tenant, "webhook_subscription.disabled")
    assert notice.payload["data"]["status"] == "DISABLED"
    assert notice.payload["data"]["statusReason"] == "GONE"
    # A disabled subscription gets no new deliveries.
    _contact(harness, tenant, "李四")
    assert harness.fan_out(tenant, harness.events(tenant, "contact.created")[-1]) == []


def test_the_schedule_spans_about_three_days() -> None:
    assert delivery.MAX_ATTEMPTS == 10
    assert timedelta(hours=70) < delivery.RETRY_SPAN < timedelta(hours=74)
    delays = [delivery.retry_delay(n) for n in range(1, delivery.MAX_ATTEMPTS)]
    for got, base in zip(delays, delivery.RETRY_DELAYS, strict=True):
        assert got is not None and base * 0.8 <= got <= base * 1.2
    assert delivery.retry_delay(delivery.MAX_ATTEMPTS) is None


def test_one_records_events_arrive_in_order(harness: Harness, tenants: TenantFactory,
                                            receiver: Receiver) -> None:
    tenant = tenants.make()
    harness.subscribe(tenant, receiver.url(), ["contact.created", "contact.updated"])
    contact = _contact(harness, tenant)
    harness.gql.data(UPDATE_CONTACT, {"id": contact, "t": "经理"}, key=tenant.keys["owner"])
    first, second = (harness.fan_out(tenant, e) for e in harness.events(tenant)
                     if e.event_type.startswith("contact."))
    assert len(first) == 1 and second == []  # held back at once: the first is open
    [held] = [r[0] for r in harness.sql(
        "select id from webhook_deliveries where tenant_id = %(t)s and event_type = "
        "'contact.updated'", {"t": tenant.id})]
    receiver.answer(503)
    assert harness.attempt(tenant, first[0]).status == "retrying"
    harness.make_due(held)
    assert not harness.attempt(tenant, held).sent  # still waits for the first
    assert harness.delivery(held)["next_attempt_at"] is not None  # looked at again later

    harness.make_due(first[0])
    outcome = harness.attempt(tenant, first[0])
    assert outcome.status == "succeeded"
    assert outcome.due_now == [held]  # made due by the first's end
    assert harness.attempt(tenant, held).status == "succeeded"
    types = [json.loads(r.body)["type"] for r in receiver.wait_for(3)]
    assert types == ["contact.created", "contact.created", "contact.updated"]


def test_the_breaker_pauses_a_failing_endpoint_and_a_probe_closes_it(
        harness: Harness, tenants: TenantFactory, receiver: Receiver) -> None:
    tenant = tenants.make()
    sub = harness.subscribe(tenant, receiver.url(), ["contact.created"])
    receiver.default_status = 500
    ids = []
    for n in range(delivery.BREAKER_THRESHOLD + 1):
        _contact(harness, tenant, f"客户{n}")
        ids.append(_deliver_latest(harness, tenant, "contact.created"))
    for delivery_id in ids[:-1]:
        harness.attempt(tenant, delivery_id)
    assert harness.sql("select status, status_reason, failure_streak from "
                       "webhook_subscriptions where id = %(i)s", {"i": sub.id}) == [
        ("paused", "failing", delivery.BREAKER_THRESHOLD)]
    assert harness.events(tenant, "webhook_subscription.paused")
    # Open: the next delivery is held until the probe time, and nothing is sent.
    sent = len(receiver.requests)
    assert not harness.attempt(tenant, ids[-1]).sent
    assert len(receiver.requests) == sent

    receiver.default_status = 200
    harness.sql_write("update webhook_subscriptions set probe_at = now() where id = %(i)s",
                      {"i": sub.id})
    harness.make_due(ids[-1])
    assert harness.attempt(tenant, ids[-1]).status == "succeeded"  # the probe
    assert harness.sql("select status, failure_streak from webhook_subscriptions where id = "
                       "%(i)s", {"i": sub.id}) == [("active", 0)]


def test_failing_for_the_whole_retry_span_disables(harness: Harness, tenants: TenantFactory,
                                                   receiver: Receiver) -> None:
    tenant = tenants.make()
    sub = harness.subscribe(tenant, receiver.url(), ["contact.created"])
    _contact(harness, tenant)
    delivery_id = _deliver_latest(harness, tenant, "contact.created")
    harness.sql_write("update webhook_subscriptions set failure_streak = 1, failing_since = "
                      "now() - interval '73 hours' where id = %(i)s", {"i": sub.id})
    receiver.answer(502)
    harness.attempt(tenant, delivery_id)
    assert harness.sql("select status, status_reason from webhook_subscriptions where id = "
                       "%(i)s", {"i": sub.id}) == [("disabled", "failing")]
    assert harness.events(tenant, "webhook_subscription.disabled")

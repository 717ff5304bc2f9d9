"""Two ways a delivery could stall for good, found by review: a later event of a record held
behind an earlier one that nobody wakes, and a receiver that answers a byte at a time."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from modules.webhooks.delivery import DeliveryConfig
from modules.webhooks.models import HOLD_RECHECK
from tests.factories import TenantData, TenantFactory
from tests.modules.webhooks.harness import OPEN, Harness
from tests.modules.webhooks.receiver import Receiver

CREATE = "mutation($n: String!) { createContact(input: {name: $n}) { id } }"
UPDATE = "mutation($id: ID!, $t: String!) { updateContact(id: $id, input: {title: $t}) { id } }"


def _two_events(h: Harness, tenant: TenantData) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    contact = h.gql.data(CREATE, {"n": "顺序客户"}, key=tenant.keys["owner"])["createContact"]["id"]
    h.gql.data(UPDATE, {"id": contact, "t": "经理"}, key=tenant.keys["owner"])
    created, updated = (e for e in h.events(tenant) if e.event_type.startswith("contact."))
    return h.fan_out(tenant, created), [updated.id]


def _held(h: Harness, tenant: TenantData) -> uuid.UUID:
    return h.sql("select id from webhook_deliveries where tenant_id = %(t)s and event_type = "
                 "'contact.updated'", {"t": tenant.id})[0][0]  # type: ignore[no-any-return]


def test_a_held_delivery_is_looked_at_again_even_if_nothing_wakes_it(
        harness: Harness, tenants: TenantFactory, receiver: Receiver) -> None:
    tenant = tenants.make()
    harness.subscribe(tenant, receiver.url(), ["contact.created", "contact.updated"])
    [first], [updated_event] = _two_events(harness, tenant)
    harness.fan_out(tenant, next(e for e in harness.events(tenant) if e.id == updated_event))
    held = _held(harness, tenant)
    row = harness.delivery(held)
    # Held with a time, never none: the sweep finds it once that passes.
    assert row["status"] == "pending" and row["next_attempt_at"] is not None
    [(wait,)] = harness.sql("select next_attempt_at - now() from webhook_deliveries "
                            "where id = %(i)s", {"i": held})
    assert wait <= HOLD_RECHECK
    # The earlier one ends without waking it (as when its end could not see this row yet).
    harness.sql_write("update webhook_deliveries set status = 'succeeded', "
                      "next_attempt_at = null where id = %(i)s", {"i": first})
    harness.sql_write("update webhook_deliveries set next_attempt_at = now() - interval "
                      "'1 minute' where id = %(i)s", {"i": held})  # its hold has run out
    [(due,)] = harness.sql("select count(*) from webhook_due_deliveries("
                           "now() - interval '30 seconds', 1000) d where d.id = %(i)s",
                           {"i": held})
    assert due == 1  # the sweep sends it
    assert harness.attempt(tenant, held).status == "succeeded"


def test_an_event_fanned_out_during_the_earlier_ones_attempt_is_woken_at_its_end(
        harness: Harness, tenants: TenantFactory, receiver: Receiver) -> None:
    tenant = tenants.make()
    harness.subscribe(tenant, receiver.url(), ["contact.created", "contact.updated"])
    contact = harness.gql.data(CREATE, {"n": "并发客户"},
                               key=tenant.keys["owner"])["createContact"]["id"]
    [first] = harness.fan_out(tenant, harness.events(tenant, "contact.created")[-1])
    receiver.delay = 1.5
    with ThreadPoolExecutor(1) as pool:
        attempt = pool.submit(harness.attempt, tenant, first)
        receiver.wait_for(1)  # the first is on the wire
        harness.gql.data(UPDATE, {"id": contact, "t": "经理"}, key=tenant.keys["owner"])
        assert harness.fan_out(tenant, harness.events(tenant, "contact.updated")[-1]) == []
        outcome = attempt.result(timeout=30)
    assert outcome.status == "succeeded"
    assert outcome.due_now == [_held(harness, tenant)]  # woken by the first's end


@pytest.fixture
def dripping() -> Iterator[int]:
    """A receiver that answers 200 with a long body, one byte every half second."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
                for _ in range(60):
                    if stop.is_set():
                        break
                    try:
                        conn.sendall(b"x")
                    except OSError:
                        break
                    time.sleep(0.5)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(timeout=5)
    server.close()


def test_a_receiver_that_drips_its_answer_is_cut_off_and_the_attempt_recorded(
        harness: Harness, tenants: TenantFactory, dripping: int) -> None:
    tenant = tenants.make()
    harness.subscribe(tenant, f"http://127.0.0.1:{dripping}/hook", ["contact.created"])
    harness.gql.data(CREATE, {"n": "慢客户"}, key=tenant.keys["owner"])
    [delivery_id] = harness.fan_out(tenant, harness.events(tenant, "contact.created")[-1])
    started = time.monotonic()
    outcome = harness.attempt(tenant, delivery_id, DeliveryConfig(policy=OPEN, timeout=1.5))
    assert time.monotonic() - started < 10  # not the actor's time limit: the attempt's own
    assert outcome.status == "retrying"
    row = harness.delivery(delivery_id)
    assert row["attempt_count"] == 1
    assert "no complete answer within 1.5 s" in row["attempts"][-1]["error"]
    [(streak,)] = harness.sql("select failure_streak from webhook_subscriptions "
                              "where tenant_id = %(t)s", {"t": tenant.id})
    assert streak == 1  # it counts towards the breaker

"""The consumer runner and the relay, in-process against the real database (as the app's role):
failures retried on the next pass and given up after CONSUMER_MAX_ATTEMPTS, recorded without
secrets, effects exactly once, events in id order, one relay per tenant at a time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from infra.db import Database
from infra.settings import Settings
from tests.conftest import GraphQLClient, Servers
from tests.factories import TenantFactory
from tests.workers.harness import make_effects_table
from workers.events import CONSUMERS, Event, consumer
from workers.kit import Job
from workers.outbox import relay_batch, relay_tenant

CREATE = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"
SECRET = "hunter2-super-secret"


@pytest.fixture
def calls() -> Iterator[dict[str, list[uuid.UUID]]]:
    """Two consumers of this module's own, registered for one test: `flaky` fails its first
    two calls on each event (with a secret in the message), `broken` always fails."""
    seen: dict[str, list[uuid.UUID]] = {"flaky": [], "broken": [], "order": []}

    @consumer("test_flaky")
    async def flaky(job: Job, event: Event) -> None:
        seen["flaky"].append(event.id)
        if seen["flaky"].count(event.id) <= 2:
            raise RuntimeError(f"remote said no: password={SECRET}")
        seen["order"].append(event.id)

    @consumer("test_broken", event_types={"contact.updated"})
    async def broken(job: Job, event: Event) -> None:
        seen["broken"].append(event.id)
        raise ValueError("never works")

    yield seen
    del CONSUMERS["test_flaky"], CONSUMERS["test_broken"]


def settings_for(servers: Servers, **changes: Any) -> Settings:
    return servers.settings.model_copy(update={"consumer_max_attempts": 3,
                                               "consumer_retry_seconds": 0, **changes})


def relay(servers: Servers, tenant_id: uuid.UUID, **changes: Any) -> int:
    async def run() -> int:
        db = Database(servers.app_url, pool_size=2, max_overflow=0, read_pool_size=1)
        try:
            return await relay_tenant(db, settings_for(servers, **changes), tenant_id)
        finally:
            await db.dispose()

    return asyncio.run(run())  # type: ignore[no-any-return]


def rows(servers: Servers, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(servers.owner_dsn) as conn:
        return conn.execute(sql, args).fetchall()


def test_a_failing_consumer_is_retried_on_the_next_pass_then_done_once(
        servers: Servers, tenants: TenantFactory, gql: GraphQLClient,
        calls: dict[str, list[uuid.UUID]]) -> None:
    make_effects_table(servers)
    tenant = tenants.make()
    gql.data(CREATE, {"input": {"name": "重试"}}, key=tenant.keys["admin"])
    events = [r[0] for r in rows(servers, "select id from outbox where tenant_id = %s "
                                 "order by id", tenant.id)]
    assert relay(servers, tenant.id) == 0  # every event failed `flaky` once: none published
    assert relay(servers, tenant.id) == 0
    assert relay(servers, tenant.id) == len(events)  # third time lucky
    assert relay(servers, tenant.id) == 0  # nothing left
    assert calls["order"] == events  # once each, in id order
    # The other consumer had each event once, on the first pass, and was not asked again.
    effects = rows(servers, "select event_id from test_consumer_effects where tenant_id = %s",
                   tenant.id)
    assert sorted(e for (e,) in effects) == sorted(events)
    failures = rows(servers, "select name, attempt, error_type, error from worker_failures "
                    "where tenant_id = %s order by id", tenant.id)
    assert len(failures) == 2 * len(events)
    assert {f[:3] for f in failures} == {("consumer:test_flaky", 1, "RuntimeError"),
                                         ("consumer:test_flaky", 2, "RuntimeError")}
    assert all(SECRET not in f[3] and "remote said no" in f[3] for f in failures)


def test_a_consumer_that_never_works_gives_the_event_up_and_the_rest_goes_on(
        servers: Servers, tenants: TenantFactory, gql: GraphQLClient,
        calls: dict[str, list[uuid.UUID]]) -> None:
    make_effects_table(servers)
    tenant = tenants.make()
    made = gql.data(CREATE, {"input": {"name": "坏的"}}, key=tenant.keys["admin"])
    gql.data("mutation($id: ID!) { updateContact(id: $id, input: {title: \"经理\"}) { id } }",
             {"id": made["createContact"]["id"]}, key=tenant.keys["admin"])
    for _ in range(3):
        relay(servers, tenant.id)
    marks = rows(servers, "select consumer, outcome from consumed_events c join outbox o on "
                 "o.tenant_id = c.tenant_id and o.id = c.event_id where c.tenant_id = %s "
                 "and o.event_type = 'contact.updated'", tenant.id)
    assert ("test_broken", "gave_up") in marks and ("test_flaky", "done") in marks
    assert len(calls["broken"]) == 3  # only the update: it asked for that type alone
    assert rows(servers, "select count(*) from outbox where tenant_id = %s and "
                "published_at is null", tenant.id) == [(0,)]


def test_one_relay_per_tenant_at_a_time(servers: Servers, tenants: TenantFactory,
                                        gql: GraphQLClient) -> None:
    tenant = tenants.make()
    gql.data(CREATE, {"input": {"name": "并发"}}, key=tenant.keys["admin"])

    async def run() -> list[Any]:
        db = Database(servers.app_url, pool_size=4, max_overflow=0, read_pool_size=1)
        settings = settings_for(servers)
        try:
            async with db.engine.connect() as holder:
                await holder.begin()
                await holder.exec_driver_sql(  # as a relay in its transaction holds it
                    "select pg_advisory_xact_lock(hashtextextended(%(k)s, 0))",
                    {"k": f"outbox.relay:{tenant.id}"})
                held = await relay_batch(db, settings, tenant.id)
                await holder.rollback()
            return [held, await relay_batch(db, settings, tenant.id)]
        finally:
            await db.dispose()

    held, free = asyncio.run(run())
    assert held is None  # another relay had the tenant: this one left at once
    assert free is not None and free.published == free.claimed > 0


def test_a_consumer_that_failed_waits_its_backoff_before_the_next_attempt(
        servers: Servers, tenants: TenantFactory, gql: GraphQLClient,
        calls: dict[str, list[uuid.UUID]]) -> None:
    make_effects_table(servers)
    tenant = tenants.make()
    gql.data(CREATE, {"input": {"name": "退避"}}, key=tenant.keys["admin"])
    events = [r[0] for r in rows(servers, "select id from outbox where tenant_id = %s",
                                 tenant.id)]
    relay(servers, tenant.id, consumer_retry_seconds=3600)
    relay(servers, tenant.id, consumer_retry_seconds=3600)  # a relay soon after: not yet
    assert sorted(calls["flaky"]) == sorted(events)  # one attempt each
    assert relay(servers, tenant.id, consumer_retry_seconds=0) == 0  # its second: fails too
    assert len(calls["flaky"]) == 2 * len(events)

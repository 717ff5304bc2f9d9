"""The outbox stays small: published events past retention go, in batches, with their consumer
marks; pending events stay whatever their age; `events(…)` serves what is retained."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from infra.db import Database
from tests.conftest import GraphQLClient, Servers
from tests.factories import TenantFactory
from workers.outbox import prune_retained, uuid7_floor

EVENTS = "{ events(first: 100) { nodes { id eventType publishedAt } totalCount } }"
NOW = datetime.now(UTC)


def old_id(days: float) -> uuid.UUID:
    """A UUIDv7 of `days` ago (ids are time-ordered: retention reads their time)."""
    return uuid.UUID(int=uuid7_floor(NOW - timedelta(days=days)).int | secrets.randbits(62))


def add_event(conn: psycopg.Connection[Any], tenant_id: uuid.UUID, days: float, *,
              published: bool) -> uuid.UUID:
    event_id = old_id(days)
    at = NOW - timedelta(days=days)
    conn.execute("""insert into outbox (tenant_id, id, occurred_at, event_type, aggregate_type,
                    payload, published_at) values (%s, %s, %s, 'contact.created', 'contact',
                    '{}', %s)""", (tenant_id, event_id, at, at if published else None))
    conn.execute("insert into consumed_events (tenant_id, event_id, consumer, consumed_at) "
                 "values (%s, %s, 'test_effects', %s)", (tenant_id, event_id, at))
    return event_id


def test_published_events_past_retention_are_pruned_in_batches(
        servers: Servers, tenants: TenantFactory, gql: GraphQLClient) -> None:
    tenant = tenants.make()
    with psycopg.connect(servers.owner_dsn, autocommit=True) as conn:
        conn.execute("delete from outbox where tenant_id = %s", (tenant.id,))
        gone = [add_event(conn, tenant.id, 8 + n, published=True) for n in range(5)]
        kept_pending = add_event(conn, tenant.id, 20, published=False)
        kept_recent = add_event(conn, tenant.id, 1, published=True)
        conn.execute("""insert into worker_failures (tenant_id, id, occurred_at, name, attempt,
                        error_type, error) values (%s, %s, %s, 'x.y', 1, 'E', 'old'),
                        (%s, %s, %s, 'x.y', 1, 'E', 'new')""",
                     (tenant.id, old_id(31), NOW - timedelta(days=31),
                      tenant.id, old_id(2), NOW - timedelta(days=2)))
        conn.execute("insert into job_receipts (tenant_id, actor, key, done_at) values "
                     "(%s, 'x.y', 'old', %s), (%s, 'x.y', 'new', %s)",
                     (tenant.id, NOW - timedelta(days=8), tenant.id, NOW))

    async def run(now: datetime) -> dict[str, int]:
        db = Database(servers.app_url, pool_size=2, max_overflow=0, read_pool_size=1)
        try:  # batches of 2: three statements for the five old events
            settings = servers.settings.model_copy(update={"retention_batch": 2})
            return await prune_retained(db, settings, now=now)
        finally:
            await db.dispose()

    deleted = asyncio.run(run(NOW))
    assert deleted["outbox"] >= 5 and deleted["consumed_events"] >= 5
    assert deleted["worker_failures"] >= 1 and deleted["job_receipts"] >= 1
    with psycopg.connect(servers.owner_dsn) as conn:
        left = {r[0] for r in conn.execute("select id from outbox where tenant_id = %s",
                                           (tenant.id,))}
        marks = {r[0] for r in conn.execute(
            "select event_id from consumed_events where tenant_id = %s", (tenant.id,))}
        failures = [r[0] for r in conn.execute(
            "select error from worker_failures where tenant_id = %s", (tenant.id,))]
        receipts = [r[0] for r in conn.execute(
            "select key from job_receipts where tenant_id = %s", (tenant.id,))]
    assert left == {kept_pending, kept_recent} and not left & set(gone)
    # The pending event keeps its mark: its consumer must not run it again.
    assert marks == {kept_pending, kept_recent}
    assert failures == ["new"] and receipts == ["new"]
    listed = gql.data(EVENTS, key=tenant.keys["admin"])["events"]
    assert listed["totalCount"] == 2
    assert [n["publishedAt"] is None for n in listed["nodes"]] == [False, True]  # newest first

    # However far the caller sets the cutoff, the functions the app's role may call delete
    # nothing younger than a day.
    with psycopg.connect(servers.owner_dsn, autocommit=True) as conn:
        young = add_event(conn, tenant.id, 0.5, published=True)
    asyncio.run(run(NOW + timedelta(days=365)))
    with psycopg.connect(servers.owner_dsn) as conn:
        assert conn.execute("select count(*) from outbox where id = %s",
                            (young,)).fetchone() == (1,)
        assert conn.execute("select count(*) from consumed_events where event_id = %s",
                            (young,)).fetchone() == (1,)

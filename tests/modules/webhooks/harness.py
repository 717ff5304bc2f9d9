"""Calling the webhooks' services and one delivery attempt directly, in transactions of the
application's role scoped to a tenant, as the workers do (tests of the real worker are in
test_worker.py)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from infra.db import Database
from modules.webhooks import deliveries, delivery
from modules.webhooks.delivery import DeliveryConfig, Outcome
from modules.webhooks.service import webhook_subscriptions
from modules.webhooks.targets import TargetPolicy
from tenancy.context import Actor, CallContext
from tenancy.permissions import BUILTIN_ROLES
from tests.conftest import GraphQLClient, Servers
from tests.factories import TenantData, TenantFactory
from workers.events import Event

OPEN = TargetPolicy(allow_private=True)
LOOPBACK = DeliveryConfig(policy=OPEN, timeout=5.0)


class Harness:
    def __init__(self, servers: Servers, tenants: TenantFactory, gql: GraphQLClient) -> None:
        self.servers, self.tenants, self.gql = servers, tenants, gql
        # A loop of its own, in a thread: callable from tests whose thread runs one already
        # (Playwright's).
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.db: Database = self.run(self._db(servers.app_url))
        self.client = self.run(self._client())

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    @staticmethod
    async def _db(url: str) -> Database:
        return Database(url, pool_size=2, max_overflow=0, read_pool_size=1)

    @staticmethod
    async def _client() -> Any:
        return delivery.make_client()

    def close(self) -> None:
        self.run(self.client.aclose())
        self.run(self.db.dispose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def in_tenant(self, tenant_id: uuid.UUID, fn: Any, *args: Any, **kwargs: Any) -> Any:
        async def go() -> Any:
            async with self.db.scoped(tenant_id) as session:
                result = await fn(session, *args, **kwargs)
                await session.flush()
                return result

        return self.run(go())

    @staticmethod
    def owner_ctx(tenant: TenantData, name: str = "owner") -> CallContext:
        member = tenant.members[name]
        return CallContext(Actor("user", member.user_id, tenant.id, member.role,
                                 frozenset(BUILTIN_ROLES[member.role][1]), member.email))

    def subscribe(self, tenant: TenantData, url: str, event_types: list[str], *,
                  ctx: CallContext | None = None) -> Any:
        return self.in_tenant(tenant.id, webhook_subscriptions.create,
                              ctx or self.owner_ctx(tenant),
                              {"url": url, "event_types": event_types, "description": "测试"},
                              policy=OPEN)

    def sql(self, query: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.servers.owner_dsn) as conn:
            return conn.execute(query, params or {}).fetchall()  # type: ignore[arg-type]

    def events(self, tenant: TenantData, event_type: str | None = None) -> list[Event]:
        """The tenant's outbox, oldest first, as consumers receive it."""
        rows = self.sql("select tenant_id, id, event_type, aggregate_type, aggregate_id, "
                        "payload, occurred_at, request_id from outbox where tenant_id = %(t)s "
                        "and (%(e)s::text is null or event_type = %(e)s) order by id",
                        {"t": tenant.id, "e": event_type})
        return [Event(*row) for row in rows]

    def fan_out(self, tenant: TenantData, event: Event) -> list[uuid.UUID]:
        return self.in_tenant(tenant.id, deliveries.fan_out, event)  # type: ignore[no-any-return]

    def attempt(self, tenant: TenantData, delivery_id: uuid.UUID,
                config: DeliveryConfig = LOOPBACK) -> Outcome:
        return self.in_tenant(tenant.id, delivery.attempt, tenant.id,  # type: ignore[no-any-return]
                              delivery_id, client=self.client, config=config)

    def delivery(self, delivery_id: uuid.UUID) -> dict[str, Any]:
        with psycopg.connect(self.servers.owner_dsn) as conn:
            cur = conn.execute("select * from webhook_deliveries where id = %(i)s",
                               {"i": delivery_id})
            names = [c.name for c in cur.description or []]
            row = cur.fetchone()
            assert row is not None
            return dict(zip(names, row, strict=True))

    def make_due(self, delivery_id: uuid.UUID) -> None:
        self.sql_write("update webhook_deliveries set next_attempt_at = now() where id = %(i)s",
                       {"i": delivery_id})

    def sql_write(self, query: str, params: dict[str, Any] | None = None) -> None:
        with psycopg.connect(self.servers.owner_dsn) as conn:
            conn.execute(query, params or {})  # type: ignore[arg-type]



@contextmanager
def running(servers: Servers, tenants: TenantFactory, gql: GraphQLClient) -> Iterator[Harness]:
    h = Harness(servers, tenants, gql)
    try:
        yield h
    finally:
        h.close()

"""What the workers' status panel shows: the broker's queues (shared by every tenant: counts
only, never a message) and the caller's tenant's backlog and recent failures."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from infra.pagination import Page, SortKey, apply_keyset, build_page, counted
from infra.settings import Settings
from tenancy.audit import OutboxEvent
from tenancy.context import CallContext
from tenancy.permissions import Permission
from workers.broker import redis_namespace
from workers.models import WorkerFailure

log = structlog.get_logger("workers")
# Who may see the workers' status: the tenant's administrators (owner and admin roles).
STATUS_PERMISSION = Permission.TENANT_MANAGE


@dataclass(frozen=True)
class QueueCounts:
    name: str
    ready: int  # waiting for a worker
    in_progress: int  # taken by a worker, not yet acknowledged
    delayed: int  # waiting for their time (retries' backoff, delayed sends)
    dead: int  # dead letters: retries exhausted or an error not worth retrying


@dataclass(frozen=True)
class BrokerStatus:
    reachable: bool
    workers_online: int
    queues: list[QueueCounts]


_loaded: list[bool] = []


def known_queues(settings: Settings) -> list[str]:
    """Every queue an actor module declares (the modules are imported once, as a worker does)."""
    from workers import load_actor_modules
    from workers.kit import TASKS

    if not _loaded:
        load_actor_modules(settings)
        _loaded.append(True)
    return sorted({task.queue for task in TASKS.values()} | {"default"})


async def broker_status(redis: Any, settings: Settings, queues: list[str] | None = None
                        ) -> BrokerStatus:
    """Counts from Dramatiq's Redis keys (`workers.broker`), in one round trip."""
    ns = redis_namespace(settings)
    names = queues if queues is not None else known_queues(settings)
    try:
        pipe = redis.pipeline(transaction=False)
        pipe.zcount(f"{ns}:__heartbeats__",
                    int(time.time() * 1000) - settings.worker_heartbeat_timeout_ms, "+inf")
        for name in names:
            pipe.llen(f"{ns}:{name}")
            pipe.hlen(f"{ns}:{name}.msgs")
            pipe.hlen(f"{ns}:{name}.DQ.msgs")
            pipe.zcard(f"{ns}:{name}.XQ")
        found = await pipe.execute()
    except Exception as error:  # noqa: BLE001 - a panel shows Redis down; it does not fail
        log.warning("broker status unavailable", error=type(error).__name__)
        return BrokerStatus(False, 0, [])
    online, counts = found[0], found[1:]
    queue_counts = []
    for i, name in enumerate(names):
        ready, held, delayed, dead = counts[i * 4:i * 4 + 4]
        queue_counts.append(QueueCounts(name, ready, max(held - ready, 0), delayed, dead))
    # Heartbeats come from every broker that consumes: the server's, which never does, has none.
    return BrokerStatus(True, int(online), queue_counts)


@dataclass(frozen=True)
class Backlog:
    pending_events: int
    oldest_pending_at: datetime | None


async def tenant_backlog(session: AsyncSession, ctx: CallContext) -> Backlog:
    """The tenant's outbox events not yet relayed to every consumer."""
    ctx.require(STATUS_PERMISSION)
    row = (await session.execute(
        select(func.count(), func.min(OutboxEvent.occurred_at)).where(
            OutboxEvent.tenant_id == ctx.tenant_id, OutboxEvent.published_at.is_(None)))).one()
    return Backlog(int(row[0]), row[1])


FAILURES_SORT = SortKey("ID_DESC", (WorkerFailure.id,), (uuid.UUID,), True)


def _failures(ctx: CallContext) -> Any:
    ctx.require(STATUS_PERMISSION)
    return select(WorkerFailure).where(WorkerFailure.tenant_id == ctx.tenant_id)


async def recent_failures(session: AsyncSession, ctx: CallContext, *, first: int,
                          after: str | None) -> Page[WorkerFailure]:
    """The tenant's failed attempts of actors and consumers, newest first."""
    rows = list((await session.scalars(
        apply_keyset(_failures(ctx), FAILURES_SORT, after, first))).all())
    return build_page(rows, lambda r: (r.id,), first, after)


async def count_failures(session: AsyncSession, ctx: CallContext) -> int:
    return int(await session.scalar(counted(_failures(ctx))) or 0)

"""The outbox relay: every committed event reaches every consumer, and the table stays small.

- **Trigger.** When a transaction that wrote outbox rows commits (a request's, a job's), one
  `outbox.relay(tenant_id)` message is sent, after the commit and never inside it. The writes
  are noticed where they happen, on the ORM session (`do_orm_execute`), so no service has to
  remember; a failure to send is logged and left to the sweep.
- **Relay.** Per tenant, one relay at a time (a transaction-scoped advisory lock; a relay that
  finds it taken leaves, and the holder looks again after releasing it). It claims pending rows
  in id order (`FOR UPDATE SKIP LOCKED`), runs each consumer on each event in a savepoint with
  its `consumed_events` mark (`workers.events`), and marks `published_at` on the events every
  consumer has had, all in one transaction, then sends the consumers' follow-ups.
- **Sweep** (`outbox.sweep`, every OUTBOX_SWEEP_SECONDS): relays every tenant with rows pending
  for longer than OUTBOX_SWEEP_GRACE_SECONDS (Redis down at commit, a worker killed mid-batch,
  a consumer that failed), found through `outbox_pending_tenants`, migration 0004.
- **Retention** (`outbox.prune`, every RETENTION_SWEEP_SECONDS): deletes, in batches, published
  events older than OUTBOX_RETENTION_DAYS with their `consumed_events` marks, receipts as old,
  and failures older than WORKER_FAILURES_RETENTION_DAYS. Pending events are never deleted.
"""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import dramatiq
import structlog
from sqlalchemy import event as orm_event
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from infra.db import Database, UnitOfWork, after_commit
from infra.settings import Settings
from tenancy.audit import OutboxEvent
from tenancy.context import system_context
from workers.events import CONSUMERS, Event
from workers.kit import (
    FollowUp,
    Job,
    actor,
    database,
    record_failure,
    runtime,
    send,
    send_after_commit,
)
from workers.models import ConsumedEvent, WorkerFailure
from workers.schedule import periodic

log = structlog.get_logger("outbox")


# -- the trigger ---------------------------------------------------------------------------

# The broker a committed transaction's relay goes to: the server sets its own per request
# (`relay_through`); a worker process uses the process's broker.
_relay_broker: contextvars.ContextVar[dramatiq.Broker | None] = contextvars.ContextVar(
    "relay_broker", default=None)
_process_broker: list[dramatiq.Broker] = []


def relay_through(broker: dramatiq.Broker | None) -> contextvars.Token[dramatiq.Broker | None]:
    """Send the relays of this context's commits through `broker` (None: send none)."""
    return _relay_broker.set(broker)


def relay_from_this_process(broker: dramatiq.Broker) -> None:
    """Worker processes: relays of their jobs' commits go through their own broker."""
    _process_broker[:] = [broker]


def _broker() -> dramatiq.Broker | None:
    return _relay_broker.get() or (_process_broker[0] if _process_broker else None)


def _notice_outbox_writes(state: ORMExecuteState) -> None:
    if not state.is_insert or state.bind_mapper is not OutboxEvent.__mapper__:
        return
    tenant_id = state.session.info.get("tenant_id")
    broker = _broker()
    if tenant_id is None or broker is None:
        return  # a platform command (no unit of work), or no broker: the sweep relays it
    after_commit(state.session, ("outbox.relay", tenant_id),  # type: ignore[arg-type]
                 partial(trigger_relay, broker, tenant_id))


orm_event.listen(Session, "do_orm_execute", _notice_outbox_writes)


_sending: set[asyncio.Future[None]] = set()


async def trigger_relay(broker: dramatiq.Broker, tenant_id: uuid.UUID) -> None:
    """Send the tenant's relay from a thread, without waiting for it: a slow or unreachable
    Redis delays no response (the transaction has committed; the sweep relays what is lost)."""
    future = asyncio.get_running_loop().run_in_executor(None, _send_relay, broker, tenant_id)
    _sending.add(future)
    future.add_done_callback(_sending.discard)


# Commits of one tenant share a relay that has been sent and has not started yet: the first
# sets this key (SET NX), the relay deletes it as it starts, so every commit before the
# deletion is seen by that relay and those after send another. The expiry bounds the wait of a
# relay that stays queued long (a backlog): past it, commits send again.
RELAY_DUE_MS = 10_000


def _relay_due_key(broker: dramatiq.Broker, tenant_id: uuid.UUID) -> str:
    return f"{getattr(broker, 'namespace', 'dramatiq')}:outbox.relay-due:{tenant_id}"


def _send_relay(broker: dramatiq.Broker, tenant_id: uuid.UUID) -> None:
    client = getattr(broker, "client", None)
    key = _relay_due_key(broker, tenant_id)
    try:
        if client is not None and not client.set(key, b"1", nx=True, px=RELAY_DUE_MS):
            return  # a relay is on its way and has not started: it will see this commit
        try:
            send(relay.message(tenant_id), broker=broker)
        except Exception:
            if client is not None:
                client.delete(key)  # no relay is on its way after all
            raise
    except Exception as error:  # noqa: BLE001 - committed already: the sweep will relay it
        log.warning("outbox relay not triggered; the sweep will relay", tenant_id=str(tenant_id),
                    error=type(error).__name__)


def _relay_starting(tenant_id: uuid.UUID) -> None:
    """Before the relay reads anything: commits from now on send a relay of their own."""
    broker = dramatiq.get_broker()
    client = getattr(broker, "client", None)
    if client is None:
        return
    try:
        client.delete(_relay_due_key(broker, tenant_id))
    except Exception as error:  # noqa: BLE001 - the key expires; the sweep covers the rest
        log.warning("relay-due key not cleared", tenant_id=str(tenant_id),
                    error=type(error).__name__)


# -- the relay -----------------------------------------------------------------------------

@dataclass
class Batch:
    claimed: int = 0
    published: int = 0
    failing: set[uuid.UUID] = field(default_factory=set)
    follow_ups: list[FollowUp] = field(default_factory=list)


@actor("outbox.relay", queue="outbox", tenant=False, time_limit=timedelta(minutes=5),
       max_retries=5, max_age=timedelta(hours=1))
async def relay(tenant_id: str) -> None:
    """Relay a tenant's pending events (a transient failure is retried; anything else waits
    for the sweep, and a message older than an hour is dropped: the sweep has it)."""
    await asyncio.to_thread(_relay_starting, uuid.UUID(tenant_id))
    await relay_tenant(database(), runtime.get_settings(), uuid.UUID(tenant_id))


async def relay_tenant(db: Database, settings: Settings, tenant_id: uuid.UUID) -> int:
    """Relay until nothing relayable is pending; the number of events published."""
    failing: set[uuid.UUID] = set()
    published = 0
    while True:
        batch = await relay_batch(db, settings, tenant_id, skip=failing)
        if batch is None:
            return published  # another relay has the tenant: it looks again when it is done
        published += batch.published
        failing |= batch.failing
        if batch.claimed >= settings.outbox_relay_batch:
            continue
        # Rows committed while this relay held the lock may have had their trigger turned
        # away: look again now the lock is released.
        if not await _pending(db, tenant_id, skip=failing):
            return published


async def _pending(db: Database, tenant_id: uuid.UUID, *, skip: set[uuid.UUID]) -> bool:
    async with db.scoped(tenant_id) as session:
        stmt = select(OutboxEvent.id).where(OutboxEvent.tenant_id == tenant_id,
                                            OutboxEvent.published_at.is_(None))
        if skip:
            stmt = stmt.where(OutboxEvent.id.not_in(skip))
        return (await session.scalar(stmt.limit(1))) is not None


async def relay_batch(db: Database, settings: Settings, tenant_id: uuid.UUID, *,
                      skip: set[uuid.UUID] | None = None) -> Batch | None:
    """One transaction: claim up to OUTBOX_RELAY_BATCH pending events, hand each to each
    consumer, publish those every consumer has had. None if another relay holds the tenant."""
    uow = UnitOfWork(db)
    uow.scope(tenant_id)
    try:
        batch = await uow.run(_relay, settings, tenant_id, skip or set())
        await uow.commit()
    finally:
        await uow.rollback()  # nothing after a commit; frees the connection on any failure
    if batch is not None:
        await send_after_commit(batch.follow_ups)
    return batch


_LOCK = text("select pg_try_advisory_xact_lock(hashtextextended(:key, 0))")


async def _relay(session: AsyncSession, settings: Settings, tenant_id: uuid.UUID,
                 skip: set[uuid.UUID]) -> Batch | None:
    if not await session.scalar(_LOCK, {"key": f"outbox.relay:{tenant_id}"}):
        return None
    stmt = select(OutboxEvent).where(OutboxEvent.tenant_id == tenant_id,
                                     OutboxEvent.published_at.is_(None))
    if skip:
        stmt = stmt.where(OutboxEvent.id.not_in(skip))
    rows = list((await session.scalars(
        stmt.order_by(OutboxEvent.id).limit(settings.outbox_relay_batch)
        .with_for_update(skip_locked=True))).all())
    batch = Batch(claimed=len(rows))
    if not rows:
        return batch
    had = {(event_id, name) for event_id, name in (await session.execute(
        select(ConsumedEvent.event_id, ConsumedEvent.consumer).where(
            ConsumedEvent.tenant_id == tenant_id,
            ConsumedEvent.event_id.in_([r.id for r in rows])))).all()}
    # Consumers that failed some of these events: how often, and when last.
    failed = {(event_id, name): (int(count), last) for event_id, name, count, last in (
        await session.execute(
            select(WorkerFailure.event_id, WorkerFailure.name, func.count(),
                   func.max(WorkerFailure.occurred_at))
            .where(WorkerFailure.tenant_id == tenant_id,
                   WorkerFailure.event_id.in_([r.id for r in rows]),
                   WorkerFailure.name.like("consumer:%"))
            .group_by(WorkerFailure.event_id, WorkerFailure.name))).all()}
    now = await session.scalar(select(func.now())) if failed else None
    ctx = system_context(tenant_id, request_id="outbox.relay")
    done: list[uuid.UUID] = []
    for row in rows:
        event = Event(tenant_id=tenant_id, id=row.id, event_type=row.event_type,
                      aggregate_type=row.aggregate_type, aggregate_id=row.aggregate_id,
                      payload=row.payload, occurred_at=row.occurred_at,
                      request_id=row.request_id)
        complete = True
        for consumer in CONSUMERS.values():
            if consumer.event_types is not None and event.event_type not in consumer.event_types:
                continue
            if (row.id, consumer.name) in had:
                continue
            attempts, last = failed.get((row.id, f"consumer:{consumer.name}"), (0, None))
            if last is not None and now is not None and \
                    now < last + retry_delay(settings, attempts):
                complete = False  # failed lately: its next attempt waits its turn
                continue
            if not await _consume(session, settings, ctx, consumer.name, event, batch,
                                  attempts=attempts):
                complete = False
        if complete:
            done.append(row.id)
        else:
            batch.failing.add(row.id)
    if done:
        await session.execute(update(OutboxEvent).where(
            OutboxEvent.tenant_id == tenant_id, OutboxEvent.id.in_(done))
            .values(published_at=func.now()))
    batch.published = len(done)
    return batch


def retry_delay(settings: Settings, failures: int) -> timedelta:
    """How long a consumer that failed an event `failures` times waits for its next attempt:
    CONSUMER_RETRY_SECONDS, times four after each failure, at most an hour."""
    return timedelta(seconds=min(settings.consumer_retry_seconds * 4 ** (failures - 1), 3600))


async def _consume(session: AsyncSession, settings: Settings, ctx: Any, name: str,
                   event: Event, batch: Batch, *, attempts: int) -> bool:
    """One consumer on one event, in a savepoint with its mark; False if it must be retried.
    `attempts`: how often it has failed this event before."""
    consumer = CONSUMERS[name]
    job = Job(session, ctx, f"consumer:{name}", str(event.id))
    try:
        async with session.begin_nested():
            await session.execute(insert(ConsumedEvent).values(
                tenant_id=event.tenant_id, event_id=event.id, consumer=name))
            await asyncio.wait_for(consumer.handle(job, event),
                                   timeout=settings.consumer_timeout_seconds)
    except Exception as error:  # noqa: BLE001 - recorded, retried on a later pass
        attempts += 1
        await record_failure(None, event.tenant_id, job.name, error, event_id=event.id,
                             attempt=attempts, session=session)
        if attempts < settings.consumer_max_attempts:
            return False
        log.error("consumer gave an event up", consumer=name, event_id=str(event.id),
                  event_type=event.event_type, attempts=attempts)
        await session.execute(insert(ConsumedEvent).values(
            tenant_id=event.tenant_id, event_id=event.id, consumer=name, outcome="gave_up"))
        return True
    batch.follow_ups.extend(job.follow_ups)
    return True


# -- the sweep and retention ---------------------------------------------------------------

@periodic("outbox.sweep", every=lambda s: timedelta(seconds=s.outbox_sweep_seconds),
          time_limit=timedelta(minutes=2))
async def sweep() -> None:
    """Relay every tenant whose events have waited longer than the grace period."""
    settings = runtime.get_settings()
    tenants = await pending_tenants(database(), settings)
    for tenant_id in tenants:
        await relay.send_async(tenant_id)
    if tenants:
        log.info("outbox sweep", tenants=len(tenants))


async def pending_tenants(db: Database, settings: Settings, *, limit: int = 10_000
                          ) -> list[uuid.UUID]:
    before = datetime.now(UTC) - timedelta(seconds=settings.outbox_sweep_grace_seconds)
    async with db.scoped(None) as session:
        return list((await session.scalars(
            text("select outbox_pending_tenants(:before, :limit)"),
            {"before": before, "limit": limit})).all())


def uuid7_floor(moment: datetime) -> uuid.UUID:
    """The smallest UUIDv7 of `moment`'s millisecond: ids below it are older."""
    millis = int(moment.timestamp() * 1000)
    return uuid.UUID(int=(millis << 80) | (0x7 << 76) | (0b10 << 62))


@periodic("outbox.prune", every=lambda s: timedelta(seconds=s.retention_sweep_seconds),
          time_limit=timedelta(minutes=10))
async def prune() -> None:
    deleted = await prune_retained(database(), runtime.get_settings())
    if any(deleted.values()):
        log.info("retention", **deleted)


async def prune_retained(db: Database, settings: Settings, *, now: datetime | None = None
                         ) -> dict[str, int]:
    """Delete, batch by batch, what retention no longer keeps; how many rows of each table."""
    now = now or datetime.now(UTC)
    events_before = now - timedelta(days=settings.outbox_retention_days)
    failures_before = now - timedelta(days=settings.worker_failures_retention_days)
    plans: dict[str, tuple[str, Any]] = {
        "outbox": ("prune_outbox", uuid7_floor(events_before)),
        "consumed_events": ("prune_consumed_events", uuid7_floor(events_before)),
        "job_receipts": ("prune_job_receipts", events_before),
        "worker_failures": ("prune_worker_failures", uuid7_floor(failures_before)),
    }
    deleted: dict[str, int] = {}
    for table, (function, before) in plans.items():
        deleted[table] = 0
        while True:
            async with db.scoped(None) as session:
                n = await session.scalar(text(f"select {function}(:before, :limit)"),
                                         {"before": before, "limit": settings.retention_batch})
            deleted[table] += n or 0
            if (n or 0) < settings.retention_batch:
                break
    return deleted

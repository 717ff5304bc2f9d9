"""How to write an actor: `@actor("area.verb", ...)` on `async def fn(job, *ids)`.

An actor takes ids only (strings: the tenant's, then record ids), runs in its own unit of work
scoped to the tenant (row-level security in force, as for a request), acts as the `system`
actor of that tenant (its audit rows say so, with the message id as request id), commits when
it returns, and only then sends the follow-up messages it asked for (`job.send_after_commit`):
a rolled-back effect sends nothing. Retries are for transient errors only (`retry_when`), with
a time limit and a retry budget chosen by each actor. See docs/workers.md.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeAlias

import dramatiq
import psycopg
import redis
import sqlalchemy.exc
import structlog
from dramatiq import Message
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import CurrentMessage, TimeLimitExceeded
from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from infra.db import Database, UnitOfWork
from infra.logging import redact_text
from infra.settings import Settings, get_settings
from tenancy.context import CallContext, system_context
from workers.models import JobReceipt, WorkerFailure

log = structlog.get_logger("workers")

ActorFn: TypeAlias = Callable[..., Awaitable[None]]
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
# An argument is an id: a UUID, or a short token of a business key (no spaces, no payloads).
_ID = re.compile(r"^[A-Za-z0-9_.:@+=-]{1,200}$")


class RetryLater(Exception):  # noqa: N818 - reads as what the actor asks for
    """Raise for a transient condition the actor knows of (a remote 503, a lock held): the
    message is retried with backoff, within its `max_retries`."""


# Errors that say "try again later" whatever raised them; any other error is a bug or bad
# data, and retrying it would only repeat it (it goes to the dead-letter queue at once).
TRANSIENT: tuple[type[BaseException], ...] = (
    RetryLater, TimeLimitExceeded, TimeoutError, ConnectionError, redis.ConnectionError,
    redis.TimeoutError, psycopg.OperationalError, sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
)


def is_transient(error: BaseException) -> bool:
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected):
        return True
    cause = getattr(error, "orig", None)
    return isinstance(error, TRANSIENT) or (cause is not None and is_transient(cause))


class _Runtime:
    """This process's settings and database, made on first use inside the worker's event loop
    (the async engine's connections belong to the loop that opened them)."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.db: Database | None = None

    def configure(self, settings: Settings, db: Database | None = None) -> None:
        self.settings, self.db = settings, db

    def get_settings(self) -> Settings:
        if self.settings is None:
            self.settings = get_settings()
        return self.settings

    def database(self) -> Database:
        if self.db is None:
            from infra.embedded import derive_app_url, normalise_db_url

            settings = self.get_settings()
            if settings.app_database_url:
                url = normalise_db_url(settings.app_database_url)
            elif settings.database_url:
                url = derive_app_url(normalise_db_url(settings.database_url), settings)
            else:
                raise RuntimeError("workers need DATABASE_URL (or APP_DATABASE_URL): "
                                   "`crm worker` sets it, embedded servers included")
            self.db = Database(url, pool_size=max(2, settings.worker_threads), max_overflow=2,
                               read_pool_size=1)
        return self.db


runtime = _Runtime()


def database() -> Database:
    """The application role's database in a worker process (for actors that are not
    tenant-scoped and open their own transactions, like the outbox sweep)."""
    return runtime.database()


@dataclass(frozen=True)
class FollowUp:
    message: Message[Any]
    delay: timedelta | None = None


@dataclass
class Job:
    """What a tenant-scoped actor (and an event consumer) works with: the transaction's
    session with the tenant set, the system caller of that tenant for services, the message id
    (stable across retries: an idempotency key) and the follow-ups to send after commit."""

    session: AsyncSession
    ctx: CallContext
    name: str
    message_id: str
    retries: int = 0
    follow_ups: list[FollowUp] = field(default_factory=list)

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.ctx.tenant_id

    def send_after_commit(self, task: Task, *ids: str | uuid.UUID,
                          delay: timedelta | None = None) -> None:
        """Send `task` once this job's transaction has committed; nothing if it rolls back."""
        self.follow_ups.append(FollowUp(task.message(*ids), delay))

    async def once(self, key: str | None = None) -> bool:
        """True the first time this actor runs with `key` (default: the message id) in this
        tenant, in this transaction; False after a commit that said True. Keeps an effect
        that is not idempotent by itself (an email, a counter) to one commit."""
        done = await self.session.execute(
            pg_insert(JobReceipt).values(tenant_id=self.tenant_id, actor=self.name,
                                         key=key or self.message_id)
            .on_conflict_do_nothing().returning(JobReceipt.key))
        return done.first() is not None


def _ids(args: tuple[str | uuid.UUID, ...]) -> list[str]:
    ids = []
    for arg in args:
        if isinstance(arg, uuid.UUID):
            arg = str(arg)
        if not isinstance(arg, str) or not _ID.match(arg):
            raise TypeError("actors take ids (UUIDs or short keys), never objects or payloads: "
                            "store the data and pass its id")
        ids.append(arg)
    return ids


class Task:
    """An actor as the rest of the code sees it: `task.send(tenant_id, record_id)`.

    Bound to the process's broker on first use (or by `bind_all` in a worker), so modules can
    declare actors at import before any broker is configured."""

    def __init__(self, fn: ActorFn, name: str, *, queue: str, tenant: bool,
                 options: dict[str, Any]) -> None:
        self.fn, self.name, self.queue, self.tenant = fn, name, queue, tenant
        self.options = options
        self._actors: dict[int, dramatiq.Actor[Any, Any]] = {}

    def __repr__(self) -> str:
        return f"Task({self.name!r})"

    def actor(self, broker: dramatiq.Broker | None = None) -> dramatiq.Actor[Any, Any]:
        broker = broker or dramatiq.get_broker()
        found = self._actors.get(id(broker))
        if found is None or found.broker is not broker:
            found = dramatiq.Actor(self._entry, broker=broker, actor_name=self.name,
                                   queue_name=self.queue, priority=0, options=self.options)
            self._actors[id(broker)] = found
        return found

    def message(self, *ids: str | uuid.UUID) -> Message[Any]:
        return Message(queue_name=self.queue, actor_name=self.name, args=tuple(_ids(ids)),
                       kwargs={}, options={})

    def send(self, *ids: str | uuid.UUID, delay: timedelta | None = None,
             broker: dramatiq.Broker | None = None) -> Message[Any]:
        """Enqueue now (blocking on Redis: in async code use `send_async`, in a transaction
        `job.send_after_commit`)."""
        return send(self.message(*ids), delay=delay, broker=broker)

    async def send_async(self, *ids: str | uuid.UUID, delay: timedelta | None = None,
                         broker: dramatiq.Broker | None = None) -> Message[Any]:
        return await asyncio.to_thread(self.send, *ids, delay=delay, broker=broker)

    def _entry(self, *args: str) -> None:
        """What Dramatiq calls in a worker thread: the coroutine on the process's loop."""
        message = CurrentMessage.get_current_message()
        loop = get_event_loop_thread()
        if loop is None:
            raise RuntimeError("the AsyncIO middleware is not running (workers.broker)")
        loop.run_coroutine(self._run(message, *args))

    async def _run(self, message: Message[Any] | None, *args: str) -> None:
        message_id = message.message_id if message else uuid.uuid4().hex
        retries = int(message.options.get("retries", 0)) if message else 0
        structlog.contextvars.bind_contextvars(actor=self.name, message_id=message_id)
        if not self.tenant:
            await self.fn(*args)
            return
        tenant_id, *ids = args
        await run_in_tenant(self.name, uuid.UUID(tenant_id), message_id, retries,
                            lambda job: self.fn(job, *ids))


TASKS: dict[str, Task] = {}


def actor(
    name: str,
    *,
    time_limit: timedelta,
    max_retries: int,
    queue: str = "default",
    max_age: timedelta | None = None,
    min_backoff: timedelta = timedelta(seconds=5),
    max_backoff: timedelta = timedelta(minutes=30),
    tenant: bool = True,
    retry_when: Callable[[BaseException], bool] = is_transient,
) -> Callable[[ActorFn], Task]:
    """Declare an actor. `name` is dotted (`imports.run_batch`); with `tenant=True` (the rule)
    the function is `async def fn(job: Job, *ids: str)` and is sent `(tenant_id, *ids)`; with
    `tenant=False` (platform jobs: sweeps, retention) it is `async def fn(*ids: str)`.

    `time_limit` and `max_retries` have no defaults: choose them. A failure is retried only
    when `retry_when(error)` (transient errors, `RetryLater`), with exponential backoff from
    `min_backoff` to `max_backoff`; `max_age` drops a message that waited longer."""
    if not _NAME.match(name):
        raise ValueError(f"actor names are dotted, lower-case: 'area.verb', not {name!r}")

    def retry(retries: int, error: BaseException) -> bool:
        return retries < max_retries and retry_when(error)

    options: dict[str, Any] = {
        "time_limit": int(time_limit.total_seconds() * 1000), "max_retries": max_retries,
        "min_backoff": int(min_backoff.total_seconds() * 1000),
        "max_backoff": int(max_backoff.total_seconds() * 1000), "retry_when": retry}
    if max_age is not None:
        options["max_age"] = int(max_age.total_seconds() * 1000)

    def declare(fn: ActorFn) -> Task:
        if name in TASKS:
            raise ValueError(f"actor {name!r} is declared twice")
        task = Task(fn, name, queue=queue, tenant=tenant, options=options)
        TASKS[name] = task
        return task

    return declare


def bind_all(broker: dramatiq.Broker) -> None:
    """Declare every task on `broker` (a worker consumes the queues declared on its broker)."""
    for task in TASKS.values():
        task.actor(broker)


def send(message: Message[Any], *, delay: timedelta | None = None,
         broker: dramatiq.Broker | None = None) -> Message[Any]:
    broker = broker or dramatiq.get_broker()
    task = TASKS.get(message.actor_name)
    if task is not None:
        task.actor(broker)  # declares its queue on this broker
    return broker.enqueue(message, delay=int(delay.total_seconds() * 1000) if delay else None)


async def send_after_commit(follow_ups: list[FollowUp]) -> None:
    """Send what a committed job asked for. A failure here is logged, not raised: the effect
    has committed, and whatever needs the message must be found again by a sweep."""
    for follow_up in follow_ups:
        try:
            await asyncio.to_thread(send, follow_up.message, delay=follow_up.delay)
        except Exception as error:  # noqa: BLE001
            log.warning("follow-up not sent", follow_up=follow_up.message.actor_name,
                        error=type(error).__name__)


async def run_in_tenant(name: str, tenant_id: uuid.UUID, message_id: str, retries: int,
                        work: Callable[[Job], Awaitable[None]]) -> None:
    """One job's unit of work in a tenant: run, commit, then send the follow-ups; on failure
    roll back and record the failure (in a transaction of its own) before re-raising."""
    db = database()
    uow = UnitOfWork(db)
    uow.scope(tenant_id)
    ctx = system_context(tenant_id, request_id=f"job:{message_id}"[:64])
    follow_ups: list[FollowUp] = []

    async def body(session: AsyncSession) -> None:
        job = Job(session, ctx, name, message_id, retries, follow_ups)
        await work(job)

    try:
        await uow.run(body)
        await uow.commit()
    except BaseException as error:
        await uow.rollback()
        if isinstance(error, Exception):
            await record_failure(db, tenant_id, name, error, message_id=message_id,
                                 attempt=retries + 1)
        raise
    await send_after_commit(follow_ups)


def error_text(error: BaseException) -> str:
    """An error as a failure row and a log line may show it: its type and redacted message."""
    return redact_text(f"{type(error).__name__}: {error}")[:1000]


async def record_failure(db: Database | None, tenant_id: uuid.UUID, name: str,
                         error: BaseException, *, message_id: str | None = None,
                         event_id: uuid.UUID | None = None, attempt: int = 1,
                         session: AsyncSession | None = None) -> None:
    """A row of the tenant's recent failures (the status panel), and a log line; never raises."""
    log.warning("job failed", job=name, tenant_id=str(tenant_id), attempt=attempt,
                event_id=str(event_id) if event_id else None, error=error_text(error))
    values = dict(tenant_id=tenant_id, name=name, event_id=event_id,
                  message_id=message_id[:64] if message_id else None, attempt=attempt,
                  error_type=type(error).__name__[:200], error=error_text(error))
    try:
        if session is not None:
            await session.execute(insert(WorkerFailure).values(**values))
            return
        async with (db or database()).scoped(tenant_id) as own:
            await own.execute(insert(WorkerFailure).values(**values))
    except Exception as failed:  # noqa: BLE001 - the database may be why it failed
        log.warning("failure not recorded", job=name, error=type(failed).__name__)

"""One request's (or job's) transaction, begun lazily, with its tenant set before its first
statement, whoever sends it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncSession,
)

from infra.db.engine import Database
from infra.db.statements import (
    SET_SCOPE_SQL,
    NeedsTransaction,
    ReadSession,
    statement_listeners,
)

P = ParamSpec("P")
T = TypeVar("T")


def _scope_before_first_statement(session: AsyncSession) -> Callable[..., None]:
    """A `before_cursor_execute` hook: the transaction's pending `set_config`, sent on the same
    cursor just before the first ORM statement (a statement sent without it would see nothing,
    so forgetting it would fail closed; here nothing can forget it)."""

    def hook(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
             executemany: bool) -> None:
        pending = session.info.pop("pending_scope", None)
        if pending is not None:
            for listener in statement_listeners:
                listener(SET_SCOPE_SQL)
            cursor.execute(SET_SCOPE_SQL, pending)

    return hook


class UnitOfWork:
    """One request's transaction, begun lazily on first use, with its tenant already set.

    It holds one pooled connection for the request; the ORM session that services receive is
    bound to it, and `fetch` runs statements on its psycopg connection directly, all in the same
    transaction. Strawberry resolves sibling fields concurrently and one connection cannot run
    two statements at once, so every use goes through `run`, which serialises them on a lock.
    Services only flush; the edge (the GraphQL endpoint, a job runner) commits or rolls back.

    `read_only=True` is the read lane, for work known to only read through `fetch` (compiled
    query plans): an autocommit connection from the read pool, no ORM session, each statement
    its own one-round-trip transaction with the tenant set (see `fetch`). Anything else raises
    `NeedsTransaction` before it runs, and the caller answers in an ordinary unit of work.
    """

    def __init__(self, db: Database, *, read_only: bool = False) -> None:
        self._db = db
        self._connection: AsyncConnection | None = None
        self._session: AsyncSession | None = None
        self._reader: psycopg.AsyncConnection[Any] | None = None
        self.read_only = read_only
        self._lock = asyncio.Lock()
        self.tenant_id: uuid.UUID | None = None
        self.after_commit: list[Callable[[], Awaitable[None]]] = []

    @property
    def in_transaction(self) -> bool:
        """Whether it holds a connection now (its transaction begun, or the read lane's)."""
        return self._session is not None

    def scope(self, tenant_id: uuid.UUID | None) -> None:
        if self._session is not None and tenant_id != self.tenant_id:
            raise RuntimeError("the tenant of an open transaction cannot change")
        self.tenant_id = tenant_id

    async def _ensure(self) -> AsyncSession:
        if self.read_only:
            if self._session is None:
                self._reader = await self._db.read_connection()
                self._session = ReadSession(self._reader, self.tenant_id)  # type: ignore[assignment]
            return self._session  # type: ignore[return-value]
        if self._session is None:
            connection = await self._db.engine.connect()
            try:
                await connection.begin()
                raw = await connection.get_raw_connection()
            except BaseException:
                await connection.close()
                raise
            self._connection = connection
            session = AsyncSession(bind=connection, expire_on_commit=False, autoflush=False)
            session.info["driver"] = raw.driver_connection
            session.info["tenant_id"] = self.tenant_id  # for after-commit work (workers.outbox)
            # Sent before the transaction's first statement, whoever sends it: by `fetch` in
            # the same round trip, or by this hook before the ORM's first statement.
            session.info["pending_scope"] = {
                "tenant_id": str(self.tenant_id) if self.tenant_id else ""}
            event.listen(connection.sync_connection, "before_cursor_execute",
                         _scope_before_first_statement(session))
            self._session = session
        return self._session

    async def run(
        self,
        fn: Callable[Concatenate[AsyncSession, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        if self.read_only and not getattr(fn, "reads_only", False):
            raise NeedsTransaction(getattr(fn, "__qualname__", "a function"))
        async with self._lock:
            session = await self._ensure()
            return await fn(session, *args, **kwargs)

    async def run_atomic(
        self,
        fn: Callable[Concatenate[AsyncSession, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Like `run`, inside a savepoint: a failing write leaves nothing half-written behind."""
        if self.read_only:
            raise NeedsTransaction("a write")
        async with self._lock:
            session = await self._ensure()
            async with session.begin_nested():
                # SQLAlchemy sends SAVEPOINT with the savepoint's first ORM statement; a write
                # through `fetch` first would not be inside it. Send it now.
                await session.connection()
                return await fn(session, *args, **kwargs)

    async def _finish(self, commit: bool) -> None:
        session, connection, reader = self._session, self._connection, self._reader
        self._session = self._connection = self._reader = None
        if reader is not None:  # the read lane: every statement has committed already
            await self._db.release_read_connection(reader)
            return
        if session is None or connection is None:
            return
        try:
            await session.close()  # the ORM's state only: the transaction is the connection's
            if commit:
                await connection.commit()
            else:
                await connection.rollback()
        finally:
            await connection.close()

    async def commit(self) -> None:
        registered = self._session.info.get(AFTER_COMMIT) if self._session is not None else None
        await self._finish(commit=True)
        for callback in self.after_commit:
            await callback()
        for callback in (registered or {}).values():
            await callback()

    async def rollback(self) -> None:
        await self._finish(commit=False)


AFTER_COMMIT = "after_commit"


def after_commit(session: AsyncSession, key: Hashable,
                 callback: Callable[[], Awaitable[None]]) -> None:
    """Run `callback` once the transaction of `session` has committed (never if it rolls back),
    when a `UnitOfWork` commits it: for work that must not start before the data it reads is
    visible, such as enqueueing a job. One callback per `key`: registering a key again keeps the
    first. Callbacks must not raise (the transaction has committed: log instead)."""
    session.info.setdefault(AFTER_COMMIT, {}).setdefault(key, callback)


def reads_only(fn: Callable[P, T]) -> Callable[P, T]:
    """Marks a function that only reads, and only through `fetch`: it may run on the read
    lane (`UnitOfWork(read_only=True)`), where anything else is refused before it runs.
    Lists, counts and batch lookups of the kit are such functions; business code needs no
    mark (in an ordinary transaction everything works, and the tenant is always set first)."""
    fn.reads_only = True  # type: ignore[attr-defined]
    return fn


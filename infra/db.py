"""Database engines, the declarative base and the tenant-scoped unit of work.

The tenant is set here and nowhere else: every transaction the application opens starts with
`set_config('app.tenant_id', …, true)` (transaction-local), so row-level security scopes every
statement that follows, and a transaction without a tenant sees no tenant-owned rows at all.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Concatenate, ParamSpec, TypeVar
from weakref import WeakKeyDictionary

import psycopg
import uuid_utils.compat as uuid_utils
from psycopg import AsyncClientCursor
from psycopg.abc import AdaptContext, Buffer
from psycopg.adapt import AdaptersMap, Loader
from psycopg.pq import Format
from psycopg.rows import namedtuple_row
from sqlalchemy import DateTime, MetaData, event, make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import func

from infra.read_pool import ReadPool

P = ParamSpec("P")
T = TypeVar("T")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}

class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)

def new_id() -> uuid.UUID:
    """Time-ordered UUIDv7: new rows land at the right edge of (tenant_id, id) indexes."""
    return uuid_utils.uuid7()

class TenantOwned:
    """Columns every tenant-owned table has; the primary key is (tenant_id, id)."""

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)

class Timestamps:
    # Fetch server-set values (now(), onupdate) with RETURNING in the same statement, so a row
    # is complete after flush without a second round trip.
    __mapper_args__ = {"eager_defaults": True}

    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

class RawJsonLoader(Loader):
    """`json` values as the bytes PostgreSQL sent. Nodes the database renders
    (graphql_api.rendering) are `json` and go into the response as they are: decoding them
    to `str` and encoding them again cost more than the rest of reading the page. Only the
    connections and cursors that read rendered pages use it (the `jsonb` columns are
    untouched); json's binary form is its text, so one loader serves both."""

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


class RawJsonBinaryLoader(RawJsonLoader):
    format = Format.BINARY


def raw_json_adapters(base: AdaptContext) -> AdaptersMap:
    adapters = AdaptersMap(base.adapters)
    adapters.register_loader("json", RawJsonLoader)
    adapters.register_loader("json", RawJsonBinaryLoader)
    return adapters


def _load_raw_json(dbapi_connection: Any, _record: Any) -> None:
    """On each new ORM-engine connection, once (SQLAlchemy passes its own adapters context at
    connect, so this one is added to the connection's): see RawJsonLoader."""
    adapters = dbapi_connection.driver_connection.adapters
    adapters.register_loader("json", RawJsonLoader)
    adapters.register_loader("json", RawJsonBinaryLoader)


SET_SCOPE_SQL = "select set_config('app.tenant_id', %(tenant_id)s, true)"
SET_SCOPE = text("select set_config('app.tenant_id', :tenant_id, true)")


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 5) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
        pool_recycle=1800,
        # Server-side prepared statements after the second use: the hot queries are few.
        connect_args={"prepare_threshold": 2},
    )
    event.listen(engine.sync_engine, "connect", _load_raw_json)
    return engine


class Database:
    """The application's engine (RLS-bound role) and its session factory, and a pool of
    autocommit connections for the read lane (see `UnitOfWork`)."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 5,
                 read_pool_size: int = 10) -> None:
        self.engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._read_pool = ReadPool(
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
            max_size=read_pool_size,
            # Statements are prepared by `_fetch_scoped` itself (SQL-level PREPARE).
            kwargs={"autocommit": True, "prepare_threshold": None,
                    "options": "-c plan_cache_mode=force_generic_plan",
                    "context": raw_json_adapters(psycopg.adapters)})

    async def read_connection(self) -> psycopg.AsyncConnection[Any]:
        return await self._read_pool.get()

    async def release_read_connection(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await self._read_pool.put(conn)

    async def dispose(self) -> None:
        await self._read_pool.close()
        await self.engine.dispose()

    @asynccontextmanager
    async def scoped(self, tenant_id: uuid.UUID | None) -> AsyncIterator[AsyncSession]:
        """One transaction scoped to a tenant: commits on success, rolls back on error.

        For jobs, CLI commands and tests; requests use `UnitOfWork`.
        """
        async with self.sessions() as session, session.begin():
            await set_scope(session, tenant_id)
            yield session


ROLE_CHECK_SQL = """
select current_user,
       exists (select 1 from pg_roles r where (r.rolsuper or r.rolbypassrls
                                              or r.rolcreaterole)
               and pg_has_role(current_user, r.oid, 'MEMBER')) as bypasses_rls,
       exists (select 1 from pg_class c where c.relnamespace = 'public'::regnamespace
               and pg_has_role(current_user, c.relowner, 'MEMBER')) as owns_tables
"""


class UnsafeDatabaseRole(RuntimeError):
    pass


async def verify_application_role(engine: AsyncEngine) -> None:
    """Refuse to serve as a role row-level security does not bind: a superuser, a role with
    BYPASSRLS, one with CREATEROLE (before PostgreSQL 16 it can grant itself membership in the
    tables' owner), a table owner (FORCE binds owners, but an owner can turn it off), or a role
    that can become one of those (membership lets it SET ROLE). A mistyped APP_DATABASE_URL
    would otherwise switch tenant isolation off without a sound."""
    async with engine.connect() as conn:
        user, bypasses, owns = (await conn.execute(text(ROLE_CHECK_SQL))).one()
    if bypasses or owns:
        why = ("can bypass row-level security" if bypasses
               else "owns (or can become the owner of) the application's tables")
        raise UnsafeDatabaseRole(
            f"the application connects as {user!r}, which {why}; connect as the role "
            "`crm migrate` creates (APP_DB_ROLE) instead")


async def set_scope(session: AsyncSession, tenant_id: uuid.UUID | None) -> None:
    await session.execute(SET_SCOPE, {"tenant_id": str(tenant_id) if tenant_id else ""})


# Observers of the statements `fetch` sends (ORM statements go through SQLAlchemy's
# `before_cursor_execute` event instead); used to count statements per request.
statement_listeners: list[Callable[[str], None]] = []


async def driver_connection(session: AsyncSession) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under the session, in the session's transaction."""
    driver = session.info.get("driver")
    if driver is None:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        driver = session.info["driver"] = raw.driver_connection
    return driver  # type: ignore[no-any-return,return-value]


async def _apply_pending_scope(session: AsyncSession) -> None:
    pending = session.info.pop("pending_scope", None)
    if pending is not None:
        driver = await driver_connection(session)
        for listener in statement_listeners:
            listener(SET_SCOPE_SQL)
        await driver.execute(SET_SCOPE_SQL, pending)


class NeedsTransaction(Exception):  # noqa: N818 - control flow, not an error
    """The read lane met work it does not do (an ORM statement, a write): the request must be
    answered in an ordinary transaction instead."""


class ReadOnlySession:
    """What services receive in the read lane instead of an ORM session: `fetch` works on it,
    anything else raises `NeedsTransaction` (so nothing can run without its tenant set)."""

    def __init__(self, driver: psycopg.AsyncConnection[Any], tenant_id: uuid.UUID | None) -> None:
        self.info = {"driver": driver,
                     "scope_each": {"tenant_id": str(tenant_id) if tenant_id else ""}}

    def __getattr__(self, name: str) -> Any:
        raise NeedsTransaction(f"the read lane has no `{name}`")


async def fetch(session: AsyncSession, sql: str, params: Mapping[str, Any] | None = None,
                row_factory: Any = namedtuple_row) -> list[Any]:
    """Run one SQL statement straight on the driver, in the session's transaction.

    The read path's queries go this way: no ORM identity map, no per-row instance state, and
    statements are prepared server-side. A transaction whose tenant is still to be set sends
    `set_config` and this statement together in one round trip (pipeline mode).

    In the read lane (a `ReadOnlySession` on an autocommit connection) every call is its own
    transaction: `set_config(…, true)`, the statement and one Sync, in one round trip. The
    extended query protocol runs everything up to a Sync as one implicit transaction, so the
    tenant is set for exactly that statement and gone after it, with no BEGIN or COMMIT sent.
    At READ COMMITTED each statement takes its own snapshot anyway, so a request's reads see
    what they would have seen in one explicit transaction.
    """
    driver = await driver_connection(session)
    scope_each = session.info.get("scope_each")
    pending = scope_each or session.info.pop("pending_scope", None)
    for listener in statement_listeners:
        if pending is not None:
            listener(SET_SCOPE_SQL)
        listener(sql)
    if scope_each is not None:
        return await _fetch_scoped(driver, sql, params, row_factory, scope_each["tenant_id"])
    cursor = driver.cursor(row_factory=row_factory, binary=True)
    if pending is None:
        await cursor.execute(sql, params)
        return await cursor.fetchall() if cursor.description else []
    async with driver.pipeline() as pipeline:
        await driver.execute(SET_SCOPE_SQL, pending)
        await cursor.execute(sql, params)
        await pipeline.sync()
    return await cursor.fetchall() if cursor.description else []


SCOPED_SQL = "select set_config('app.tenant_id', %(app_scope_tenant_id)s, true); "
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
MAX_PREPARED = 256  # per connection; past it they are all deallocated and prepared anew


@dataclass(frozen=True)
class _Prepared:
    name: str
    prepare: str  # PREPARE <name> AS <the statement with $n parameters>
    execute: str  # EXECUTE <name>(%(a)s, %(b)s, ...): bound client-side


# Per read-lane connection: the statements prepared on it (None: unknown, deallocate first).
_prepared_on: WeakKeyDictionary[Any, set[str] | None] = WeakKeyDictionary()


@lru_cache(maxsize=2048)  # statement texts come from code, but rendered select lists vary
def _prepared(sql: str) -> _Prepared:
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    name = f"crm_{hashlib.sha1(sql.encode()).hexdigest()[:16]}"  # noqa: S324 - a name
    # `%%` stays as it is: the whole message is formatted by psycopg once more, which makes it
    # the single `%` PostgreSQL must see.
    body = _PLACEHOLDER.sub(number, sql)
    args = ", ".join(f"%({key})s" for key in order)
    return _Prepared(name, f"PREPARE {name} AS {body}; ",
                     f"EXECUTE {name}({args})" if order else f"EXECUTE {name}")


async def _fetch_scoped(driver: psycopg.AsyncConnection[Any], sql: str,
                        params: Mapping[str, Any] | None, row_factory: Any, tenant_id: str
                        ) -> list[Any]:
    """The read lane's statement: `set_config` and the statement in one simple-protocol
    message, which PostgreSQL runs as one implicit transaction (and psycopg in one call, with
    none of the pipeline's bookkeeping).

    The statement itself is a server-side prepared statement (SQL-level PREPARE, sent in the
    same message the first time it runs on a connection), so PostgreSQL plans it once per
    connection; its arguments are bound client-side by psycopg's own literal adapters."""
    statement = _prepared(sql)
    known = _prepared_on.get(driver, set())
    prefix = ""
    if known is None or len(known) >= MAX_PREPARED:
        prefix, known = "DEALLOCATE ALL; ", set()
    if statement.name not in known:
        prefix += statement.prepare
    cursor = AsyncClientCursor(driver, row_factory=row_factory)
    try:
        await cursor.execute(prefix + SCOPED_SQL + statement.execute,
                             {**(params or {}), "app_scope_tenant_id": tenant_id})
    except BaseException:
        _prepared_on[driver] = None  # whether the PREPARE took is unknown now
        raise
    known.add(statement.name)
    _prepared_on[driver] = known
    while cursor.nextset():  # to the last result: the statement's
        pass
    return await cursor.fetchall() if cursor.description else []


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
                self._session = ReadOnlySession(self._reader, self.tenant_id)  # type: ignore[assignment]
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
            # Sent with the transaction's first statement (see `fetch`), before anything else.
            session.info["pending_scope"] = {
                "tenant_id": str(self.tenant_id) if self.tenant_id else ""}
            self._session = session
        return self._session

    async def run(
        self,
        fn: Callable[Concatenate[AsyncSession, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        sends = getattr(fn, "sends_scope", False)
        if self.read_only and not sends:
            raise NeedsTransaction(getattr(fn, "__qualname__", "a function"))
        async with self._lock:
            session = await self._ensure()
            if "pending_scope" in session.info and not sends:
                await _apply_pending_scope(session)
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
            await _apply_pending_scope(session)
            async with session.begin_nested():
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
        await self._finish(commit=True)
        for callback in self.after_commit:
            await callback()

    async def rollback(self) -> None:
        await self._finish(commit=False)


def sends_scope(fn: Callable[P, T]) -> Callable[P, T]:
    """Marks a function whose first statement goes through `fetch`, which sends a pending
    `set_config` in the same round trip; `UnitOfWork.run` then need not send it first.

    Should such a function ever run an ORM statement first, that statement would run with no
    tenant set and see nothing: the mistake fails closed."""
    fn.sends_scope = True  # type: ignore[attr-defined]
    return fn

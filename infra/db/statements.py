"""Statements on the driver: the tenant's `set_config`, `fetch` (one statement in the session's
transaction, or on the read lane as its own one-round-trip transaction) and the read lane's
server-side prepared statements."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from psycopg import AsyncClientCursor
from psycopg.rows import namedtuple_row
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncSession,
)

SET_SCOPE_SQL = "select set_config('app.tenant_id', %(tenant_id)s, true)"
SET_SCOPE = text("select set_config('app.tenant_id', :tenant_id, true)")


async def set_scope(session: AsyncSession, tenant_id: uuid.UUID | None) -> None:
    await session.execute(SET_SCOPE, {"tenant_id": str(tenant_id) if tenant_id else ""})


# Observers of the statements `fetch` sends (ORM statements go through SQLAlchemy's
# `before_cursor_execute` event instead); used to count statements per request.
statement_listeners: list[Callable[[str], None]] = []


async def driver_connection(session: AsyncSession | ReadSession
                            ) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under the session, in the session's transaction."""
    driver = session.info.get("driver")
    if driver is None:  # a ReadSession always has its driver
        assert isinstance(session, AsyncSession)
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        driver = session.info["driver"] = raw.driver_connection
    return driver  # type: ignore[no-any-return,return-value]


class NeedsTransaction(Exception):  # noqa: N818 - control flow, not an error
    """The read lane met work it does not do (an ORM statement, a write): the request must be
    answered in an ordinary transaction instead."""


class ReadSession:
    """The read lane's session: an autocommit connection on which `fetch` runs each statement
    as its own transaction with the tenant set. It offers nothing else (no ORM): work that
    needs more is refused before it runs (`UnitOfWork.run`), and answered in a transaction."""

    def __init__(self, driver: psycopg.AsyncConnection[Any], tenant_id: uuid.UUID | None) -> None:
        self.info: dict[str, Any] = {
            "driver": driver, "scope_each": {"tenant_id": str(tenant_id) if tenant_id else ""}}


async def fetch(session: AsyncSession | ReadSession, sql: str,
                params: Mapping[str, Any] | None = None, row_factory: Any = namedtuple_row,
                *, prepare: bool = True) -> list[Any]:
    """Run one SQL statement straight on the driver, in the session's transaction.

    The read path's queries go this way: no ORM identity map, no per-row instance state, and
    statements are prepared server-side. A transaction whose tenant is still to be set sends
    `set_config` and this statement together in one round trip (pipeline mode).

    In the read lane (a `ReadSession` on an autocommit connection) every call is its own
    transaction: `set_config(…, true)`, the statement and one Sync, in one round trip. The
    extended query protocol runs everything up to a Sync as one implicit transaction, so the
    tenant is set for exactly that statement and gone after it, with no BEGIN or COMMIT sent.
    At READ COMMITTED each statement takes its own snapshot anyway, so a request's reads see
    what they would have seen in one explicit transaction.

    `prepare=False`: planned anew with its values at every call, never prepared. For a
    statement whose best plan depends on its values, not only on its shape (a custom-field
    condition matches one record or a third of them): a prepared statement's generic plan,
    chosen after five calls, is one plan for all values, and can be a hundred times slower
    than the one its values call for.
    """
    driver = await driver_connection(session)
    scope_each = session.info.get("scope_each")
    pending = scope_each or session.info.pop("pending_scope", None)
    for listener in statement_listeners:
        if pending is not None:
            listener(SET_SCOPE_SQL)
        listener(sql)
    if scope_each is not None:
        return await _fetch_scoped(driver, sql, params, row_factory, scope_each["tenant_id"],
                                   prepare)
    cursor = driver.cursor(row_factory=row_factory, binary=True)
    if pending is None:
        await cursor.execute(sql, params, prepare=None if prepare else False)
        return await cursor.fetchall() if cursor.description else []
    async with driver.pipeline() as pipeline:
        await driver.execute(SET_SCOPE_SQL, pending)
        await cursor.execute(sql, params, prepare=None if prepare else False)
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
                        params: Mapping[str, Any] | None, row_factory: Any, tenant_id: str,
                        prepare: bool = True) -> list[Any]:
    """The read lane's statement: `set_config` and the statement in one simple-protocol
    message, which PostgreSQL runs as one implicit transaction (and psycopg in one call, with
    none of the pipeline's bookkeeping).

    The statement itself is a server-side prepared statement (SQL-level PREPARE, sent in the
    same message the first time it runs on a connection), so PostgreSQL plans it once per
    connection; its arguments are bound client-side by psycopg's own literal adapters. Not
    prepared (`prepare=False`): the statement itself, planned with its values."""
    if not prepare:
        cursor = AsyncClientCursor(driver, row_factory=row_factory)
        await cursor.execute(SCOPED_SQL + sql, {**(params or {}),
                                                "app_scope_tenant_id": tenant_id})
        while cursor.nextset():
            pass
        return await cursor.fetchall() if cursor.description else []
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

"""Engines and pools: the ORM engine of the application role, and the read lane's pool of
autocommit connections; `json` values read as raw bytes where rendered pages need them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.abc import AdaptContext, Buffer
from psycopg.adapt import AdaptersMap, Loader
from psycopg.pq import Format
from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from infra.db.statements import set_scope
from infra.read_pool import ReadPool


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

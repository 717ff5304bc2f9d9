"""The read lane's connections: autocommit psycopg connections reused last-in first-out.

psycopg_pool does much that the read lane does not need (statistics, a logging call and two
lock hand-offs per get and put, background workers, health checks); under a list load that came
to a tenth of a request's CPU. The read lane only needs: reuse the warmest idle connection, open
up to a cap on demand, queue callers beyond it in order, and never hand out a connection that is
broken, inside a transaction, or older than its lifetime. Waiters are futures resolved in order:
with a connection to use, or with `SLOT` when a connection slot came free, which is then reserved
for that waiter (counted in `_opening`) so that no later caller can take it first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from time import monotonic
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

SLOT: Any = object()  # handed to a waiter: a slot is reserved for you, open a connection


class PoolTimeout(Exception):
    """No connection came free in time."""


class ReadPool:
    def __init__(self, conninfo: str, *, max_size: int, kwargs: dict[str, Any] | None = None,
                 timeout: float = 30.0, max_lifetime: float = 1800.0) -> None:
        self._conninfo = conninfo
        self._kwargs = kwargs or {}
        self.max_size = max_size
        self._timeout = timeout
        self._max_lifetime = max_lifetime
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._born: dict[psycopg.AsyncConnection[Any], float] = {}  # every open connection
        self._opening = 0
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._closed = False

    @property
    def size(self) -> int:
        """Connections open or being opened."""
        return len(self._born) + self._opening

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def get(self) -> psycopg.AsyncConnection[Any]:
        if self._closed:
            raise RuntimeError("the read pool is closed")
        deadline = monotonic() + self._timeout
        while True:
            if self._idle:
                return self._idle.pop()
            if self.size < self.max_size:
                self._opening += 1
                return await self._open()
            handed = await self._wait(deadline)
            if handed is SLOT:
                return await self._open()  # the slot was reserved for us
            return handed  # type: ignore[no-any-return]

    async def put(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Give a connection back: reused if it is fit, else closed and its slot freed."""
        fit = (not self._closed and not conn.closed and not conn.broken
               and conn.pgconn.transaction_status == TransactionStatus.IDLE
               and monotonic() - self._born.get(conn, 0.0) < self._max_lifetime)
        if fit:
            self._hand_over(conn)
            return
        with contextlib.suppress(Exception):
            await conn.close()
        # Only now, with no await before the hand-over: the slot stays counted while closing,
        # so nobody can take it before the first waiter.
        self._born.pop(conn, None)
        self._hand_over(None)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            self._born.pop(conn, None)
            with contextlib.suppress(Exception):
                await conn.close()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(RuntimeError("the read pool is closed"))

    async def _open(self) -> psycopg.AsyncConnection[Any]:
        """Open a connection in a slot the caller has reserved (counted in `_opening`)."""
        try:
            conn = await psycopg.AsyncConnection.connect(self._conninfo, **self._kwargs)
        except BaseException:
            self._opening -= 1
            self._hand_over(None)  # let the next in line try
            raise
        self._opening -= 1
        self._born[conn] = monotonic()
        return conn

    async def _wait(self, deadline: float) -> Any:
        """A connection, or SLOT."""
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout_at(asyncio.get_running_loop().time()
                                          + max(0.0, deadline - monotonic())):
                return await waiter  # asyncio.timeout: no task per wait, unlike wait_for
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # Handed something just as we gave up: pass it on rather than lose it.
                handed = waiter.result()
                if handed is SLOT:
                    self._opening -= 1  # the reservation, passed on below
                    self._hand_over(None)
                else:
                    self._hand_over(handed)
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise PoolTimeout(f"no read connection free within {self._timeout:g} s"
                                  ) from None
            raise

    def _hand_over(self, conn: psycopg.AsyncConnection[Any] | None) -> None:
        """To the first caller still waiting: the connection, or (None) a slot reserved for
        them; else the connection goes idle and a free slot stays free."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                if conn is None:
                    self._opening += 1
                waiter.set_result(SLOT if conn is None else conn)
                return
        if conn is not None:
            self._idle.append(conn)

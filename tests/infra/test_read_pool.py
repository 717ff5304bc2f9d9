"""The read lane's connection pool, against the real PostgreSQL as the application role."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import psycopg
import pytest

from infra.migrate import libpq_dsn
from infra.read_pool import PoolTimeout, ReadPool
from tests.conftest import Servers, run


def pool(servers: Servers, max_size: int, **options: float) -> ReadPool:
    return ReadPool(libpq_dsn(servers.app_url), max_size=max_size,
                    kwargs={"autocommit": True}, **options)


def with_pool(p: ReadPool, scenario: Callable[[ReadPool], Awaitable[None]]) -> None:
    """Run a scenario against a pool, closing it whatever happens."""

    async def go() -> None:
        try:
            await scenario(p)
        finally:
            await p.close()

    run(go())


def test_connections_are_reused_last_in_first_out_and_opened_only_on_demand(
    servers: Servers,
) -> None:
    async def scenario(p: ReadPool) -> None:
        first = await p.get()
        second = await p.get()
        assert (p.size, p.idle) == (2, 0)
        await p.put(first)
        await p.put(second)
        assert await p.get() is second  # the warmest first
        assert (p.size, p.idle) == (2, 1)

    with_pool(pool(servers, 3), scenario)


def test_callers_beyond_the_cap_wait_in_line_and_none_is_lost(servers: Servers) -> None:
    async def scenario(p: ReadPool) -> None:
        async def use(i: int) -> int:
            conn = await p.get()
            try:
                cur = await conn.execute("select %s::int, pg_sleep(0.01)", (i,))
                row = await cur.fetchone()
                assert row is not None
                return int(row[0])
            finally:
                await p.put(conn)

        assert await asyncio.gather(*(use(i) for i in range(20))) == list(range(20))
        assert (p.size, p.idle) == (2, 2)  # never more than the cap, all given back

    with_pool(pool(servers, 2), scenario)


def test_a_broken_or_mid_transaction_connection_is_closed_and_its_slot_freed(
    servers: Servers,
) -> None:
    async def scenario(p: ReadPool) -> None:
        conn = await p.get()
        await conn.execute("begin")  # left inside a transaction: never handed out again
        waiting = asyncio.create_task(p.get())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await p.put(conn)
        fresh = await waiting
        assert fresh is not conn and conn.closed
        assert (await (await fresh.execute("select 1")).fetchone()) == (1,)
        await fresh.close()  # as if the server had dropped it
        await p.put(fresh)
        assert (p.size, p.idle) == (0, 0)
        again = await p.get()
        assert not again.closed
        await p.put(again)

    with_pool(pool(servers, 1), scenario)


def test_a_connection_past_its_lifetime_is_replaced(servers: Servers) -> None:
    async def scenario(p: ReadPool) -> None:
        old = await p.get()
        await p.put(old)
        assert old.closed and (p.size, p.idle) == (0, 0)

    with_pool(pool(servers, 1, max_lifetime=0.0), scenario)


def test_a_caller_who_waits_too_long_gets_a_timeout_and_the_line_moves_on(
    servers: Servers,
) -> None:
    async def scenario(p: ReadPool) -> None:
        held = await p.get()
        with pytest.raises(PoolTimeout):
            await p.get()
        await p.put(held)
        assert await p.get() is held  # the timed-out waiter took nothing with it
        await p.put(held)

    with_pool(pool(servers, 1, timeout=0.1), scenario)


def test_a_freed_slot_goes_to_the_first_waiter_not_a_later_caller(servers: Servers) -> None:
    async def scenario(p: ReadPool) -> None:
        held = await p.get()
        await held.execute("begin")  # will be closed when given back: its slot frees
        first = asyncio.create_task(p.get())
        await asyncio.sleep(0.05)
        # `late` is ready to run before `first` wakes: it must still not take the slot.
        late = asyncio.create_task(p.get())
        await p.put(held)  # the slot is reserved for `first`, who opens a connection
        fresh = await first
        await asyncio.sleep(0.05)
        assert not late.done() and p.size == 1  # `late` waits its turn, under the cap
        await p.put(fresh)
        assert await late is fresh
        await p.put(fresh)

    with_pool(pool(servers, 1), scenario)


def test_a_failed_connect_gives_its_slot_back(servers: Servers) -> None:
    async def scenario(p: ReadPool) -> None:
        for _ in range(2):  # the slot is free again after each failure
            with pytest.raises(psycopg.OperationalError):
                await p.get()
            assert p.size == 0

    with_pool(ReadPool("host=127.0.0.1 port=1 connect_timeout=2", max_size=1,
                     kwargs={"autocommit": True}), scenario)

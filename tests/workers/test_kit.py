"""The actor kit with a real broker (and, where a job must run, a real worker process)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dramatiq
import psycopg
import pytest
import redis
from sqlalchemy import insert

from infra.db import Database, UnitOfWork, new_id
from tenancy.audit import OutboxEvent
from tests.conftest import Servers
from tests.factories import TenantFactory
from tests.workers import effects
from tests.workers.harness import Process, make_effects_table, start_worker
from workers.broker import build_broker
from workers.kit import actor
from workers.outbox import relay_through
from workers.schedule import PERIODIC, Firing, periodic
from workers.status import broker_status


def test_actor_arguments_are_ids_only() -> None:
    for bad in ({"name": "x"}, "two words", "x" * 201, 42, None):
        with pytest.raises(TypeError, match="ids"):
            effects.touch.message(str(uuid.uuid4()), bad)  # type: ignore[arg-type]
    message = effects.touch.message(uuid.UUID(int=1), "row-7:a@b")
    assert message.args == (str(uuid.UUID(int=1)), "row-7:a@b")


def test_actor_and_periodic_declarations_are_checked() -> None:
    with pytest.raises(ValueError, match="dotted"):
        actor("Touch", time_limit=timedelta(seconds=1), max_retries=0)
    with pytest.raises(ValueError, match="twice"):
        actor("tests.touch", time_limit=timedelta(seconds=1), max_retries=0)(effects.touched.fn)
    with pytest.raises(ValueError, match="either"):
        periodic("tests.never", time_limit=timedelta(seconds=1))
    with pytest.raises(ValueError, match="maximum"):
        periodic("tests.never", cron="61 * * * *", time_limit=timedelta(seconds=1))


@pytest.fixture
def private_prefix(servers: Servers) -> Iterator[Any]:
    """The run's Redis under a prefix of this test's own (no worker consumes it)."""
    settings = servers.settings.model_copy(
        update={"redis_key_prefix": f"{servers.settings.redis_key_prefix}{uuid.uuid4().hex}:"})
    yield settings
    client = redis.Redis.from_url(servers.redis_url)
    keys = list(client.scan_iter(f"{settings.redis_key_prefix}*"))
    if keys:
        client.delete(*keys)


def test_the_relay_is_sent_after_commit_and_never_for_a_rollback(
        servers: Servers, tenants: TenantFactory, private_prefix: Any) -> None:
    tenant = tenants.make()
    broker = build_broker(private_prefix, servers.redis_url)
    queue = f"{private_prefix.redis_key_prefix}dramatiq:outbox"

    async def write(commit: bool, *, events: int = 2) -> None:
        db = Database(servers.app_url, pool_size=1, max_overflow=0, read_pool_size=1)
        relay_through(broker)
        queued = broker.client.llen(queue)
        try:
            uow = UnitOfWork(db)
            uow.scope(tenant.id)

            async def append(session: Any) -> None:
                for _ in range(events):
                    await session.execute(insert(OutboxEvent).values(
                        tenant_id=tenant.id, id=new_id(), event_type="test.written",
                        aggregate_type="test", payload={}))
                assert broker.client.llen(queue) == queued  # nothing sent inside it

            await uow.run(append)
            await (uow.commit() if commit else uow.rollback())
        finally:
            await db.dispose()

    asyncio.run(write(commit=False))
    time.sleep(0.5)  # the relay is sent from a thread, after the response
    assert broker.client.llen(queue) == 0
    asyncio.run(write(commit=True))  # two events, one transaction: one relay
    wait_for_length(broker.client, queue, 1)
    # Until that relay starts, later commits of the tenant share it; once it has, they send.
    asyncio.run(write(commit=True))
    time.sleep(0.5)
    assert broker.client.llen(queue) == 1
    broker.client.delete(f"{private_prefix.redis_key_prefix}dramatiq:outbox.relay-due:"
                         f"{tenant.id}")  # as the relay does when it starts
    asyncio.run(write(commit=True))
    wait_for_length(broker.client, queue, 2)


def wait_for_length(client: Any, queue: str, length: int) -> None:
    deadline = time.monotonic() + 5
    while client.llen(queue) < length and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    assert client.llen(queue) == length


def test_schedulers_on_several_hosts_send_each_fire_time_once(
        servers: Servers, private_prefix: Any) -> None:
    sweep = PERIODIC["outbox.sweep"]
    trigger = sweep.trigger(private_prefix)
    client = redis.Redis.from_url(servers.redis_url)
    previous = dramatiq.get_broker()
    dramatiq.set_broker(build_broker(private_prefix, servers.redis_url))  # Firing sends there
    hosts = [Firing(private_prefix, client) for _ in range(3)]
    try:
        sent = [host(sweep, trigger) for host in hosts]
    finally:
        dramatiq.set_broker(previous)
    assert sent.count(True) == 1
    queue = f"{private_prefix.redis_key_prefix}dramatiq:default"
    assert client.llen(queue) == 1
    # Called at a fire time, or a little late: that fire time; a period later: the next.
    fire = trigger.get_next_fire_time(None, datetime.now(UTC))
    period = sweep.period(private_prefix)
    assert hosts[0].slot(sweep, trigger, fire + timedelta(milliseconds=3)) == fire
    assert hosts[1].slot(sweep, trigger, fire + period / 3) == fire
    assert hosts[2].slot(sweep, trigger, fire + period) == fire + period


@pytest.fixture
def worker(servers: Servers, tmp_path: Path) -> Iterator[Process]:
    make_effects_table(servers)
    process = start_worker(servers, tmp_path / "worker.log", threads=2)
    yield process
    process.stop()


def kinds(servers: Servers, tenant_id: uuid.UUID) -> list[str]:
    with psycopg.connect(servers.owner_dsn) as conn:
        return sorted(r[0] for r in conn.execute(
            "select event_type from test_consumer_effects where tenant_id = %s", (tenant_id,)))


def test_a_tenant_actor_acts_once_per_key_and_follows_up_after_commit(
        servers: Servers, tenants: TenantFactory, worker: Process) -> None:
    tenant = tenants.make()
    broker = build_broker(servers.settings, servers.redis_url)
    for _ in range(3):  # the same business key three times: one effect, one follow-up
        effects.touch.send(tenant.id, "k1", broker=broker)
    effects.touch.send(tenant.id, "k2", broker=broker)
    deadline = time.monotonic() + 30
    want = ["touch:k1:system", "touch:k2:system", "touched:k1", "touched:k2"]
    while kinds(servers, tenant.id) != want:
        assert time.monotonic() < deadline, kinds(servers, tenant.id)
        time.sleep(0.1)
    time.sleep(0.5)
    assert kinds(servers, tenant.id) == want


def test_bad_data_is_dead_lettered_at_once_and_recorded_without_secrets(
        servers: Servers, tenants: TenantFactory, worker: Process) -> None:
    tenant = tenants.make()
    broker = build_broker(servers.settings, servers.redis_url)
    dead_before = _dead(servers)
    effects.fail.send(tenant.id, "row-9", broker=broker)
    deadline = time.monotonic() + 30
    while True:
        with psycopg.connect(servers.owner_dsn) as conn:
            found = conn.execute("select name, attempt, error_type, error from worker_failures "
                                 "where tenant_id = %s", (tenant.id,)).fetchall()
        if found and _dead(servers) > dead_before:
            break
        assert time.monotonic() < deadline, (found, worker.output()[-2000:])
        time.sleep(0.1)
    assert len(found) == 1  # not retried: a ValueError is not transient
    name, attempt, error_type, error = found[0]
    assert (name, attempt, error_type) == ("tests.fail", 1, "ValueError")
    assert "cannot parse row row-9" in error and "row-9tok" not in error
    assert "cannot parse row row-9" in worker.output()
    assert "row-9tok" not in worker.output()


def _dead(servers: Servers) -> int:
    async def run() -> int:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(servers.redis_url)
        try:
            found = await broker_status(client, servers.settings, ["default"])
        finally:
            await client.aclose()
        return found.queues[0].dead

    return asyncio.run(run())

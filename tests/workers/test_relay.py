"""The outbox relayed by real worker processes on the real Redis broker, to a test consumer."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import Servers
from tests.factories import TenantFactory
from tests.workers.conftest import OwnServer
from tests.workers.harness import Process, make_effects_table, start_worker

CREATE = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"


def effects_of(conn: psycopg.Connection[Any], tenant_id: uuid.UUID) -> list[uuid.UUID]:
    return [r[0] for r in conn.execute(
        "select event_id from test_consumer_effects where tenant_id = %s", (tenant_id,))]


def events_of(conn: psycopg.Connection[Any], tenant_id: uuid.UUID) -> dict[uuid.UUID, Any]:
    return dict(conn.execute(  # type: ignore[arg-type]
        "select id, published_at from outbox where tenant_id = %s", (tenant_id,)).fetchall())


def wait_until(check: Any, timeout: float = 30, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still {result!r} after {timeout} s")
        time.sleep(every)
    return result


@pytest.fixture
def server(own_server: Callable[..., OwnServer]) -> OwnServer:
    return own_server()


@pytest.fixture
def worker(servers: Servers, server: OwnServer, tmp_path: Path) -> Iterator[Process]:
    make_effects_table(servers)
    process = start_worker(servers, tmp_path / "worker.log", **server.env)
    yield process
    process.stop()


@pytest.mark.usefixtures("worker")
def test_a_committed_write_reaches_the_consumer_once_after_commit(
        server: OwnServer, tenants: TenantFactory, servers: Servers) -> None:
    gql = server.gql
    tenant = tenants.make()
    for n in range(3):
        gql.data(CREATE, {"input": {"name": f"联系人{n}"}}, key=tenant.keys["admin"])
    with psycopg.connect(servers.owner_dsn, autocommit=True) as conn:
        events = events_of(conn, tenant.id)
        # Three contacts, and what the factory wrote (API keys) before: every one of them
        wait_until(lambda: len(effects_of(conn, tenant.id)) >= len(events))
        time.sleep(0.5)  # nothing more comes
        assert sorted(effects_of(conn, tenant.id)) == sorted(events)
        assert all(events_of(conn, tenant.id).values())  # all published

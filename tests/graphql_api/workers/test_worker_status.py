"""The workers' status panel: administrators only, queues from the real broker, the tenant's
own backlog and failures and never another tenant's."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from infra.db import new_id
from tests.conftest import GraphQLClient, Servers
from tests.factories import TenantFactory

STATUS = """{ workerStatus { brokerReachable workersOnline pendingEvents oldestPendingEventAt
  checkedAt queues { name ready inProgress delayed dead } } }"""
FAILURES = """query($after: String) { workerFailures(first: 2, after: $after) {
  nodes { id name attempt errorType error eventId occurredAt }
  pageInfo { hasNextPage endCursor } totalCount } }"""


def add_failure(servers: Servers, tenant_id: uuid.UUID, name: str, error: str) -> None:
    with psycopg.connect(servers.owner_dsn, autocommit=True) as conn:
        conn.execute("""insert into worker_failures (tenant_id, id, name, event_id, attempt,
                        error_type, error) values (%s, %s, %s, %s, 1, 'RuntimeError', %s)""",
                     (tenant_id, new_id(), name, new_id(), error))


def pending(servers: Servers, tenant_id: uuid.UUID) -> int:
    with psycopg.connect(servers.owner_dsn) as conn:
        row: Any = conn.execute("select count(*) from outbox where tenant_id = %s "
                                "and published_at is null", (tenant_id,)).fetchone()
        return int(row[0])


def test_administrators_see_queues_and_their_backlog(
        tenants: TenantFactory, gql: GraphQLClient, servers: Servers) -> None:
    tenant = tenants.make()
    before = pending(servers, tenant.id)
    found = gql.data(STATUS, key=tenant.keys["admin"])["workerStatus"]
    after = pending(servers, tenant.id)
    assert found["brokerReachable"] is True
    assert min(before, after) <= found["pendingEvents"] <= max(before, after)
    queues = {q["name"]: q for q in found["queues"]}
    assert {"default", "outbox"} <= set(queues)
    assert all(isinstance(v, int) and v >= 0 for q in queues.values()
               for k, v in q.items() if k != "name")
    assert gql.data(STATUS, key=tenant.keys["owner"])["workerStatus"]["checkedAt"]


def test_others_are_refused(tenants: TenantFactory, gql: GraphQLClient) -> None:
    tenant = tenants.make()
    for role in ("manager", "viewer"):
        for query in (STATUS, FAILURES):
            error = gql.error(query, key=tenant.keys[role])
            assert error["extensions"]["code"] == "FORBIDDEN"
            assert error["extensions"]["permission"] == "tenant:manage"


def test_failures_are_the_tenants_own_newest_first_paged(
        tenants: TenantFactory, gql: GraphQLClient, servers: Servers) -> None:
    a, b = tenants.make(), tenants.make()
    for n in range(3):
        add_failure(servers, a.id, f"consumer:a{n}", f"a failed {n}")
    add_failure(servers, b.id, "consumer:b", "b failed")
    first = gql.data(FAILURES, key=a.keys["admin"])["workerFailures"]
    assert first["totalCount"] == 3
    assert [n["name"] for n in first["nodes"]] == ["consumer:a2", "consumer:a1"]
    assert first["nodes"][0]["eventId"] and first["nodes"][0]["id"]
    rest = gql.data(FAILURES, {"after": first["pageInfo"]["endCursor"]},
                    key=a.keys["admin"])["workerFailures"]
    assert [n["name"] for n in rest["nodes"]] == ["consumer:a0"]
    assert not rest["pageInfo"]["hasNextPage"]
    theirs = gql.data(FAILURES, key=b.keys["admin"])["workerFailures"]
    assert [n["error"] for n in theirs["nodes"]] == ["b failed"]

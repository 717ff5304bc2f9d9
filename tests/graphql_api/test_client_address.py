"""The client address a trusted proxy names (X-Forwarded-For) is stored only when it is an IP
address: anything else is no address, and never breaks a request."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import LOGIN, LiveServer
from tests.factories import PASSWORD, TenantData, TenantFactory

CREATE = "mutation($i: CompanyInput!) { createCompany(input: $i) { id } }"


@pytest.fixture(scope="module")
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make()


def client_ips(conn: psycopg.Connection[Any], request_id: str) -> list[str | None]:
    rows = conn.execute("select host(client_ip) from audit_log where request_id = %s "
                        "union all select s.client_ip from web_sessions s join audit_log a "
                        "on a.entity_id = s.id and a.request_id = %s",
                        (request_id, request_id)).fetchall()
    return [row[0] for row in rows]


@pytest.mark.parametrize(("forwarded", "stored"), [
    ("not-an-ip", None),
    ("unknown", None),
    ("_hidden, 203.0.113.9x", None),
    ("203.0.113.7", "203.0.113.7"),  # the proxy header is honoured (127.0.0.1 is trusted)
    ("2001:db8::1", "2001:db8::1"),
    ("[2001:db8::2]:4431", "2001:db8::2"),
    ("fe80::1%eth0", "fe80::1"),  # PostgreSQL's inet has no zone
])
def test_login_and_writes_behind_a_proxy(
    live_server: LiveServer, tenant: TenantData, owner_conn: psycopg.Connection[Any],
    forwarded: str, stored: str | None,
) -> None:
    client = httpx.Client(base_url=live_server.url, timeout=30,
                          headers={"x-requested-by": "tests"})  # as the web app (csrf.py)
    request_id = uuid.uuid4().hex
    response = client.post("/graphql", json={"query": LOGIN, "variables": {
        "email": tenant.members["owner"].email, "password": PASSWORD}},
        headers={"x-forwarded-for": forwarded, "x-request-id": request_id})
    assert "errors" not in response.json(), response.json()
    assert client_ips(owner_conn, request_id) == [stored, stored]  # audit row, session

    request_id = uuid.uuid4().hex
    response = client.post("/graphql", json={"query": CREATE, "variables": {
        "i": {"name": f"Proxy {forwarded}"}}},
        headers={"x-forwarded-for": forwarded, "x-request-id": request_id,
                 "authorization": f"Bearer {tenant.keys['admin']}"})
    assert "errors" not in response.json(), response.json()
    assert client_ips(owner_conn, request_id) == [stored]

"""The server answers health checks and serves the schema."""

from __future__ import annotations

import httpx

from tests.conftest import GraphQLClient, LiveServer


def test_healthz_checks_database_and_redis(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert response.headers["x-request-id"]


def test_typename_needs_no_authentication(gql: GraphQLClient) -> None:
    assert gql.data("{ __typename }") == {"__typename": "Query"}

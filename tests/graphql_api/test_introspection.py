"""Outside development, only an authenticated caller may introspect the schema (integrators get
it from `crm schema`); in development GraphiQL works as before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import LOGIN, GraphQLClient, LiveServer, Servers
from tests.factories import PASSWORD, TenantData, TenantFactory
from tests.pii_keys import pii_settings

MUTATIONS = "{ __schema { mutationType { fields { name } } } }"
REFUSED = [
    MUTATIONS,
    '{ __type(name: "Mutation") { fields { name } } }',
    "query { ...F } fragment F on Query { __schema { types { name } } }",
    "query { ... on Query { t: __type(name: \"Contact\") { name } } }",
    "{ __typename __schema { queryType { name } } }",
]


@pytest.fixture(scope="module")
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make()


def server_in(servers: Servers, env: str) -> Iterator[LiveServer]:
    settings = servers.settings.model_copy(update={"env": env,
                                                   "secret_key": "x" * 48, **pii_settings()})
    server = LiveServer(Servers(settings, servers.owner_url, servers.app_url, servers.redis_url))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def production(servers: Servers) -> Iterator[LiveServer]:
    yield from server_in(servers, "production")


@pytest.fixture(scope="module")
def development(servers: Servers) -> Iterator[LiveServer]:
    yield from server_in(servers, "development")


def post(server: LiveServer, query: str, **headers: str) -> httpx.Response:
    return httpx.post(f"{server.url}/graphql", json={"query": query},
                      headers={"x-requested-by": "tests", **headers})


@pytest.mark.parametrize("query", REFUSED)
@pytest.mark.parametrize("where", ["production", "live_server"])  # ENV=production, ENV=test
def test_anonymous_introspection_is_refused_outside_development(
    request: pytest.FixtureRequest, where: str, query: str
) -> None:
    server: LiveServer = request.getfixturevalue(where)
    response = post(server, query)
    assert response.status_code == 200  # application/json: a request error, as validation
    body = response.json()
    assert "data" not in body, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    asked = post(server, query, accept="application/graphql-response+json")
    assert asked.status_code == 401


def test_an_authenticated_caller_may_introspect(
    production: LiveServer, live_server: LiveServer, gql: GraphQLClient, tenant: TenantData
) -> None:
    by_key = post(production, MUTATIONS, authorization=f"Bearer {tenant.keys['viewer']}")
    assert "login" in names(by_key.json())
    # (A production cookie is Secure: a session is tried on the plain-HTTP test server.)
    browser = httpx.Client(base_url=live_server.url, headers={"x-requested-by": "tests"})
    gql.data(LOGIN, {"email": tenant.members["owner"].email, "password": PASSWORD},
             client=browser)
    by_session = browser.post("/graphql", json={"query": MUTATIONS})
    assert "login" in names(by_session.json())


def test_typename_needs_no_one(production: LiveServer) -> None:
    assert post(production, "{ __typename }").json() == {"data": {"__typename": "Query"}}


def test_development_keeps_graphiql_and_open_introspection(development: LiveServer) -> None:
    assert "login" in names(post(development, MUTATIONS).json())
    page = httpx.get(f"{development.url}/graphql")
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def names(body: dict[str, Any]) -> set[str]:
    assert "errors" not in body, body
    return {f["name"] for f in body["data"]["__schema"]["mutationType"]["fields"]}


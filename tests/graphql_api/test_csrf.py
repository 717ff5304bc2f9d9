"""The CSRF guard: a request the session cookie authenticates must carry `X-Requested-By`.

The browser side (a page of another origin, same site and cross-site, trying a form post and a
fetch against a signed-in user) is in tests/web/test_csrf_browser.py.
"""

from __future__ import annotations

import httpx
import pytest

from graphql_api.csrf import CSRF_HEADER
from tests.conftest import LOGIN, GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, TenantData, TenantFactory

CREATE = 'mutation { createContact(input: {name: "CSRF 探针"}) { id } }'
PROBES = '{ contacts(filter: {search: "CSRF 探针"}) { totalCount } }'


@pytest.fixture(scope="module")
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make()


def _probes(gql: GraphQLClient, tenant: TenantData) -> int:
    data = gql.data(PROBES, key=tenant.keys["owner"])
    return data["contacts"]["totalCount"]  # type: ignore[no-any-return]


def test_a_cookie_request_without_the_header_is_refused_and_changes_nothing(
    live_server: LiveServer, gql: GraphQLClient, tenant: TenantData
) -> None:
    owner = tenant.members["owner"]
    browser = login(live_server, gql, owner.email, PASSWORD)
    response = browser.post("/graphql", json={"query": CREATE})
    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "FORBIDDEN", "reason": "CSRF", "header": CSRF_HEADER}
    assert _probes(gql, tenant) == 0
    # The same request from the app (which sends the header) goes through.
    allowed = browser.post("/graphql", json={"query": CREATE}, headers={CSRF_HEADER: "crm-web"})
    assert allowed.status_code == 200 and "errors" not in allowed.json()
    assert _probes(gql, tenant) == 1


def test_an_empty_header_does_not_count(live_server: LiveServer, gql: GraphQLClient,
                                        tenant: TenantData) -> None:
    browser = login(live_server, gql, tenant.members["owner"].email, PASSWORD)
    response = browser.post("/graphql", json={"query": "{ me { role } }"},
                            headers={CSRF_HEADER: ""})
    assert response.status_code == 403


def test_login_needs_the_header_too(live_server: LiveServer, tenant: TenantData) -> None:
    """Login CSRF (signing the victim in to the attacker's account) is refused as well."""
    owner = tenant.members["owner"]
    response = httpx.post(f"{live_server.url}/graphql",
                          json={"query": LOGIN, "variables": {"email": owner.email,
                                                              "password": PASSWORD}})
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_api_key_calls_are_exempt(live_server: LiveServer, tenant: TenantData) -> None:
    response = httpx.post(f"{live_server.url}/graphql", json={"query": "{ me { role } }"},
                          headers={"Authorization": f"Bearer {tenant.keys['viewer']}"})
    assert response.status_code == 200
    assert response.json()["data"]["me"]["role"] == "viewer"


def test_graphiql_sends_the_header(live_server: LiveServer) -> None:
    page = httpx.get(f"{live_server.url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert f'"{CSRF_HEADER}": "graphiql"' in page.text

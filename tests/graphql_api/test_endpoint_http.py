"""The HTTP contract of /graphql: the request body's shape, the Authorization header, and the
GraphQL-over-HTTP media types and status codes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.factories import TenantData, TenantFactory

GRAPHQL_RESPONSE = "application/graphql-response+json"
BROWSER = {"x-requested-by": "tests"}  # what the web app sends (graphql_api/csrf.py)


@pytest.fixture(scope="module")
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make()


@pytest.fixture(scope="module")
def http(live_server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=live_server.url, timeout=30)


def post(http: httpx.Client, body: Any, *, key: str | None = None,
         accept: str | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else dict(BROWSER)
    if accept is not None:
        headers["accept"] = accept
    return http.post("/graphql", json=body, headers=headers)


def only_error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert "data" not in body, body
    assert len(body["errors"]) == 1, body
    return body["errors"][0]  # type: ignore[no-any-return]


# -- the body's shape ---------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "says"), [
    ({}, "`query`"),
    ({"query": None}, "`query`"),
    ({"query": ["{ __typename }"]}, "`query`"),
    ({"query": "{ __typename }", "operationName": ["x"]}, "`operationName`"),
    ({"query": "{ __typename }", "operationName": 5}, "`operationName`"),
    ({"query": "{ __typename }", "operationName": {"obj": "ect"}}, "`operationName`"),
    ({"query": "{ __typename }", "variables": ["x"]}, "`variables`"),
    ({"query": "{ __typename }", "variables": "x"}, "`variables`"),
    ({"query": "{ __typename }", "extensions": "x"}, "`extensions`"),
    ({"query": "{ __typename }", "extensions": 0}, "`extensions`"),
    (["{ __typename }"], "`query`"),
    ("{ __typename }", "`query`"),
])
@pytest.mark.parametrize("accept", [None, "application/json", GRAPHQL_RESPONSE])
def test_a_body_of_the_wrong_shape_is_a_400_before_anything_runs(
    http: httpx.Client, body: Any, says: str, accept: str | None
) -> None:
    response = post(http, body, accept=accept)
    assert response.status_code == 400
    error = only_error(response)
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert says in error["message"]


@pytest.mark.parametrize("body", [
    {"query": "query Q { __typename }", "operationName": "Q"},
    {"query": "{ __typename }", "operationName": None, "variables": None, "extensions": None},
    {"query": "{ __typename }", "variables": {}, "extensions": {"persistedQuery": {}}},
])
def test_a_body_of_the_right_shape_is_answered(http: httpx.Client, body: Any) -> None:
    response = post(http, body)
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


# -- the Authorization header -------------------------------------------------------------------

ME = {"query": "{ me { role } }"}


@pytest.mark.parametrize("credential", [
    "short", "crm_nope", "crm_" + "0" * 32 + "_tooshort",
    "crm_" + "0" * 32 + "_" + "x" * 40,  # well formed, no such key
])
def test_a_wrong_api_key_is_invalid_not_malformed(http: httpx.Client, credential: str) -> None:
    response = post(http, ME, key=credential)
    assert response.status_code == 401
    error = only_error(response)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["message"] == "invalid, expired or revoked API key"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "crm_x",
                                    "Token abc"])
def test_a_header_that_is_not_bearer_something_is_malformed(http: httpx.Client,
                                                           header: str) -> None:
    response = http.post("/graphql", json=ME, headers={"authorization": header})
    assert response.status_code == 401
    assert "malformed Authorization header" in only_error(response)["message"]


# -- media types and status codes ----------------------------------------------------------------

@pytest.mark.parametrize(("accept", "media_type"), [
    (None, "application/json"),
    ("*/*", "application/json"),
    ("application/json", "application/json"),
    (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
    (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
    (f"application/json, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
    (f"application/json, {GRAPHQL_RESPONSE};q=0.5", "application/json"),
    (f"{GRAPHQL_RESPONSE};charset=utf-8", GRAPHQL_RESPONSE),
    (f"{GRAPHQL_RESPONSE};q=0", "application/json"),
    ("text/html", "application/json"),
])
def test_the_response_media_type_follows_accept(http: httpx.Client, tenant: TenantData,
                                                accept: str | None, media_type: str) -> None:
    for _ in range(3):  # the ordinary path, then a compiled plan on the read lane
        response = post(http, {"query": "{ contacts(first: 1) { nodes { id } } }"},
                        key=tenant.keys["viewer"], accept=accept)
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == media_type
        assert "charset=utf-8" in response.headers["content-type"] or \
            media_type == "application/json"
        assert response.json() == {"data": {"contacts": {"nodes": []}}}


@pytest.mark.parametrize(("query", "variables", "code"), [
    ("{", None, "GRAPHQL_PARSE_FAILED"),
    ("{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("query($n: Int) { contacts(first: $n) { totalCount } }", {"n": "ten"},
     "GRAPHQL_VALIDATION_FAILED"),  # variable coercion
    ("{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }", None, "QUERY_TOO_COMPLEX"),
    ('{ events(type: "\\u0000") { nodes { id } } }', None, "VALIDATION"),
])
def test_a_request_error_is_400_for_graphql_response_json_and_200_for_json(
    http: httpx.Client, tenant: TenantData, query: str, variables: Any, code: str
) -> None:
    body = {"query": query, "variables": variables}
    asked = post(http, body, key=tenant.keys["admin"], accept=GRAPHQL_RESPONSE)
    assert asked.status_code == 400
    assert asked.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert only_error(asked)["extensions"]["code"] == code
    legacy = post(http, body, key=tenant.keys["admin"], accept="application/json")
    assert legacy.status_code == 200
    assert legacy.headers["content-type"] == "application/json"
    assert only_error(legacy)["extensions"]["code"] == code


def test_a_field_error_with_data_is_200_in_both(http: httpx.Client) -> None:
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        response = post(http, ME, accept=accept)  # anonymous: `me` fails, data is null
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_errors_outside_graphql_keep_their_status_in_the_asked_media_type(
    http: httpx.Client,
) -> None:
    for accept, media_type in ((GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
                               ("application/json", "application/json")):
        bad_key = post(http, ME, key="nope", accept=accept)
        assert bad_key.status_code == 401
        assert bad_key.headers["content-type"].startswith(media_type)
        not_json = http.post("/graphql", content=b"{nope", headers={
            "content-type": "application/json", "accept": accept})
        assert not_json.status_code == 400
        assert not_json.headers["content-type"].startswith(media_type)

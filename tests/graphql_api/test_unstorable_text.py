"""Text PostgreSQL cannot hold (NUL) is refused at the edge, in variables and in literals, on the
compiled and the ordinary path: a clear error, quickly, never an internal error."""

from __future__ import annotations

import base64
import statistics
import time
import uuid
from typing import Any

import httpx
import orjson
import pytest

from graphql_api.unstorable import unstorable_variables
from tests.conftest import LOGIN, GraphQLClient, LiveServer
from tests.factories import PASSWORD, TenantData, TenantFactory

EVENTS = "query($t: String) { events(type: $t) { nodes { id } } }"
SEARCH = "query($f: CustomerFilter) { contacts(filter: $f) { nodes { id } } }"
AFTER = "query($c: String) { contacts(first: 1, after: $c, sort: NAME_ASC) { nodes { id } } }"


@pytest.fixture(scope="module")
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make()


def refused(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text  # application/json: as other errors
    body = response.json()
    assert "data" not in body, body
    assert len(body["errors"]) == 1, body
    error: dict[str, Any] = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION", error
    assert "NUL" in error["message"]
    return error


@pytest.mark.parametrize(("query", "field"), [
    ('{ events(type: "\\u0000") { nodes { id } } }', "type"),  # a GraphQL escape
    ('{ events(type: "a\\u{0}b") { nodes { id } } }', "type"),
    ('{ events(type: "\x00") { nodes { id } } }', "type"),  # the character itself
    ('{ events(type: """block \x00""") { nodes { id } } }', "type"),
    ('{ contacts(filter: {search: "\\u0000"}) { nodes { id } } }', "search"),
    ('{ contacts(after: "\\u0000") { nodes { id } } }', "after"),
    ('query($t: String = "\\u0000") { events(type: $t) { nodes { id } } }', "$t"),
])
def test_a_nul_in_a_literal_is_refused(gql: GraphQLClient, tenant: TenantData, query: str,
                                       field: str) -> None:
    error = refused(gql.post(query, key=tenant.keys["admin"]))
    assert error["extensions"]["field"] == field
    assert error["locations"]


@pytest.mark.parametrize(("query", "variables", "field"), [
    (EVENTS, {"t": "\x00"}, "variables.t"),
    (SEARCH, {"f": {"search": "客户\x00"}}, "variables.f.search"),
    (AFTER, {"c": "\x00"}, "variables.c"),
])
def test_a_nul_in_a_variable_is_refused(gql: GraphQLClient, tenant: TenantData, query: str,
                                        variables: dict[str, Any], field: str) -> None:
    error = refused(gql.post(query, variables, key=tenant.keys["admin"]))
    assert error["extensions"]["field"] == field
    assert error["extensions"]["fields"][0]["field"] == field


def test_every_string_in_the_variables_is_looked_at() -> None:
    found = unstorable_variables({"a": ["x", {"b": "y\x00", "c": 1}], "d\x00": None, "e": "z"})
    assert [e.field for e in found] == ["variables.a.1.b", "variables.d\\u0000"]
    assert unstorable_variables({"a": ["x", {"b": "ok", "n": None, "t": True}]}) == []


def test_a_nul_in_the_login_email_is_refused_before_any_lookup(
    gql: GraphQLClient, live_server: LiveServer
) -> None:
    browser = httpx.Client(base_url=live_server.url, headers={"x-requested-by": "tests"})
    email = "owner@a.example.com\x00"
    error = refused(gql.post(LOGIN, {"email": email, "password": PASSWORD}, client=browser))
    assert error["extensions"]["field"] == "variables.email"
    literal = ('mutation { login(email: "owner@a.example.com\\u0000", password: "x") '
               "{ tenant { slug } } }")
    assert refused(gql.post(literal, client=browser))["extensions"]["field"] == "email"


def test_a_compiled_plan_refuses_it_too(gql: GraphQLClient, live_server: LiveServer,
                                        tenant: TenantData) -> None:
    plans = live_server.app.state.graphql.plans  # type: ignore[attr-defined]
    key = tenant.keys["admin"]
    gql.data(EVENTS, {"t": "contact.created"}, key=key)  # learned
    hits = plans.hits
    gql.data(EVENTS, {"t": "contact.created"}, key=key)
    assert plans.hits == hits + 1  # the plan answers this document now
    refused(gql.post(EVENTS, {"t": "contact.\x00"}, key=key))
    assert plans.hits == hits + 1


def test_a_cursor_hiding_a_nul_is_a_bad_request(gql: GraphQLClient, tenant: TenantData) -> None:
    hidden = base64.urlsafe_b64encode(orjson.dumps(["a\x00", str(uuid.uuid4())])).decode()
    for _ in range(2):  # the ordinary path, then the compiled one
        response = gql.post(AFTER, {"c": hidden.rstrip("=")}, key=tenant.keys["admin"])
        assert response.status_code == 200
        codes = [e["extensions"]["code"] for e in response.json()["errors"]]
        assert codes == ["BAD_REQUEST"], response.json()


def test_lone_surrogates_never_reach_the_database(live_server: LiveServer,
                                                  tenant: TenantData) -> None:
    url = f"{live_server.url}/graphql"
    headers = {"content-type": "application/json",
               "authorization": f"Bearer {tenant.keys['admin']}"}
    in_json = httpx.post(url, headers=headers,
                         content=b'{"query": "query($t: String) { events(type: $t) '
                                 b'{ nodes { id } } }", "variables": {"t": "\\ud800"}}')
    assert in_json.status_code == 400
    assert in_json.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    escaped = httpx.post(url, headers=headers,
                         content=b'{"query": "{ events(type: \\"\\\\uD800\\") '
                                 b'{ nodes { id } } }"}')
    assert escaped.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_refusing_it_costs_what_an_ordinary_request_costs(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    key = tenant.keys["admin"]
    literal = '{ events(type: "%s") { nodes { id } } }'

    def median_seconds(query: str, variables: dict[str, Any] | None) -> float:
        times = []
        for _ in range(7):
            started = time.perf_counter()
            gql.post(query, variables, key=key)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    ordinary = median_seconds(EVENTS, {"t": "x"})
    assert median_seconds(EVENTS, {"t": "\x00"}) < ordinary * 2 + 0.02
    assert median_seconds(literal % "\\u0000", None) < ordinary * 2 + 0.02

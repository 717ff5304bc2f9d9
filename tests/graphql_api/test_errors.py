"""The error convention: every error has a machine-readable code; limits are enforced."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import GraphQLClient, LiveServer
from tests.factories import TenantData, TenantFactory


@pytest.fixture(scope="module")
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make()


def test_syntax_and_schema_errors_have_codes(gql: GraphQLClient, tenant: TenantData) -> None:
    key = tenant.keys["viewer"]
    assert gql.error("{ contacts(first: ", key=key)["extensions"]["code"] == \
        "GRAPHQL_PARSE_FAILED"
    assert gql.error("{ nope }", key=key)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    error = gql.error("query($n: Int) { contacts(first: $n) { totalCount } }", {"n": "ten"},
                      key=key)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_depth_alias_and_token_limits(gql: GraphQLClient, tenant: TenantData) -> None:
    key = tenant.keys["viewer"]
    # The tests run with GRAPHQL_MAX_DEPTH=4 (12 by default).
    allowed = "{ contacts { edges { node { company { name } } } } }"
    assert "errors" not in gql(allowed, key=key)
    too_deep = "{ contacts { edges { node { company { owner { id } } } } } }"
    assert gql.error(too_deep, key=key)["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    # Fragments do not hide depth.
    hidden = ("{ contacts { edges { node { ...C } } } } "
              "fragment C on Contact { company { owner { id } } }")
    assert gql.error(hidden, key=key)["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }"
    assert gql.error(aliases, key=key)["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    # Aliases hidden in a fragment count too.
    fragments = ("query { ...F } fragment F on Query { "
                 + " ".join(f"b{i}: __typename" for i in range(40)) + " }")
    assert gql.error(fragments, key=key)["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    tokens = "{ " + " ".join("__typename" for _ in range(5000)) + " }"
    assert gql.error(tokens, key=key)["extensions"]["code"] == "QUERY_TOO_COMPLEX"


def test_bad_http_bodies_get_400(live_server: LiveServer) -> None:
    url = f"{live_server.url}/graphql"
    not_json = httpx.post(url, content=b"{nope", headers={"content-type": "application/json"})
    assert not_json.status_code == 400
    assert not_json.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    form = httpx.post(url, data={"query": "{ __typename }"})
    assert form.status_code == 400
    no_query = httpx.post(url, json={"variables": {}})
    assert no_query.status_code == 400


def test_an_oversized_body_is_refused_with_413_whether_or_not_it_says_its_length(
    live_server: LiveServer,
) -> None:
    url = f"{live_server.url}/graphql"
    big = b'{"query": "{ me { role } }", "variables": {"pad": "' + b"x" * 1_100_000 + b'"}}'
    declared = httpx.post(url, content=big, headers={"content-type": "application/json"})
    assert declared.status_code == 413
    assert declared.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    def chunked() -> Iterator[bytes]:  # no Content-Length: the body is counted as it comes
        yield big[:500_000]
        yield big[500_000:]

    streamed = httpx.post(url, content=chunked(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413

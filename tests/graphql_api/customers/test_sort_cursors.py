"""Walking a list page by page visits every row once, in the database's order, on every path.

A cursor must carry the value the database sorted by: PostgreSQL's `lower()` is not Python's
(`"İ".lower()` differs), and a cursor built in Python from a name skipped rows.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient, LiveServer
from tests.factories import TenantData, TenantFactory

NAMES = ["İa", "Ib", "Ic", "Jd"]
SORTS = ["CREATED_AT_DESC", "CREATED_AT_ASC", "UPDATED_AT_DESC", "NAME_ASC", "NAME_DESC"]

# The same page through each path: Strawberry (a directive keeps a query off compiled plans),
# a compiled plan that reads rows (`address` has no SQL form), and a compiled plan whose nodes
# the database renders.
PATHS = {
    "strawberry": "nodes {{ name @include(if: true) }}",
    "compiled": "nodes {{ name address {{ city }} }}",
    "rendered": "nodes {{ name }}",
}
PAGE = """query($after: String) {{
  {field}(first: 1, after: $after, sort: {sort}) {{
    {nodes} pageInfo {{ hasNextPage endCursor }} edges {{ cursor }}
  }}
}}"""


@pytest.fixture(scope="module")
def tenant(tenants: TenantFactory, gql: GraphQLClient) -> TenantData:
    tenant = tenants.make()
    for name in NAMES:
        for kind in ("Contact", "Company"):
            gql.data(f"mutation($n: String!) {{ create{kind}(input: {{name: $n}}) {{ id }} }}",
                     {"n": name}, key=tenant.keys["owner"])
    return tenant


def walk(gql: GraphQLClient, query: str, field: str, key: str) -> list[str]:
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = gql.data(query, {"after": after}, key=key)[field]
        seen += [node["name"] for node in page["nodes"]]
        assert [e["cursor"] for e in page["edges"]][-1:] == [page["pageInfo"]["endCursor"]]
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]
    raise AssertionError(f"no end after {seen}")


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("field", ["contacts", "companies"])
def test_walking_one_row_at_a_time_visits_every_row_in_order(
    gql: GraphQLClient, live_server: LiveServer, tenant: TenantData, field: str, sort: str,
    path: str
) -> None:
    key = tenant.keys["owner"]
    whole = gql.data(f"{{ {field}(first: 100, sort: {sort}) {{ nodes {{ name }} }} }}",
                     key=key)[field]["nodes"]
    expected = [node["name"] for node in whole]
    assert sorted(expected) == sorted(NAMES)
    query = PAGE.format(field=field, sort=sort, nodes=PATHS[path].format())
    gql.data(query, {"after": None}, key=key)  # Strawberry answers first, then the plan
    plans: Any = live_server.app.state.graphql.plans  # type: ignore[attr-defined]
    plan = plans.get(query, None)
    if path == "strawberry":
        assert plan is None
    else:
        assert plan is not None
        assert (plan.root.fields[0].render is not None) == (path == "rendered")
    assert walk(gql, query, field, key) == expected


def test_members_walk_by_name_visits_every_member(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    tenant = tenants.make()
    for i, name in enumerate(NAMES):
        tenants.add_member(tenant, email=f"m{i}-{tenant.slug}@example.com", name=name,
                           role="viewer")
    query = """query($after: String) { members(first: 1, after: $after) {
      nodes { user { name } } pageInfo { hasNextPage endCursor } } }"""
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = gql.data(query, {"after": after}, key=tenant.keys["owner"])["members"]
        seen += [node["user"]["name"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    whole = gql.data("{ members(first: 100) { nodes { user { name } } } }",
                     key=tenant.keys["owner"])["members"]["nodes"]
    assert seen == [node["user"]["name"] for node in whole]
    assert sorted(seen) == sorted([*NAMES, "owner-" + tenant.slug.split("-")[1]])

"""Compiled plans answer exactly what the normal path answers, or hand the request back to it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient, LiveServer
from tests.factories import TenantData, TenantFactory

SEED_COMPANY = "mutation($i: CompanyInput!) { createCompany(input: $i) { id } }"
SEED_CONTACT = "mutation($i: ContactInput!) { createContact(input: $i) { id } }"

SAME_ANSWER = [
    ("{ contacts(first: 50) { nodes { id name email phone createdAt } } }", None),
    ("{ contacts(first: 3) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor "
     "endCursor } edges { cursor node { __typename id name gender birthday deletedAt } } } }",
     None),
    ("query Page($n: Int, $s: CustomerSort, $f: CustomerFilter) { list: contacts(first: $n, "
     "sort: $s, filter: $f) { nodes { nm: name title address { province city postalCode } "
     "company { name domain owner { name email } } owner { id name } } } }",
     {"n": 7, "s": "NAME_DESC", "f": {"search": "客户"}}),
    ("{ companies(sort: NAME_ASC) { nodes { id name industry address { street } owner { name } "
     "} } me { role kind permissions tenant { slug name locale } } }", None),
    ("query($c: ID) { contacts(filter: {companyId: $c}) { totalCount nodes { name } } }",
     "company"),
]


@pytest.fixture(scope="module")
def tenant(tenants: TenantFactory, gql: GraphQLClient) -> TenantData:
    tenant = tenants.make(members={"s": "sales"})
    key = tenant.keys["owner"]
    company = gql.data(SEED_COMPANY, {"i": {
        "name": "深圳前海云帆物流有限公司", "domain": "yunfan.cn",
        "address": {"street": "前海大道 1 号"}}}, key=key)["createCompany"]["id"]
    for i in range(12):
        gql.data(SEED_CONTACT, {"i": {
            "name": f"客户{i:02d}", "title": "经理" if i % 2 else None,
            "gender": ["MALE", "FEMALE", "UNDISCLOSED"][i % 3], "birthday": "1988-08-08",
            "address": {"province": "广东省", "city": "深圳市", "postalCode": "518000"},
            "companyId": company if i % 3 else None}}, key=key)
    tenant.keys["company"] = company
    return tenant


def plans(live_server: LiveServer) -> Any:
    return live_server.app.state.graphql.plans  # type: ignore[attr-defined]


@pytest.mark.parametrize(("query", "variables"), SAME_ANSWER)
def test_the_plan_answers_what_strawberry_answers(
    gql: GraphQLClient, live_server: LiveServer, tenant: TenantData, query: str, variables: Any
) -> None:
    if variables == "company":
        variables = {"c": tenant.keys["company"]}
    key = tenant.keys["owner"]
    first = gql(query, variables, key=key)  # runs through Strawberry, then gets compiled
    assert "errors" not in first
    cache = plans(live_server)
    assert cache.get(query, None) is not None, "this query should compile"
    hits, abandoned = cache.hits, cache.abandoned
    second = gql(query, variables, key=key)
    assert (cache.hits, cache.abandoned) == (hits + 1, abandoned)
    assert second == first
    # Lists are read on the read lane (autocommit, one round trip a statement); `me` reads
    # through the ORM, so its plan left the lane for an ordinary transaction.
    assert cache.get(query, None).read_lane == ("me {" not in query)


def test_a_plan_serves_each_tenant_its_own_rows(
    gql: GraphQLClient, live_server: LiveServer, tenant: TenantData, tenants: TenantFactory
) -> None:
    query = "{ contacts(first: 100) { nodes { name } } }"
    other = tenants.make()
    gql.data(SEED_CONTACT, {"i": {"name": "别家的客户"}}, key=other.keys["owner"])
    mine = gql.data(query, key=tenant.keys["owner"])
    hits = plans(live_server).hits
    theirs = gql.data(query, key=other.keys["owner"])
    assert plans(live_server).hits == hits + 1
    assert theirs == {"contacts": {"nodes": [{"name": "别家的客户"}]}}
    assert "别家的客户" not in str(mine)
    # A sales user through the same plan sees only their own (none here).
    assert gql.data(query, key=tenant.keys["sales"]) == {"contacts": {"nodes": []}}


def test_errors_are_answered_by_the_normal_path(
    gql: GraphQLClient, live_server: LiveServer, tenant: TenantData
) -> None:
    query = "query($a: String) { contacts(first: 2, after: $a) { nodes { name } } }"
    gql.data(query, {"a": None}, key=tenant.keys["owner"])
    assert plans(live_server).get(query, None) is not None
    abandoned = plans(live_server).abandoned
    assert gql.error(query, {"a": "garbage"}, key=tenant.keys["owner"])["extensions"][
        "code"] == "BAD_REQUEST"
    assert gql.error(query, {"a": None})["extensions"]["code"] == "UNAUTHENTICATED"
    assert gql.error(query, {"a": 5}, key=tenant.keys["owner"])["extensions"]["code"] == \
        "GRAPHQL_VALIDATION_FAILED"
    assert plans(live_server).abandoned == abandoned + 3


@pytest.mark.parametrize("query", [
    "{ contacts { nodes { ...F } } } fragment F on Contact { name }",
    "{ contacts { nodes { name @include(if: true) } } }",
    "query($id: ID!) { node(id: $id) { id } }",
])
def test_fragments_directives_and_interfaces_stay_on_the_normal_path(
    gql: GraphQLClient, live_server: LiveServer, tenant: TenantData, query: str
) -> None:
    variables = {"id": tenant.keys["company"]} if "$id" in query else None
    first = gql(query, variables, key=tenant.keys["owner"])
    assert "errors" not in first
    assert plans(live_server).known(query, None)
    assert plans(live_server).get(query, None) is None
    assert gql(query, variables, key=tenant.keys["owner"]) == first

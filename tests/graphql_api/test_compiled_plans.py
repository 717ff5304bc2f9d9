"""Compiled plans answer exactly what the normal path answers, or hand the request back to it."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from infra import db
from tests.conftest import GraphQLClient, LiveServer, login
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
    ('{ contacts(first: 4, sort: NAME_ASC, filter: {search: "客户1"}) { nodes { name } } }',
     None),
    # Rendered nodes with cursors: the keys come back as text and are parsed on demand.
    ("{ contacts(first: 5) { nodes { id name createdAt } pageInfo { hasNextPage startCursor "
     "endCursor } } }", None),
    ("{ companies(first: 5, sort: NAME_DESC) { nodes { id name } pageInfo { endCursor } } }",
     None),
    # `me` reads through the ORM: the rendered list then runs in an ordinary transaction.
    ("{ me { role } contacts(first: 3) { nodes { id name company { name } } } }", None),
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
    # The third run takes what the second learnt once (arguments written as literals).
    third = gql(query, variables, key=key)
    assert (cache.hits, cache.abandoned) == (hits + 2, abandoned)
    assert second == first
    assert third == first
    # Literal arguments of immutable values were converted once and kept; anything with a
    # variable or an input object is converted per request.
    plan = cache.get(query, None)
    for fp in plan.root.fields:
        if fp.has_args:
            literal_only = "$" not in query and "filter:" not in query
            assert (fp.literal_args is not None) == literal_only, fp.key
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
    member = tenant.members["s"]
    sales = login(live_server, gql, member.email, member.password)
    try:
        assert gql.data(query, client=sales) == {"contacts": {"nodes": []}}
    finally:
        sales.close()


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


RENDERED = [
    "{ contacts(first: 50, filter: {includeDeleted: true}) { totalCount edges { cursor } "
    "pageInfo { endCursor hasNextPage } nodes { __typename id nm: name email phone title "
    "notes birthday createdAt updatedAt deletedAt } } }",
    "query($a: String) { contacts(first: 4, after: $a, sort: NAME_ASC) { pageInfo { endCursor } "
    "nodes { id name } } }",
    "{ companies(sort: NAME_DESC) { nodes { id name domain industry email createdAt } } }",
]


@pytest.mark.parametrize("query", RENDERED)
def test_lists_of_plain_fields_are_rendered_by_the_database_as_strawberry_would(
    gql: GraphQLClient, live_server: LiveServer, tenant: TenantData,
    owner_conn: psycopg.Connection[Any], query: str
) -> None:
    key = tenant.keys["owner"]
    tricky = 'quote " backslash \\ tab \t newline \n emoji 😀 零宽\u200b </script>'
    made = gql.data(SEED_CONTACT, {"i": {"name": "渲染测试", "notes": tricky,
                                         "birthday": "2000-02-29"}}, key=key)["createContact"]
    tricky += " 控制\u0001"  # refused as input, but rows may come from elsewhere (imports)
    gql.data("mutation($id: ID!) { deleteContact(id: $id) { id } }", {"id": made["id"]},
             key=key)
    # A timestamp on a whole second, which Python's isoformat would print without a fraction.
    owner_conn.execute("update contacts set created_at = date_trunc('second', created_at), "
                       "notes = %s where tenant_id = %s and name = '渲染测试'",
                       (tricky, tenant.id))
    owner_conn.commit()
    variables = {"a": None}
    first = gql(query, variables, key=key)  # Strawberry
    assert "errors" not in first
    plan = plans(live_server).get(query, None)
    assert plan is not None and plan.root.fields[0].render is not None
    hits = plans(live_server).hits
    sent: list[str] = []
    db.statement_listeners.append(sent.append)
    try:
        assert gql(query, variables, key=key) == first  # the plan, the database rendering
    finally:
        db.statement_listeners.remove(sent.append)
    assert plans(live_server).hits == hits + 1
    assert any("json_build_object(" in statement for statement in sent)
    if "notes" in query:
        node = next(n for n in first["data"]["contacts"]["nodes"] if n["nm"] == "渲染测试")
        assert node["notes"] == tricky and node["birthday"] == "2000-02-29"
        assert node["createdAt"].endswith(".000000+00:00") and node["deletedAt"] is not None
    if "$a" in query:  # a rendered page's cursor continues where the normal path's would
        after = {"a": first["data"]["contacts"]["pageInfo"]["endCursor"]}
        assert gql(query, after, key=key) == gql(query.replace("first: 4", "first: 4 "),
                                                 after, key=key)
    gql.data("mutation($id: ID!) { restoreContact(id: $id) { id } }", {"id": made["id"]},
             key=key)
    owner_conn.execute("delete from contacts where tenant_id = %s and name = '渲染测试'",
                       (tenant.id,))
    owner_conn.commit()


def test_a_rendered_list_in_an_ordinary_transaction_reads_the_same(
    gql: GraphQLClient, live_server: LiveServer, tenant: TenantData
) -> None:
    query = "{ me { kind } contacts(first: 3) { nodes { id name company { name } } } }"
    key = tenant.keys["owner"]
    first = gql(query, key=key)  # Strawberry
    gql(query, key=key)  # the plan, which leaves the read lane for `me`
    plan = plans(live_server).get(query, None)
    assert plan is not None and not plan.read_lane
    sent: list[str] = []
    db.statement_listeners.append(sent.append)
    try:
        assert gql(query, key=key) == first
    finally:
        db.statement_listeners.remove(sent.append)
    assert any("json_build_object(" in statement for statement in sent)

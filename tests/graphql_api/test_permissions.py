"""Roles over GraphQL: viewers read only, sales see and edit only their own, managers see all."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import TenantData, TenantFactory

CREATE = "mutation($input: ContactInput!) { createContact(input: $input) { id owner { email } } }"
UPDATE = "mutation($id: ID!, $name: String) { updateContact(id: $id, input: {name: $name}) { id } }"
LIST = "{ contacts(first: 100) { nodes { name } } }"
UPDATE_OWNER = """mutation($id: ID!, $owner: ID) {
  updateContact(id: $id, input: {ownerId: $owner}) { id } }"""
@pytest.fixture
def team(tenants: TenantFactory) -> TenantData:
    return tenants.make(members={"alice": "sales", "bob": "sales", "mia": "manager",
                                 "vic": "viewer"})


def test_viewer_cannot_write(gql: GraphQLClient, team: TenantData) -> None:
    error = gql.error(CREATE, {"input": {"name": "x"}}, key=team.keys["viewer"])
    assert error["extensions"] == {"code": "FORBIDDEN", "permission": "customers:write"}
    assert error["path"] == ["createContact"]
    assert gql.data(LIST, key=team.keys["owner"])["contacts"]["nodes"] == []


def test_sales_see_and_edit_only_their_own_and_managers_see_all(
    gql: GraphQLClient, live_server: LiveServer, team: TenantData
) -> None:
    alice = login(live_server, gql, team.members["alice"].email, team.members["alice"].password)
    bob = login(live_server, gql, team.members["bob"].email, team.members["bob"].password)
    mia = login(live_server, gql, team.members["mia"].email, team.members["mia"].password)

    mine = gql.data(CREATE, {"input": {"name": "Alice 的客户"}}, client=alice)["createContact"]
    assert mine["owner"]["email"] == team.members["alice"].email
    gql.data(CREATE, {"input": {"name": "Bob 的客户"}}, client=bob)

    assert gql.data(LIST, client=alice)["contacts"]["nodes"] == [{"name": "Alice 的客户"}]
    assert gql.data(LIST, client=bob)["contacts"]["nodes"] == [{"name": "Bob 的客户"}]
    assert {n["name"] for n in gql.data(LIST, client=mia)["contacts"]["nodes"]} == {
        "Alice 的客户", "Bob 的客户"}

    # Bob can neither see nor change Alice's contact, even by ID.
    assert gql.error(UPDATE, {"id": mine["id"], "name": "stolen"},
                     client=bob)["extensions"]["code"] == "NOT_FOUND"
    # Sales cannot hand customers to someone else; managers can.
    bob_id = gql.data("{ me { user { id } } }", client=bob)["me"]["user"]["id"]
    error = gql.error(CREATE, {"input": {"name": "x", "ownerId": bob_id}}, client=alice)
    assert error["extensions"]["code"] == "FORBIDDEN"
    # Nor leave one without an owner (nobody would see it but managers).
    error = gql.error(UPDATE_OWNER, {"id": mine["id"], "owner": None}, client=alice)
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("FORBIDDEN", "ownerId")
    given = gql.data(CREATE, {"input": {"name": "给 Bob", "ownerId": bob_id}}, client=mia)
    assert given["createContact"]["owner"]["email"] == team.members["bob"].email
    assert len(gql.data(LIST, client=bob)["contacts"]["nodes"]) == 2

    # A sales role can't delete, nor read the audit log.
    error = gql.error("mutation($id: ID!) { deleteContact(id: $id) { id } }", {"id": mine["id"]},
                      client=alice)
    assert error["extensions"]["code"] == "FORBIDDEN"


def test_anonymous_callers_are_unauthenticated(gql: GraphQLClient) -> None:
    error = gql.error(LIST)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("header", [
    "Bearer crm_0123456789abcdef0123456789abcdef_notarealkeynotarealkeynotarealkey",
    "Bearer garbage",
    "Basic dXNlcjpwYXNz",
])
def test_bad_credentials_get_401_with_a_code(live_server: LiveServer, header: str) -> None:
    response = httpx.post(f"{live_server.url}/graphql", json={"query": "{ me { role } }"},
                          headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_references_rendered_by_the_database_follow_the_loaders_visibility_rules(
    gql: GraphQLClient, live_server: LiveServer, team: TenantData
) -> None:
    """A sales user's contact may belong to a company they do not own: on every path its
    `company` is null for them, and deleted companies show only to roles that may delete."""
    alice = login(live_server, gql, team.members["alice"].email, team.members["alice"].password)
    mia = login(live_server, gql, team.members["mia"].email, team.members["mia"].password)
    owner = team.keys["owner"]
    alice_id = gql.data("{ me { user { id } } }", client=alice)["me"]["user"]["id"]
    theirs = gql.data("mutation { createCompany(input: {name: \"别人的公司\"}) { id } }",
                      key=owner)["createCompany"]["id"]
    hers = gql.data("mutation($o: ID) { createCompany(input: {name: \"她的公司\", ownerId: $o}) "
                    "{ id } }", {"o": alice_id}, key=owner)["createCompany"]["id"]
    gone = gql.data("mutation { createCompany(input: {name: \"已删除的公司\"}) { id } }",
                    key=owner)["createCompany"]["id"]
    for name, company in (("甲", theirs), ("乙", hers), ("丙", gone)):
        gql.data(CREATE, {"input": {"name": name, "companyId": company, "ownerId": alice_id}},
                 key=owner)
    gql.data("mutation($id: ID!) { deleteCompany(id: $id) { id } }", {"id": gone}, key=owner)

    query = ("{ contacts(sort: NAME_ASC) { nodes { name company { name owner { name } } "
             "owner { name } } } }")
    cache = live_server.app.state.graphql.plans  # type: ignore[attr-defined]
    seen = {}
    for who, auth in (("alice", {"client": alice}), ("mia", {"client": mia}),
                      ("owner", {"key": owner})):
        first = gql.data(query, **auth)  # type: ignore[arg-type]
        hits = cache.hits
        second = gql.data(query, **auth)  # type: ignore[arg-type]
        assert cache.hits == hits + 1 and cache.get(query, None).root.fields[0].render
        assert second == first, who  # the database's rendering = the loaders' answer
        seen[who] = {n["name"]: (n["company"] or {}).get("name") for n in second["contacts"][
            "nodes"]}
    assert seen["alice"] == {"甲": None, "乙": "她的公司", "丙": None}
    # Managers read all and may delete, so they see the deleted company too.
    assert seen["mia"] == seen["owner"] == {
        "甲": "别人的公司", "乙": "她的公司", "丙": "已删除的公司"}

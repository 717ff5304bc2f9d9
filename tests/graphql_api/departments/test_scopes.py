"""Data scopes through GraphQL over HTTP: each of the five scopes, with a tree of departments
and a reporting chain, in every form the record rule takes (list, totalCount, lookup by id,
node(id:), the search filter, references loaded and rendered, counts per owner, writes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import GraphQLClient, LiveServer
from tests.factories import TenantFactory
from tests.graphql_api.departments.org import PEOPLE, Org

LIST = """query($f: CustomerFilter) { contacts(first: 100, filter: $f) {
  totalCount nodes { id name company { id } } } }"""
COMPANIES = "{ companies(first: 100) { totalCount nodes { id } } }"
GET = "query($id: ID!) { contact(id: $id) { id company { id name } } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"
COUNTS = "{ contactCountsByOwner { count } }"
SEARCH = """query($q: String!) { customerSearch(query: $q, first: 50) { totalCount
  nodes { id } } }"""
UPDATE = """mutation($id: ID!) { updateContact(id: $id, input: {title: "经理"}) { id title } }"""
LINK = """mutation($id: ID!, $c: ID!) { updateContact(id: $id, input: {companyId: $c}) {
  id } }"""

# Whom `east` sees under each scope (east: 华东组, reports to lead; sh reports to east and is
# in 上海小组 under 华东组; east2 is in 华东组 too; north and lead are elsewhere).
SEEN_BY_EAST = {
    "OWN": {"east"},
    "SUBORDINATES": {"east", "sh"},
    "DEPARTMENT": {"east", "east2"},
    "DEPARTMENT_TREE": {"east", "east2", "sh"},
    "ALL": set(PEOPLE),
}


@pytest.fixture(scope="module")
def org(gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> Iterator[Org]:
    made = Org(gql, live_server, tenants)
    # A contact of east's linked to north's company: the reference shows only when the
    # company is visible too.
    made.admin_data(LINK, {"id": made.contacts["east"], "c": made.companies["north"]})
    yield made
    made.close()


@pytest.mark.parametrize("scope", list(SEEN_BY_EAST))
def test_each_scope_reaches_the_records_it_names_by_every_route(org: Org, scope: str) -> None:
    answer = org.set_scope(scope)
    assert answer["dataScope"] == scope
    assert ("customers:read_all" in answer["permissions"]) == (scope == "ALL")
    expected = SEEN_BY_EAST[scope]

    listed = org.as_("east", LIST)["contacts"]
    assert org.whose([n["id"] for n in listed["nodes"]]) == expected
    assert listed["totalCount"] == len(expected)
    companies = org.as_("east", COMPANIES)["companies"]
    assert org.whose([n["id"] for n in companies["nodes"]], "companies") == expected
    assert companies["totalCount"] == len(expected)
    searched = org.as_("east", LIST, {"f": {"search": "客户-"}})["contacts"]
    assert org.whose([n["id"] for n in searched["nodes"]]) == expected
    assert sum(c["count"] for c in org.as_("east", COUNTS)["contactCountsByOwner"]) == len(
        expected)
    found = org.as_("east", SEARCH, {"q": "客户-"})["customerSearch"]
    assert org.whose([n["id"] for n in found["nodes"]]) == expected
    assert found["totalCount"] == len(expected)
    companies_found = org.as_("east", SEARCH, {"q": "公司-"})["customerSearch"]["nodes"]
    assert org.whose([n["id"] for n in companies_found], "companies") == expected

    for person in PEOPLE:
        id = org.contacts[person]
        node = org.as_("east", NODE, {"id": id})["node"]
        if person in expected:
            assert org.as_("east", GET, {"id": id})["contact"]["id"] == id
            assert node == {"id": id}
            assert org.as_("east", UPDATE, {"id": id})["updateContact"]["title"] == "经理"
        else:
            assert org.error_as("east", GET, {"id": id})["extensions"]["code"] == "NOT_FOUND"
            assert node is None
            assert org.error_as("east", UPDATE, {"id": id})["extensions"]["code"] == "NOT_FOUND"

    # The reference to north's company: rendered by the database in the list, loaded by the
    # data loader in the lookup; both by the same rule.
    company = {"id": org.companies["north"]} if "north" in expected else None
    mine = next(n for n in listed["nodes"] if n["id"] == org.contacts["east"])
    assert mine["company"] == company
    looked_up = org.as_("east", GET, {"id": org.contacts["east"]})["contact"]["company"]
    assert (looked_up and {"id": looked_up["id"]}) == company


def test_a_department_manager_sees_the_department_they_manage(org: Org) -> None:
    """north manages 华东组 without belonging to it: the department scopes count it."""
    org.set_scope("DEPARTMENT")
    org.admin_data("""mutation($d: ID!, $u: [ID!]!) { setDepartmentManagers(id: $d,
        userIds: $u) { managers { id } } }""", {"d": org.depts["华东组"], "u": [org.user("north")]})
    try:
        listed = org.as_("north", LIST)["contacts"]["nodes"]
        assert org.whose([n["id"] for n in listed]) == {"north", "east", "east2"}
    finally:
        org.admin_data("""mutation($d: ID!) { setDepartmentManagers(id: $d, userIds: []) {
            id } }""", {"d": org.depts["华东组"]})


def test_the_scope_follows_the_reporting_chain_down_any_depth(org: Org) -> None:
    org.set_scope("SUBORDINATES")
    listed = org.as_("lead", LIST)["contacts"]["nodes"]
    assert org.whose([n["id"] for n in listed]) == set(PEOPLE)  # sh through east
    listed = org.as_("sh", LIST)["contacts"]["nodes"]
    assert org.whose([n["id"] for n in listed]) == {"sh"}


def test_managers_viewers_and_admins_keep_seeing_everything_and_sales_start_with_own(
        gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant = tenants.make()
    roles = gql.data("{ roles { key dataScope } }", key=tenant.keys["viewer"])["roles"]
    assert {r["key"]: r["dataScope"] for r in roles} == {
        "owner": "ALL", "admin": "ALL", "manager": "ALL", "viewer": "ALL", "sales": "OWN"}


def test_only_admins_change_a_scope_and_some_roles_cannot_lose_all(org: Org) -> None:
    error = org.error_as("east", "mutation { setRoleDataScope(role: \"sales\", scope: ALL) "
                         "{ key } }")
    assert error["extensions"]["code"] == "FORBIDDEN"
    error = org.gql.error("mutation { setRoleDataScope(role: \"owner\", scope: OWN) { key } }",
                          key=org.admin)
    assert error["extensions"]["code"] == "CONFLICT"
    # The viewer role is held by an API key, which acts for no user: it keeps ALL.
    error = org.gql.error("mutation { setRoleDataScope(role: \"viewer\", scope: DEPARTMENT) "
                          "{ key } }", key=org.admin)
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["field"] == "scope"
    error = org.gql.error("mutation { setRoleDataScope(role: \"nobody\", scope: OWN) { key } }",
                          key=org.admin)
    assert error["extensions"]["code"] == "NOT_FOUND"
    body = org.gql("mutation { setRoleDataScope(role: \"sales\", scope: EVERYONE) { key } }",
                   key=org.admin)
    assert body["errors"] and not body.get("data")  # not a value of the enum: never runs


def test_a_scope_change_is_audited_with_before_and_after(org: Org) -> None:
    org.set_scope("OWN")
    org.set_scope("DEPARTMENT_TREE")
    entries = org.admin_data("""{ auditLog(first: 5, filter: {entityType: "role"}) {
        nodes { action before after } } }""")["auditLog"]["nodes"]
    assert entries[0]["action"] == "updated"
    assert entries[0]["before"]["dataScope"] == "OWN"
    assert entries[0]["after"]["dataScope"] == "DEPARTMENT_TREE"
    events = org.admin_data("{ events(first: 50) { nodes { eventType } } }")["events"]["nodes"]
    assert "role.updated" in {e["eventType"] for e in events}


def test_another_tenant_sees_nothing_of_the_organisation(
        org: Org, gql: GraphQLClient, tenants: TenantFactory) -> None:
    other = tenants.make()
    key = other.keys["owner"]
    assert gql.data("{ departments(first: 50) { totalCount } }", key=key) == {
        "departments": {"totalCount": 0}}
    for id in (*org.depts.values(), *org.contacts.values()):
        assert gql.data(NODE, {"id": id}, key=key) == {"node": None}
    error = gql.error("query($id: ID!) { department(id: $id) { id } }",
                      {"id": org.depts["销售部"]}, key=key)
    assert error["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("scope", ["OWN", "DEPARTMENT"])
def test_a_tag_filter_keeps_the_scope(org: Org, scope: str) -> None:
    """A link condition (tagIds) brings the tags' own rule: the list's scope stands."""
    org.set_scope(scope)
    tag = org.admin_data("mutation($n: String!) { createTag(input: {name: $n}) { id } }",
                         {"n": f"范围标签{scope}"})["createTag"]["id"]
    for person in ("east", "east2", "north"):
        org.admin_data("mutation($id: ID!, $t: [ID!]!) { tagContact(id: $id, tagIds: $t) "
                       "{ id } }", {"id": org.contacts[person], "t": [tag]})
    listed = org.as_("east", LIST, {"f": {"tagIds": [tag]}})["contacts"]
    expected = {"east"} if scope == "OWN" else {"east", "east2"}
    assert org.whose([n["id"] for n in listed["nodes"]]) == expected
    assert listed["totalCount"] == len(expected)


@pytest.mark.parametrize(("scope", "seen"), [("OWN", {"east"}), ("DEPARTMENT", {"east", "east2"})])
def test_interactions_follow_the_scope_too(org: Org, scope: str, seen: set[str]) -> None:
    """Every owned entity gets the scopes from its declaration: interactions by their author."""
    org.set_scope(scope)
    types = org.admin_data("{ interactionTypes(first: 20) { nodes { id key } } }")
    call = next(n["id"] for n in types["interactionTypes"]["nodes"] if n["key"] == "CALL")
    logged = {}
    for person in ("east", "east2", "north"):
        logged[person] = org.as_(person, """mutation($t: ID!, $c: ID!, $s: String!) {
            createInteraction(input: {typeId: $t, contactId: $c, subject: $s}) { id } }""",
                                 {"t": call, "c": org.contacts[person],
                                  "s": f"{scope}-{person}"})["createInteraction"]["id"]
    listed = org.as_("east", "{ interactions(first: 100) { nodes { id } } }")
    ids = {n["id"] for n in listed["interactions"]["nodes"]}
    assert {p for p, i in logged.items() if i in ids} == seen

"""The department tree through GraphQL over HTTP: it stays a tree, members and managers are the
tenant's own, a department with members or sub-departments is not deleted, reporting lines
never loop; every write audited; another tenant's ids refused everywhere."""

from __future__ import annotations

import pytest

from infra.global_ids import to_global_id
from tests.conftest import GraphQLClient, LiveServer
from tests.factories import TenantFactory
from tests.graphql_api.departments.org import ASSIGN, CREATE_DEPT, SUPERIOR, Org

MOVE = """mutation($id: ID!, $p: ID) { updateDepartment(id: $id, input: {parentId: $p}) {
  id parent { id } } }"""
DELETE = "mutation($id: ID!) { removeDepartment(id: $id) { id name } }"
MANAGERS = """mutation($id: ID!, $u: [ID!]!) { setDepartmentManagers(id: $id, userIds: $u) {
  id managers { id } } }"""
TREE = """{ departments(first: 100) { totalCount nodes { id name position memberCount
  parent { id } managers { id } } } }"""
MEMBERS = """query($d: ID) { members(first: 50, filter: {departmentId: $d}) {
  nodes { id department { name } superior { id } } } }"""


@pytest.fixture
def org(gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> Org:
    return Org(gql, live_server, tenants)


def test_the_tree_reads_back_with_parents_members_and_managers(org: Org) -> None:
    org.admin_data(MANAGERS, {"id": org.depts["销售部"], "u": [org.user("lead")]})
    nodes = {n["name"]: n for n in org.admin_data(TREE)["departments"]["nodes"]}
    assert nodes["华东组"]["parent"] == {"id": org.depts["销售部"]}
    assert nodes["销售部"]["parent"] is None
    assert nodes["华东组"]["memberCount"] == 2
    assert nodes["销售部"]["managers"] == [{"id": org.user("lead")}]
    members = org.admin_data(MEMBERS, {"d": org.depts["华东组"]})["members"]["nodes"]
    assert {m["id"] for m in members} == {org.member("east"), org.member("east2")}
    assert all(m["department"] == {"name": "华东组"} for m in members)
    assert all(m["superior"] == {"id": org.user("lead")} for m in members)
    # Everyone may read the organisation (owner pickers and scopes name it).
    assert org.as_("east", TREE)["departments"]["totalCount"] == 4


def test_a_department_never_moves_under_itself_or_its_descendants(org: Org) -> None:
    for parent in ("销售部", "华东组", "上海小组"):
        error = org.gql.error(MOVE, {"id": org.depts["销售部"], "p": org.depts[parent]},
                              key=org.admin)
        assert error["extensions"]["code"] == "CONFLICT", parent
        assert error["extensions"]["field"] == "parentId"
    moved = org.admin_data(MOVE, {"id": org.depts["上海小组"], "p": org.depts["华北组"]})
    assert moved["updateDepartment"]["parent"] == {"id": org.depts["华北组"]}
    top = org.admin_data(MOVE, {"id": org.depts["华北组"], "p": None})
    assert top["updateDepartment"]["parent"] is None


def test_sibling_names_are_unique_whatever_their_case_and_names_are_checked(org: Org) -> None:
    error = org.gql.error(CREATE_DEPT, {"input": {"name": "华东组", "parentId":
                                                  org.depts["销售部"]}}, key=org.admin)
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["field"] == "name"
    # The same name elsewhere in the tree is another department.
    org.admin_data(CREATE_DEPT, {"input": {"name": "华东组", "parentId": org.depts["华北组"]}})
    for bad in ("", "a\u0000b", "x" * 101, "\u202e反转"):
        error = org.gql.error(CREATE_DEPT, {"input": {"name": bad}}, key=org.admin)
        assert error["extensions"]["code"] == "VALIDATION", bad
    error = org.gql.error(CREATE_DEPT, {"input": {"name": "研发部", "position": -1}},
                          key=org.admin)
    assert error["extensions"]["fields"][0]["field"] == "position"


def test_a_department_with_members_or_children_is_not_deleted(org: Org) -> None:
    error = org.gql.error(DELETE, {"id": org.depts["销售部"]}, key=org.admin)
    assert (error["extensions"]["code"], error["extensions"]["reason"]) == (
        "CONFLICT", "has_children")
    error = org.gql.error(DELETE, {"id": org.depts["上海小组"]}, key=org.admin)
    assert (error["extensions"]["code"], error["extensions"]["reason"]) == (
        "CONFLICT", "has_members")
    org.admin_data(ASSIGN, {"d": None, "m": [org.member("sh")]})
    assert org.admin_data(DELETE, {"id": org.depts["上海小组"]})["removeDepartment"][
        "name"] == "上海小组"
    error = org.gql.error("query($id: ID!) { department(id: $id) { id } }",
                          {"id": org.depts["上海小组"]}, key=org.admin)
    assert error["extensions"]["code"] == "NOT_FOUND"
    trail = org.admin_data("""query($id: ID!) { auditLog(first: 5, filter: {entityId: $id}) {
        nodes { action } } }""", {"id": org.depts["上海小组"]})["auditLog"]["nodes"]
    assert [n["action"] for n in trail][:1] == ["deleted"]


def test_a_reporting_line_never_loops(org: Org) -> None:
    for person in ("lead", "east"):  # lead <- east <- sh: neither may report to sh
        error = org.gql.error(SUPERIOR, {"m": org.member(person), "s": org.user("sh")},
                              key=org.admin)
        assert error["extensions"]["code"] == "CONFLICT", person
    error = org.gql.error(SUPERIOR, {"m": org.member("sh"), "s": org.user("sh")},
                          key=org.admin)
    assert error["extensions"]["code"] == "CONFLICT"
    cleared = org.admin_data(SUPERIOR, {"m": org.member("sh"), "s": None})
    assert cleared["setMemberSuperior"]["superior"] is None


def test_only_admins_shape_the_organisation(org: Org) -> None:
    for query, variables in (
            (CREATE_DEPT, {"input": {"name": "研发部"}}),
            (MOVE, {"id": org.depts["华北组"], "p": None}),
            (DELETE, {"id": org.depts["上海小组"]}),
            (MANAGERS, {"id": org.depts["华北组"], "u": [org.user("north")]}),
            (ASSIGN, {"d": org.depts["华北组"], "m": [org.member("east")]}),
            (SUPERIOR, {"m": org.member("east"), "s": None})):
        error = org.error_as("east", query, variables)
        assert error["extensions"]["code"] == "FORBIDDEN", query
    manager_key = org.tenant.keys["manager"]
    error = org.gql.error(CREATE_DEPT, {"input": {"name": "研发部"}}, key=manager_key)
    assert error["extensions"]["code"] == "FORBIDDEN"


def test_another_tenants_ids_are_refused_in_every_input(
        org: Org, gql: GraphQLClient, tenants: TenantFactory) -> None:
    other = tenants.make(members={"zed": "sales"})
    theirs = gql.data(CREATE_DEPT, {"input": {"name": "他部"}}, key=other.keys["owner"])[
        "createDepartment"]["id"]
    zed_user = to_global_id("User", other.members["zed"].user_id)
    zed_member = to_global_id("Member", other.members["zed"].user_id)

    def code(query: str, variables: dict[str, object]) -> str:
        return org.gql.error(query, variables, key=org.admin)["extensions"]["code"]

    assert code(CREATE_DEPT, {"input": {"name": "研发部", "parentId": theirs}}) == "VALIDATION"
    assert code(MOVE, {"id": org.depts["华北组"], "p": theirs}) == "VALIDATION"
    assert code(MOVE, {"id": theirs, "p": None}) == "NOT_FOUND"
    assert code(DELETE, {"id": theirs}) == "NOT_FOUND"
    assert code(MANAGERS, {"id": theirs, "u": []}) == "NOT_FOUND"
    assert code(MANAGERS, {"id": org.depts["华北组"], "u": [zed_user]}) == "VALIDATION"
    assert code(ASSIGN, {"d": theirs, "m": [org.member("east")]}) == "VALIDATION"
    assert code(ASSIGN, {"d": org.depts["华北组"], "m": [zed_member]}) == "NOT_FOUND"
    assert code(SUPERIOR, {"m": zed_member, "s": None}) == "NOT_FOUND"
    assert code(SUPERIOR, {"m": org.member("east"), "s": zed_user}) == "VALIDATION"
    # Nothing of theirs changed.
    assert gql.data("query($id: ID!) { department(id: $id) { name parent { id } } }",
                    {"id": theirs}, key=other.keys["owner"]) == {
        "department": {"name": "他部", "parent": None}}


def test_assigning_members_is_audited_per_member(org: Org) -> None:
    org.admin_data(ASSIGN, {"d": org.depts["华北组"], "m": [org.member("east"),
                                                             org.member("east2")]})
    for person in ("east", "east2"):
        trail = org.admin_data("""query($id: ID!) { auditLog(first: 10, filter: {entityId:
            $id, entityType: "membership"}) { nodes { action before after } } }""",
                               {"id": org.user(person)})["auditLog"]["nodes"]
        assert trail[0]["before"]["departmentId"] == org.depts["华东组"]
        assert trail[0]["after"]["departmentId"] == org.depts["华北组"]

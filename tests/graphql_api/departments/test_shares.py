"""Records shared with a member or a department, through GraphQL over HTTP: a share admits the
record to the sharee's lists, counts and lookups by the same rule; read-only refuses writes
(FORBIDDEN), read-write allows them; a department share reaches the departments under it."""

from __future__ import annotations

import pytest

from infra.global_ids import to_global_id
from tests.conftest import GraphQLClient, LiveServer
from tests.factories import TenantFactory
from tests.graphql_api.departments.org import Org

SHARE = """mutation($r: ID!, $a: ShareAccess!, $u: ID, $d: ID) {
  shareRecord(recordId: $r, access: $a, userId: $u, departmentId: $d) {
    id access user { id } department { id } } }"""
UNSHARE = "mutation($id: ID!) { unshareRecord(id: $id) { id } }"
SHARES = "query($r: ID!) { shares(recordId: $r) { id access user { id } } }"
LIST = "{ contacts(first: 50) { totalCount nodes { id } } }"
GET = "query($id: ID!) { contact(id: $id) { id name } }"
UPDATE = """mutation($id: ID!) { updateContact(id: $id, input: {title: "共享"}) { title } }"""
TAG_IT = """mutation($id: ID!, $t: [ID!]!) { tagContact(id: $id, tagIds: $t) { id } }"""


@pytest.fixture
def org(gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> Org:
    made = Org(gql, live_server, tenants)
    made.set_scope("OWN")
    return made


def _seen(org: Org, person: str) -> set[str]:
    answer = org.as_(person, LIST)["contacts"]
    assert answer["totalCount"] == len(answer["nodes"])
    return org.whose([n["id"] for n in answer["nodes"]])


def test_a_read_only_share_shows_the_record_and_refuses_writes(org: Org) -> None:
    north = org.contacts["north"]
    share = org.as_("north", SHARE, {"r": north, "a": "READ", "u": org.user("east")})[
        "shareRecord"]
    assert share["access"] == "READ" and share["user"] == {"id": org.user("east")}
    assert _seen(org, "east") == {"east", "north"}
    assert org.as_("east", GET, {"id": north})["contact"]["id"] == north
    assert org.as_("east", "query($id: ID!) { node(id: $id) { id } }", {"id": north}) == {
        "node": {"id": north}}
    for query, variables in ((UPDATE, {"id": north}),
                             ("mutation($id: ID!) { deleteContact(id: $id) { id } }",
                              {"id": north})):
        error = org.error_as("east", query, variables)
        assert error["extensions"]["code"] in ("FORBIDDEN",), query
    # Not shared onwards: east2 sees nothing of north's.
    assert _seen(org, "east2") == {"east2"}

    # Read-write: sharing again changes the access, and the write goes through.
    org.as_("north", SHARE, {"r": north, "a": "WRITE", "u": org.user("east")})
    assert org.as_("east", UPDATE, {"id": north})["updateContact"]["title"] == "共享"

    shares = org.as_("north", SHARES, {"r": north})["shares"]
    assert [(s["access"], s["user"]["id"]) for s in shares] == [("WRITE", org.user("east"))]
    org.as_("north", UNSHARE, {"id": shares[0]["id"]})
    assert _seen(org, "east") == {"east"}
    trail = org.admin_data("""query($id: ID!) { auditLog(first: 10, filter: {entityId: $id}) {
        nodes { action } } }""", {"id": north})["auditLog"]["nodes"]
    assert [n["action"] for n in trail][:4] == ["unshared", "updated", "shared", "shared"]


def test_a_department_share_reaches_its_members_and_the_departments_under_it(org: Org) -> None:
    north = org.contacts["north"]
    org.admin_data(SHARE, {"r": north, "a": "READ", "d": org.depts["华东组"]})
    assert _seen(org, "east") == {"east", "north"}
    assert _seen(org, "sh") == {"sh", "north"}  # 上海小组 is under 华东组
    assert _seen(org, "lead") == {"lead"}  # 销售部 is above it: not reached
    # Companies are shared on their own.
    org.admin_data(SHARE, {"r": org.companies["lead"], "a": "READ", "d": org.depts["销售部"]})
    companies = org.as_("sh", "{ companies(first: 50) { nodes { id } } }")["companies"]["nodes"]
    assert org.whose([c["id"] for c in companies], "companies") == {"sh", "lead"}


def test_only_who_may_change_a_record_shares_it(org: Org) -> None:
    north = org.contacts["north"]
    error = org.error_as("east", SHARE, {"r": north, "a": "WRITE", "u": org.user("east")})
    assert error["extensions"]["code"] == "NOT_FOUND"  # not visible to east at all
    org.as_("north", SHARE, {"r": north, "a": "READ", "u": org.user("east")})
    error = org.error_as("east", SHARE, {"r": north, "a": "WRITE", "u": org.user("east")})
    assert error["extensions"]["code"] == "FORBIDDEN"  # read-only: no widening it oneself
    viewer = org.gql.error(SHARE, {"r": north, "a": "READ", "u": org.user("east")},
                           key=org.tenant.keys["viewer"])
    assert viewer["extensions"]["code"] == "FORBIDDEN"


def test_share_inputs_are_checked_and_another_tenants_ids_refused(
        org: Org, gql: GraphQLClient, tenants: TenantFactory) -> None:
    other = tenants.make(members={"zed": "sales"})
    theirs = gql.data("mutation { createContact(input: {name: \"他的客户\"}) { id } }",
                      key=other.keys["owner"])["createContact"]["id"]
    zed = to_global_id("User", other.members["zed"].user_id)
    their_dept = gql.data("mutation { createDepartment(input: {name: \"他部\"}) { id } }",
                          key=other.keys["owner"])["createDepartment"]["id"]
    mine = org.contacts["north"]

    def error(variables: dict[str, object]) -> dict[str, object]:
        return org.gql.error(SHARE, variables, key=org.admin)["extensions"]  # type: ignore[no-any-return]

    assert error({"r": theirs, "a": "READ", "u": org.user("east")})["code"] == "NOT_FOUND"
    assert error({"r": mine, "a": "READ", "u": zed})["code"] == "VALIDATION"
    assert error({"r": mine, "a": "READ", "d": their_dept})["code"] == "VALIDATION"
    assert error({"r": mine, "a": "READ"})["code"] == "VALIDATION"  # nobody named
    both = error({"r": mine, "a": "READ", "u": org.user("east"), "d": org.depts["华东组"]})
    assert both["code"] == "VALIDATION"
    assert error({"r": org.depts["华东组"], "a": "READ", "u": org.user("east")})[
        "code"] == "VALIDATION"  # departments are not shared
    assert error({"r": "bm90IGFuIGlk\u0000", "a": "READ", "u": org.user("east")})[
        "code"] == "VALIDATION"
    error_shares = org.gql.error(SHARES, {"r": theirs}, key=org.admin)
    assert error_shares["extensions"]["code"] == "NOT_FOUND"
    share = org.admin_data(SHARE, {"r": mine, "a": "READ", "u": org.user("east")})
    unshare = gql.error(UNSHARE, {"id": share["shareRecord"]["id"]}, key=other.keys["owner"])
    assert unshare["extensions"]["code"] == "NOT_FOUND"


def test_a_shared_record_can_be_tagged_only_with_write_access(org: Org) -> None:
    tag = org.admin_data("mutation { createTag(input: {name: \"共享标签\"}) { id } }")[
        "createTag"]["id"]
    north = org.contacts["north"]
    org.as_("north", SHARE, {"r": north, "a": "READ", "u": org.user("east")})
    error = org.error_as("east", TAG_IT, {"id": north, "t": [tag]})
    assert error["extensions"]["code"] == "FORBIDDEN"
    org.as_("north", SHARE, {"r": north, "a": "WRITE", "u": org.user("east")})
    assert org.as_("east", TAG_IT, {"id": north, "t": [tag]})["tagContact"]["id"] == north

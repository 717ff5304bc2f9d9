"""Members: one login in several tenants, added as the application role (under RLS); added,
listed, filtered, their roles changed and disabled through the API, within the rules."""

from __future__ import annotations

from typing import Any

import pytest

from infra.db import Database
from infra.errors import Conflict
from tenancy import service
from tenancy.context import system_context
from tests.conftest import LOGIN, GraphQLClient, LiveServer, Servers, login, run
from tests.factories import PASSWORD, TenantFactory


def test_an_existing_user_of_another_tenant_can_be_added_and_then_chooses_a_tenant(
    servers: Servers, tenants: TenantFactory, gql: GraphQLClient
) -> None:
    first, second = tenants.make(), tenants.make()
    owner = first.members["owner"]

    async def add() -> None:
        database = Database(servers.app_url, pool_size=1, max_overflow=0)
        try:
            async with database.scoped(second.id) as session:
                user = await service.add_member(session, system_context(second.id),
                                                email=owner.email.upper(), name="ignored",
                                                password=None, role_key="manager")
                assert user.id == owner.user_id
            with pytest.raises(Conflict):
                async with database.scoped(second.id) as session:
                    await service.add_member(session, system_context(second.id),
                                             email=owner.email, name="x", password=None,
                                             role_key="viewer")
        finally:
            await database.dispose()

    run(add())
    # One login, two tenants: the password stayed theirs, and they must pick one.
    answer = gql.data(LOGIN, {"email": owner.email, "password": PASSWORD})["login"]
    assert answer["tenant"] is None
    assert {t["slug"] for t in answer["tenants"]} == {first.slug, second.slug}


ADD = """mutation($input: AddMemberInput!) { addMember(input: $input) {
  id role status user { id name email } } }"""
UPDATE = """mutation($id: ID!, $input: UpdateMemberInput!) { updateMember(id: $id, input: $input) {
  id role status } }"""
MEMBERS = """query($filter: MemberFilter, $sort: MemberSort) {
  members(first: 50, filter: $filter, sort: $sort) { totalCount nodes { id role status
  user { name email } } } }"""
ME = "{ me { label role } }"


def _code(error: dict[str, Any]) -> str:
    return error["extensions"]["code"]  # type: ignore[no-any-return]


def test_an_admin_adds_a_member_who_signs_in_and_is_listed_and_filtered(
    tenants: TenantFactory, gql: GraphQLClient, live_server: LiveServer
) -> None:
    tenant = tenants.make(members={"王经理": "manager"})
    admin = tenant.keys["admin"]
    email = f"li.na-{tenant.slug}@example.com"
    added = gql.data(ADD, {"input": {"email": f"  {email.upper()} ", "name": "李娜",
                                     "role": "sales", "password": PASSWORD}},
                     key=admin)["addMember"]
    assert added["role"] == "sales" and added["status"] == "active"
    assert added["user"] == {"id": added["user"]["id"], "name": "李娜", "email": email}
    # The id is the member's, and node(id:) and member(id:) find them.
    node = gql.data("query($id: ID!) { node(id: $id) { __typename ... on Member { role } } }",
                    {"id": added["id"]}, key=admin)["node"]
    assert node == {"__typename": "Member", "role": "sales"}
    # They sign in with the password they were given.
    client = login(live_server, gql, email, PASSWORD)
    assert gql.data(ME, client=client)["me"]["role"] == "sales"

    listed = gql.data(MEMBERS, {"filter": {"search": "李"}}, key=tenant.keys["viewer"])["members"]
    assert [n["user"]["name"] for n in listed["nodes"]] == ["李娜"]
    by_email = gql.data(MEMBERS, {"filter": {"search": "LI.NA-"}}, key=admin)["members"]
    assert by_email["totalCount"] == 1
    managers = gql.data(MEMBERS, {"filter": {"role": "manager"}}, key=admin)["members"]
    assert [n["user"]["name"] for n in managers["nodes"]] == ["王经理"]
    everyone = gql.data(MEMBERS, {"sort": "NAME_DESC"}, key=admin)["members"]["nodes"]
    names = [n["user"]["name"] for n in everyone]
    assert len(names) == 3 and names == sorted(names, key=str.lower, reverse=True)


def test_roles_are_given_and_taken_only_within_reach_and_an_owner_remains(
    tenants: TenantFactory, gql: GraphQLClient, live_server: LiveServer
) -> None:
    tenant = tenants.make(members={"陈管理": "admin", "赵销售": "sales"})
    admin, owner = tenant.keys["admin"], tenant.keys["owner"]
    members = {n["user"]["name"]: n for n in
               gql.data(MEMBERS, key=owner)["members"]["nodes"]}
    the_owner = next(n for n in members.values() if n["role"] == "owner")
    sales = members["赵销售"]

    # Sales, managers and viewers may read members, not change them.
    seller = tenant.members["赵销售"]
    callers: list[dict[str, Any]] = [
        {"client": login(live_server, gql, seller.email, seller.password)},
        {"key": tenant.keys["manager"]}, {"key": tenant.keys["viewer"]}]
    for caller in callers:
        error = gql.error(UPDATE, {"id": sales["id"], "input": {"role": "viewer"}}, **caller)
        assert _code(error) == "FORBIDDEN"
        assert gql.data(MEMBERS, **caller)["members"]["totalCount"] == 3
    # An admin lacks billing: they may not make an owner, nor touch the owner.
    assert _code(gql.error(UPDATE, {"id": sales["id"], "input": {"role": "owner"}},
                           key=admin)) == "FORBIDDEN"
    assert _code(gql.error(UPDATE, {"id": the_owner["id"], "input": {"role": "viewer"}},
                           key=admin)) == "FORBIDDEN"
    assert _code(gql.error(ADD, {"input": {"email": f"x-{tenant.slug}@example.com",
                                           "role": "owner"}}, key=admin)) == "FORBIDDEN"
    # The last active owner stays one, by role or by status.
    for change in ({"role": "admin"}, {"status": "disabled"}):
        error = gql.error(UPDATE, {"id": the_owner["id"], "input": change}, key=owner)
        assert _code(error) == "CONFLICT", change
    # With a second owner, the first may step down.
    gql.data(UPDATE, {"id": sales["id"], "input": {"role": "owner"}}, key=owner)
    stepped = gql.data(UPDATE, {"id": the_owner["id"], "input": {"role": "admin"}},
                       key=owner)["updateMember"]
    assert stepped["role"] == "admin"
    # Refused changes wrote nothing; the accepted ones one audit row each.
    audit = gql.data('{ auditLog(first: 50, filter: {entityType: "membership", '
                     'action: "updated"}) { nodes { entityId before after } } }',
                     key=owner)["auditLog"]["nodes"]
    assert len(audit) == 2
    assert {a["entityId"] for a in audit} == {sales["id"], the_owner["id"]}


def test_a_disabled_member_is_signed_out_and_nobody_disables_themselves(
    tenants: TenantFactory, gql: GraphQLClient, live_server: LiveServer
) -> None:
    tenant = tenants.make(members={"周销售": "sales", "吴管理": "admin"})
    sales, admin = tenant.members["周销售"], tenant.members["吴管理"]
    sales_client = login(live_server, gql, sales.email, sales.password)
    admin_client = login(live_server, gql, admin.email, admin.password)
    ids = {n["user"]["email"]: n["id"] for n in
           gql.data(MEMBERS, key=tenant.keys["owner"])["members"]["nodes"]}
    assert gql.data(ME, client=sales_client)["me"]["role"] == "sales"

    disabled = gql.data(UPDATE, {"id": ids[sales.email], "input": {"status": "disabled"}},
                        client=admin_client)["updateMember"]
    assert disabled["status"] == "disabled"
    assert _code(gql.error(ME, client=sales_client)) == "UNAUTHENTICATED"
    assert _code(gql.error(LOGIN, {"email": sales.email, "password": sales.password})) \
        == "UNAUTHENTICATED"
    listed = gql.data(MEMBERS, {"filter": {"status": "disabled"}},
                      key=tenant.keys["owner"])["members"]["nodes"]
    assert [n["id"] for n in listed] == [ids[sales.email]]
    # Enabled again, they sign in again.
    gql.data(UPDATE, {"id": ids[sales.email], "input": {"status": "active"}},
             client=admin_client)
    assert gql.data(ME, client=login(live_server, gql, sales.email, sales.password))

    error = gql.error(UPDATE, {"id": ids[admin.email], "input": {"status": "disabled"}},
                      client=admin_client)
    assert _code(error) == "CONFLICT"
    assert error["extensions"]["field"] == "status"


@pytest.mark.parametrize(("field", "value", "code"), [
    ("email", "not an email", "VALIDATION"),
    ("email", "a\u0000b@example.com", "VALIDATION"),
    ("role", "no-such-role", "NOT_FOUND"),
    ("password", "short", "VALIDATION"),
    ("name", "名" * 201, "VALIDATION"),
])
def test_bad_member_input_is_refused_with_its_field(
    tenants: TenantFactory, gql: GraphQLClient, field: str, value: str, code: str
) -> None:
    tenant = tenants.make()
    data = {"email": f"new-{tenant.slug}@example.com", "role": "sales", field: value}
    body = gql(ADD, {"input": data}, key=tenant.keys["owner"])
    assert body.get("data") is None or body["data"].get("addMember") is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == code, error
    members = gql.data(MEMBERS, key=tenant.keys["owner"])["members"]
    assert members["totalCount"] == 1  # nothing half-written


def test_a_status_other_than_active_or_disabled_is_refused(
    tenants: TenantFactory, gql: GraphQLClient
) -> None:
    tenant = tenants.make(members={"郑": "viewer"})
    id = next(n["id"] for n in gql.data(MEMBERS, key=tenant.keys["owner"])["members"]["nodes"]
              if n["role"] == "viewer")
    error = gql.error(UPDATE, {"id": id, "input": {"status": "gone"}}, key=tenant.keys["owner"])
    assert _code(error) == "VALIDATION"

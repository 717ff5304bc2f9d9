"""contactCountsByOwner: live contacts per owner in one query, under the record rule."""

from __future__ import annotations

from infra.global_ids import to_global_id
from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, TenantData, TenantFactory

COUNTS = "{ contactCountsByOwner { count owner { id name } } }"
CREATE = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"
DELETE = "mutation($id: ID!) { deleteContact(id: $id) { id } }"


def _user_id(tenant: TenantData, member: str) -> str:
    return to_global_id("User", tenant.members[member].user_id)


def _contacts(gql: GraphQLClient, tenant: TenantData, owner: str | None, n: int) -> list[str]:
    owner_id = _user_id(tenant, owner) if owner else None
    return [gql.data(CREATE, {"input": {"name": f"客户 {i}", "ownerId": owner_id}},
                     key=tenant.keys["owner"])["createContact"]["id"] for i in range(n)]


def _by_owner(answer: dict[str, list[dict[str, object]]]) -> dict[str | None, object]:
    return {(c["owner"] or {}).get("name"): c["count"]  # type: ignore[attr-defined]
            for c in answer["contactCountsByOwner"]}


def test_counts_every_owner_in_one_query_most_first_without_deleted_contacts(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    tenant = tenants.make(members={"ann": "sales", "bo": "sales"})
    _contacts(gql, tenant, "ann", 3)
    bo = _contacts(gql, tenant, "bo", 2)
    _contacts(gql, tenant, None, 1)
    gql.data(DELETE, {"id": bo[0]}, key=tenant.keys["owner"])

    answer = gql.data(COUNTS, key=tenant.keys["viewer"])

    assert [c["count"] for c in answer["contactCountsByOwner"]] == [3, 1, 1]
    assert _by_owner(answer) == {"ann": 3, "bo": 1, None: 1}
    assert answer["contactCountsByOwner"][0]["owner"]["id"] == _user_id(tenant, "ann")


def test_a_sales_user_counts_only_their_own_and_another_tenant_nothing_of_ours(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory
) -> None:
    tenant = tenants.make(members={"ann": "sales", "bo": "sales"})
    other = tenants.make()
    _contacts(gql, tenant, "ann", 2)
    _contacts(gql, tenant, "bo", 4)
    _contacts(gql, other, "owner", 1)

    ann = login(live_server, gql, tenant.members["ann"].email, PASSWORD)
    assert _by_owner(gql.data(COUNTS, client=ann)) == {"ann": 2}
    other_owner = other.members["owner"].email.split("@")[0]  # the factory names them so
    assert _by_owner(gql.data(COUNTS, key=other.keys["owner"])) == {other_owner: 1}
    empty = tenants.make()
    assert gql.data(COUNTS, key=empty.keys["viewer"]) == {"contactCountsByOwner": []}


def test_anonymous_callers_are_refused(gql: GraphQLClient) -> None:
    assert gql.error(COUNTS)["extensions"]["code"] == "UNAUTHENTICATED"

"""Deleting and restoring are idempotent, for every deletable entity: deleting a deleted record or
restoring a live one answers the record as it is and records nothing; changing a deleted record
is a CONFLICT until it is restored."""

from __future__ import annotations

import pytest

from tests.conftest import GraphQLClient
from tests.factories import TenantData, TenantFactory

HISTORY = """query($id: ID!) {
  auditLog(first: 50, filter: {entityId: $id}) { totalCount nodes { action } }
  events(first: 100) { nodes { aggregateId eventType } }
}"""


@pytest.fixture
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make()


def actions(gql: GraphQLClient, key: str, id: str) -> tuple[list[str], list[str]]:
    data = gql.data(HISTORY, {"id": id}, key=key)
    return ([n["action"] for n in data["auditLog"]["nodes"]],
            [e["eventType"] for e in data["events"]["nodes"] if e["aggregateId"] == id])


@pytest.mark.parametrize("kind", ["Contact", "Company"])
def test_delete_and_restore_are_idempotent_and_record_only_real_changes(
    gql: GraphQLClient, tenant: TenantData, kind: str
) -> None:
    key = tenant.keys["admin"]
    lower = kind.lower()
    fields = "{ id name deletedAt updatedAt }"
    id = gql.data(f'mutation {{ create{kind}(input: {{name: "周八"}}) {{ id }} }}',
                  key=key)[f"create{kind}"]["id"]
    delete = f"mutation($id: ID!) {{ delete{kind}(id: $id) {fields} }}"
    restore = f"mutation($id: ID!) {{ restore{kind}(id: $id) {fields} }}"
    get = f"query($id: ID!) {{ {lower}(id: $id) {fields} }}"

    # Restoring a live record: the record as it is, nothing recorded.
    live = gql.data(get, {"id": id}, key=key)[lower]
    assert gql.data(restore, {"id": id}, key=key)[f"restore{kind}"] == live
    assert actions(gql, key, id) == (["created"], [f"{lower}.created"])

    deleted = gql.data(delete, {"id": id}, key=key)[f"delete{kind}"]
    assert deleted["deletedAt"] is not None
    # Deleting it again: the same record, unchanged, nothing recorded.
    assert gql.data(delete, {"id": id}, key=key)[f"delete{kind}"] == deleted
    assert gql.data(get, {"id": id}, key=key)[lower] == deleted
    assert actions(gql, key, id) == (["deleted", "created"],
                                     [f"{lower}.deleted", f"{lower}.created"])

    # A deleted record cannot be changed until it is restored.
    error = gql.error(f'mutation($id: ID!) {{ update{kind}(id: $id, input: {{name: "x"}}) '
                      "{ id } }", {"id": id}, key=key)
    assert error["extensions"] == {"code": "CONFLICT", "field": "id"}
    assert "restore" in error["message"]

    restored = gql.data(restore, {"id": id}, key=key)[f"restore{kind}"]
    assert restored["deletedAt"] is None
    assert gql.data(restore, {"id": id}, key=key)[f"restore{kind}"] == restored
    assert actions(gql, key, id) == (["restored", "deleted", "created"],
                                     [f"{lower}.restored", f"{lower}.deleted",
                                      f"{lower}.created"])

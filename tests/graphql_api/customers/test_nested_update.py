"""A nested object follows the top level's rule on update: only the fields sent change, null
clears one, and null for the whole object clears it."""

from __future__ import annotations

import pytest

from tests.conftest import GraphQLClient
from tests.factories import TenantData, TenantFactory

FULL = {"country": "CN", "province": "北京市", "city": "北京市", "district": "朝阳区",
        "street": "建国路88号", "postalCode": "100022"}


@pytest.fixture
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make()


@pytest.mark.parametrize("kind", ["Contact", "Company"])
def test_a_partial_address_update_changes_only_what_is_sent(
    gql: GraphQLClient, tenant: TenantData, kind: str
) -> None:
    key = tenant.keys["admin"]
    address = "address { country province city district street postalCode }"
    id = gql.data(f"mutation($a: AddressInput) {{ create{kind}(input: {{name: \"赵九\", "
                  f"address: $a}}) {{ id }} }}", {"a": FULL}, key=key)[f"create{kind}"]["id"]
    update = (f"mutation($id: ID!, $a: AddressInput) {{ update{kind}(id: $id, "
              f"input: {{address: $a}}) {{ {address} }} }}")

    def sent(value: object) -> object:
        return gql.data(update, {"id": id, "a": value}, key=key)[f"update{kind}"]["address"]

    assert sent({"street": "建国路99号"}) == {**FULL, "street": "建国路99号"}
    assert sent({"district": None, "postalCode": "100020"}) == {
        **FULL, "street": "建国路99号", "district": None, "postalCode": "100020"}
    assert sent({}) == {**FULL, "street": "建国路99号", "district": None, "postalCode": "100020"}
    assert sent(None) is None
    assert sent({"city": "上海市"}) == {"country": None, "province": None, "city": "上海市",
                                        "district": None, "street": None, "postalCode": None}
    audit = gql.data("query($id: ID!) { auditLog(first: 50, filter: {entityId: $id}) "
                     "{ nodes { action } } }", {"id": id}, key=key)["auditLog"]["nodes"]
    assert [a["action"] for a in audit] == ["updated"] * 4 + ["created"]  # `{}` changed nothing

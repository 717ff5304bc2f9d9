"""Logging in and out, tenants to choose from, API keys: created once, hashed, revocable."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import psycopg

from tests.conftest import GraphQLClient, LiveServer
from tests.factories import PASSWORD, TenantFactory

LOGIN = """mutation($email: String!, $password: String!, $tenant: String) {
  login(email: $email, password: $password, tenant: $tenant) { tenant { slug } tenants { slug } }
}"""
ME = "{ me { kind role label tenant { slug } user { email } } }"
CREATE_KEY = """mutation($name: String!, $role: String!) {
  createApiKey(name: $name, role: $role) { secret apiKey { id name role revokedAt } }
}"""
REVOKE_KEY = "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }"


def test_login_sets_a_session_cookie_and_logout_ends_it(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory
) -> None:
    tenant = tenants.make()
    owner = tenant.members["owner"]
    client = httpx.Client(base_url=live_server.url)
    response = gql.post(LOGIN, {"email": owner.email.upper(), "password": PASSWORD},
                        client=client)
    assert response.json()["data"]["login"]["tenant"] == {"slug": tenant.slug}
    cookie = response.headers["set-cookie"]
    assert "crm_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    me = gql.data(ME, client=client)["me"]
    assert me == {"kind": "user", "role": "owner", "label": owner.email,
                  "tenant": {"slug": tenant.slug}, "user": {"email": owner.email}}
    assert gql.data("mutation { logout }", client=client) == {"logout": True}
    assert gql.error(ME, client=client)["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_user_in_two_tenants_must_choose_one(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory
) -> None:
    first = tenants.make()
    second = tenants.make()
    shared = first.members["owner"]
    tenants.add_member(second, email=shared.email, name="shared", role="viewer")
    client = httpx.Client(base_url=live_server.url)
    answer = gql.data(LOGIN, {"email": shared.email, "password": PASSWORD}, client=client)
    assert answer["login"]["tenant"] is None
    assert {t["slug"] for t in answer["login"]["tenants"]} == {first.slug, second.slug}
    assert "crm_session" not in client.cookies
    gql.data(LOGIN, {"email": shared.email, "password": PASSWORD, "tenant": second.slug},
             client=client)
    assert gql.data(ME, client=client)["me"]["role"] == "viewer"
    assert gql.data(ME, client=client)["me"]["tenant"]["slug"] == second.slug


def test_wrong_password_and_unknown_email_look_the_same(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    owner = tenants.make().members["owner"]
    wrong = gql.error(LOGIN, {"email": owner.email, "password": "nope nope nope"})
    unknown = gql.error(LOGIN, {"email": "nobody@example.com", "password": "nope nope nope"})
    assert wrong["extensions"] == unknown["extensions"] == {"code": "UNAUTHENTICATED"}
    assert wrong["message"] == unknown["message"]


def test_api_key_is_shown_once_stored_hashed_and_revocable(
    gql: GraphQLClient, tenants: TenantFactory, owner_conn: psycopg.Connection[Any]
) -> None:
    tenant = tenants.make()
    created = gql.data(CREATE_KEY, {"name": "ERP sync", "role": "viewer"},
                       key=tenant.keys["admin"])["createApiKey"]
    secret = created["secret"]
    assert secret.startswith(f"crm_{tenant.id.hex}_")
    assert created["apiKey"]["role"] == "viewer"
    stored = owner_conn.execute("select key_hash from api_keys where name = 'ERP sync' "
                                "and tenant_id = %s", (tenant.id,)).fetchone()
    assert stored == (hashlib.sha256(secret.encode()).digest(),)
    listed = gql.data("{ apiKeys { nodes { name role } } }",
                      key=tenant.keys["admin"])["apiKeys"]["nodes"]
    assert {"name": "ERP sync", "role": "viewer"} in listed
    assert "secret" not in str(listed)

    assert gql.data(ME, key=secret)["me"]["role"] == "viewer"
    revoked = gql.data(REVOKE_KEY, {"id": created["apiKey"]["id"]}, key=tenant.keys["admin"])
    assert revoked["revokeApiKey"]["revokedAt"] is not None
    assert gql.post(ME, key=secret).status_code == 401
    # Only roles with api_keys:manage may issue keys.
    error = gql.error(CREATE_KEY, {"name": "x", "role": "owner"}, key=tenant.keys["manager"])
    assert error["extensions"]["code"] == "FORBIDDEN"
    audit = gql.data('{ auditLog(first: 50, filter: {entityType: "api_key"}) { nodes { action '
                     'after } } }', key=tenant.keys["admin"])["auditLog"]["nodes"]
    assert [a["action"] for a in audit][:2] == ["revoked", "created"]
    assert all("key_hash" not in (a["after"] or {}) for a in audit)


def _walk(gql: GraphQLClient, field: str, selection: str, key: str) -> list[Any]:
    """Every node of a tenancy list, two at a time, following endCursor."""
    nodes: list[Any] = []
    after = None
    while True:
        conn = gql.data(f"query($after: String) {{ {field}(first: 2, after: $after) {{ "
                        f"nodes {{ {selection} }} pageInfo {{ hasNextPage endCursor }} }} }}",
                        {"after": after}, key=key)[field]
        assert len(conn["nodes"]) <= 2
        nodes += conn["nodes"]
        if not conn["pageInfo"]["hasNextPage"]:
            return nodes
        after = conn["pageInfo"]["endCursor"]


def test_members_and_api_keys_are_paginated_lists(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    tenant = tenants.make(members={"赵敏": "sales", "Alice": "manager", "bob": "viewer"})
    admin = tenant.keys["admin"]
    members = _walk(gql, "members", "role status user { name email }", admin)
    names = [m["user"]["name"] for m in members]
    assert sorted(names, key=str.lower) == names  # by name, case-insensitively
    assert {(m["user"]["email"], m["role"]) for m in members} == {
        (m.email.lower(), m.role) for m in tenant.members.values()}  # emails are stored lower-case
    assert {m["status"] for m in members} == {"active"}

    keys = _walk(gql, "apiKeys", "name role createdAt", admin)
    assert sorted(k["name"] for k in keys) == sorted(f"{r} key" for r in
                                                    ("owner", "admin", "manager", "viewer"))
    created = [k["createdAt"] for k in keys]
    assert created == sorted(created, reverse=True)  # newest first
    # Another tenant's members and keys never show up.
    other = tenants.make()
    assert len(_walk(gql, "members", "role", other.keys["admin"])) == 1
    assert len(_walk(gql, "apiKeys", "name", other.keys["admin"])) == 4


def test_an_api_key_gets_no_more_than_its_creator_has_nor_a_role_for_own_records(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    tenant = tenants.make()
    # An admin lacks billing:manage, which the owner role holds.
    error = gql.error(CREATE_KEY, {"name": "escalate", "role": "owner"}, key=tenant.keys["admin"])
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("FORBIDDEN", "role")
    # Sales see only their own customers; a key is nobody, so it would see nothing.
    error = gql.error(CREATE_KEY, {"name": "sales key", "role": "sales"},
                      key=tenant.keys["owner"])
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["extensions"]["field"] == "role"
    made = gql.data(CREATE_KEY, {"name": "manager key", "role": "manager"},
                    key=tenant.keys["admin"])
    assert made["createApiKey"]["apiKey"]["role"] == "manager"
    # Its audit entry names it by the same global ID the API gives it.
    audit = gql.data("""{ auditLog(filter: {entityType: "api_key"}) { nodes { entityId } } }""",
                     key=tenant.keys["admin"])["auditLog"]["nodes"]
    assert {"entityId": made["createApiKey"]["apiKey"]["id"]} in audit


def test_a_login_beside_a_failing_mutation_sets_no_cookie(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory
) -> None:
    owner = tenants.make().members["owner"]
    both = """mutation($email: String!, $password: String!) {
      login(email: $email, password: $password) { tenant { slug } }
      createContact(input: {name: ""}) { id } }"""
    response = gql.post(both, {"email": owner.email, "password": PASSWORD})
    assert response.json()["data"] is None
    assert "set-cookie" not in response.headers

"""Login runs in the request's transaction: beside a mutation that fails, its session, audit row
and `last_login_at` are rolled back with everything else."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg

from tests.conftest import LOGIN, GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, Member, TenantFactory
from tests.tenancy.test_login_email import browser

LOGIN_THEN = """mutation($email: String!, $password: String!, $tenant: String, $name: String!) {
  login(email: $email, password: $password, tenant: $tenant) { tenant { slug } }
  createContact(input: {name: $name}) { id }
}"""
CONTACT_THEN_LOGIN = """mutation($email: String!, $password: String!) {
  createContact(input: {name: "先写后登"}) { id }
  login(email: $email, password: $password) { tenant { slug } }
}"""


def _traces(owner_conn: psycopg.Connection[Any], member: Member, tenant_id: uuid.UUID
            ) -> tuple[int, int, bool]:
    """The sessions, the session audit rows and whether `last_login_at` is set, of one user in
    one tenant."""
    owner_conn.rollback()  # a fresh snapshot
    sessions = owner_conn.execute(
        "select count(*) from web_sessions where tenant_id = %s and user_id = %s",
        (tenant_id, member.user_id)).fetchone()
    audited = owner_conn.execute(
        "select count(*) from audit_log where tenant_id = %s and entity_type = 'session' "
        "and actor_id = %s", (tenant_id, member.user_id)).fetchone()
    logged_in = owner_conn.execute("select last_login_at is not null from users where id = %s",
                                   (member.user_id,)).fetchone()
    assert sessions and audited and logged_in
    return sessions[0], audited[0], logged_in[0]


def test_a_login_beside_a_failing_mutation_leaves_nothing_behind(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory,
    owner_conn: psycopg.Connection[Any]
) -> None:
    tenant = tenants.make()
    owner = tenant.members["owner"]
    client = browser(live_server)
    # The contact fails (an anonymous caller may not create one, and the name is empty).
    response = gql.post(LOGIN_THEN, {"email": owner.email, "password": PASSWORD, "name": ""},
                        client=client)
    assert response.json()["data"] is None
    assert "set-cookie" not in response.headers
    assert _traces(owner_conn, owner, tenant.id) == (0, 0, False)

    # The positive control: alone, the same login leaves its session, audit row and time.
    gql.data(LOGIN, {"email": owner.email, "password": PASSWORD}, client=client)
    assert _traces(owner_conn, owner, tenant.id) == (1, 1, True)


def test_switching_tenants_inside_a_signed_in_request_keeps_the_request_in_its_tenant(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory,
    owner_conn: psycopg.Connection[Any]
) -> None:
    first, second = tenants.make(), tenants.make()
    owner = first.members["owner"]
    tenants.add_member(second, email=owner.email, name="shared", role="admin")
    client = login(live_server, gql, owner.email, PASSWORD, tenant=first.slug)
    client.headers["X-Requested-By"] = "tests"
    before = _traces(owner_conn, owner, second.id)

    # Signed in to the first tenant, log in to the second and create a contact that fails:
    # no session in the second tenant remains, and the cookie still names the first.
    response = gql.post(LOGIN_THEN, {"email": owner.email, "password": PASSWORD,
                                     "tenant": second.slug, "name": ""}, client=client)
    assert response.json()["data"] is None
    assert _traces(owner_conn, owner, second.id) == before
    assert gql.data("{ me { tenant { slug } } }", client=client)["me"]["tenant"] == {
        "slug": first.slug}

    # The same with a contact that succeeds: the session is opened in the second tenant, and the
    # contact is still the first tenant's (the cookie's), the request's scope given back.
    answer = gql.data(LOGIN_THEN, {"email": owner.email, "password": PASSWORD,
                                   "tenant": second.slug, "name": "切换之后"}, client=client)
    assert answer["login"]["tenant"] == {"slug": second.slug}
    owner_conn.rollback()
    contact = owner_conn.execute("select tenant_id from contacts where name = '切换之后' "
                                 "and tenant_id in (%s, %s)", (first.id, second.id)).fetchall()
    assert contact == [(first.id,)]
    assert _traces(owner_conn, owner, second.id)[0] == before[0] + 1
    assert gql.data("{ me { tenant { slug } } }", client=client)["me"]["tenant"] == {
        "slug": second.slug}


def test_login_after_another_mutation_of_the_same_request_is_refused(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory,
    owner_conn: psycopg.Connection[Any]
) -> None:
    tenant = tenants.make()
    owner = tenant.members["owner"]
    client = httpx.Client(base_url=live_server.url, timeout=30,
                          headers={"Authorization": f"Bearer {tenant.keys['admin']}"})
    response = gql.post(CONTACT_THEN_LOGIN, {"email": owner.email, "password": PASSWORD},
                        client=client)
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_REQUEST"]
    owner_conn.rollback()
    assert owner_conn.execute("select count(*) from contacts where tenant_id = %s",
                              (tenant.id,)).fetchone() == (0,)
    assert _traces(owner_conn, owner, tenant.id) == (0, 0, False)

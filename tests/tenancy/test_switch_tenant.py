"""Switching tenants with the session, no password: only into a tenant of one's own, the old
session ended, audited in both tenants, and one tenant's data never seen from the other."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg

from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, Member, TenantData, TenantFactory

MY_TENANTS = "{ myTenants { slug name } }"
SWITCH = "mutation($t: String!) { switchTenant(tenant: $t) { slug name } }"
ME = "{ me { role tenant { slug } user { email } } }"
CONTACTS = "{ contacts { nodes { id name } } }"
CONTACT = "query($id: ID!) { contact(id: $id) { name } }"
CREATE_CONTACT = "mutation($n: String!) { createContact(input: {name: $n}) { id } }"
SESSIONS_AUDIT = """{ auditLog(filter: {entityType: "session"}) {
  nodes { action actorLabel } } }"""
SESSION_EVENTS = "query($type: String) { events(type: $type) { nodes { aggregateType } } }"


def _two_tenants(tenants: TenantFactory) -> tuple[TenantData, TenantData, Member]:
    """A user who owns tenant `a` and is a manager of tenant `b`."""
    a, b = tenants.make(), tenants.make()
    user = a.members["owner"]
    tenants.add_member(b, email=user.email, name="兼任 Shared", role="manager")
    return a, b, user


def _cookie(client: httpx.Client) -> str:
    return client.cookies["crm_session"]


def test_a_user_lists_their_tenants_and_switches_without_the_password(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory
) -> None:
    a, b, user = _two_tenants(tenants)
    client = login(live_server, gql, user.email, PASSWORD, a.slug)
    listed = gql.data(MY_TENANTS, client=client)["myTenants"]
    assert {t["slug"] for t in listed} == {a.slug, b.slug}
    old_cookie = _cookie(client)

    moved = gql.data(SWITCH, {"t": b.slug}, client=client)["switchTenant"]

    assert moved["slug"] == b.slug
    assert _cookie(client) != old_cookie
    assert gql.data(ME, client=client)["me"] == {
        "role": "manager", "tenant": {"slug": b.slug}, "user": {"email": user.email}}
    # The old session is over: its cookie no longer signs anyone in.
    stale = httpx.Client(base_url=live_server.url, cookies={"crm_session": old_cookie})
    assert gql.error(ME, client=stale)["extensions"]["code"] == "UNAUTHENTICATED"
    # Audited and evented in the target tenant as a login is; the end audited where it was.
    b_audit = gql.data(SESSIONS_AUDIT, key=b.keys["owner"])["auditLog"]["nodes"]
    assert [(e["action"], e["actorLabel"]) for e in b_audit] == [("created", user.email)]
    assert gql.data(SESSION_EVENTS, {"type": "session.created"},
                    key=b.keys["owner"])["events"]["nodes"]
    a_audit = gql.data(SESSIONS_AUDIT, key=a.keys["owner"])["auditLog"]["nodes"]
    assert [e["action"] for e in a_audit] == ["revoked", "created"]


def test_a_tenant_of_which_the_user_is_no_member_is_refused(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory
) -> None:
    a, _, user = _two_tenants(tenants)
    stranger = tenants.make()
    client = login(live_server, gql, user.email, PASSWORD, a.slug)
    before = _cookie(client)
    for slug in (stranger.slug, "no-such-tenant"):
        error = gql.error(SWITCH, {"t": slug}, client=client)
        assert error["extensions"] == {"code": "NOT_A_MEMBER"}
    # Nothing changed: the same session, still in its tenant, nothing recorded in the other.
    assert _cookie(client) == before
    assert gql.data(ME, client=client)["me"]["tenant"]["slug"] == a.slug
    assert gql.data(SESSIONS_AUDIT, key=stranger.keys["owner"])["auditLog"]["nodes"] == []


def test_a_disabled_membership_is_refused_and_not_listed(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory,
    owner_conn: psycopg.Connection[Any],
) -> None:
    a, b, user = _two_tenants(tenants)
    client = login(live_server, gql, user.email, PASSWORD, a.slug)
    owner_conn.execute("update memberships set status = 'disabled' "
                       "where tenant_id = %s and user_id = %s", (b.id, user.user_id))
    owner_conn.commit()

    assert [t["slug"] for t in gql.data(MY_TENANTS, client=client)["myTenants"]] == [a.slug]
    error = gql.error(SWITCH, {"t": b.slug}, client=client)
    assert error["extensions"]["code"] == "NOT_A_MEMBER"
    assert gql.data(ME, client=client)["me"]["tenant"]["slug"] == a.slug


def test_switching_back_and_forth_shows_each_tenant_only_its_own_customers(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory
) -> None:
    a, b, user = _two_tenants(tenants)
    a_id = gql.data(CREATE_CONTACT, {"n": "甲方客户 张三"}, key=a.keys["owner"])[
        "createContact"]["id"]
    b_id = gql.data(CREATE_CONTACT, {"n": "乙方客户 李四"}, key=b.keys["owner"])[
        "createContact"]["id"]
    client = login(live_server, gql, user.email, PASSWORD, a.slug)
    for slug, own, others in ((b.slug, b_id, a_id), (a.slug, a_id, b_id),
                              (b.slug, b_id, a_id)):
        gql.data(SWITCH, {"t": slug}, client=client)
        ids = [c["id"] for c in gql.data(CONTACTS, client=client)["contacts"]["nodes"]]
        assert ids == [own]
        error = gql.error(CONTACT, {"id": others}, client=client)
        assert error["extensions"]["code"] == "NOT_FOUND"


def test_an_api_key_cannot_switch_and_has_no_tenants_to_list(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    a, b, _ = _two_tenants(tenants)
    key = a.keys["owner"]
    assert gql.data(MY_TENANTS, key=key) == {"myTenants": []}
    assert gql.error(SWITCH, {"t": b.slug}, key=key)["extensions"]["code"] == "BAD_REQUEST"
    assert gql.error(SWITCH, {"t": b.slug})["extensions"]["code"] == "UNAUTHENTICATED"


def test_refused_switches_are_throttled_apart_from_logins(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory
) -> None:
    a, b, user = _two_tenants(tenants)
    client = login(live_server, gql, user.email, PASSWORD, a.slug)
    for _ in range(10):  # LOGIN_MAX_FAILURES_PER_EMAIL
        assert gql.error(SWITCH, {"t": "no-such-tenant"},
                         client=client)["extensions"]["code"] == "NOT_A_MEMBER"
    error = gql.error(SWITCH, {"t": b.slug}, client=client)
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 0 < error["extensions"]["retryAfter"] <= 900
    # Signing in is not affected: those were not password guesses.
    login(live_server, gql, user.email, PASSWORD, b.slug)

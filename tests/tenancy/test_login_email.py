"""A login email has one form: what the throttle counts, the lookup compares, storage holds and
audit rows name (`infra.validation.normalise_email`)."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import psycopg
import pytest

from infra.validation import normalise_email
from tests.conftest import LOGIN, GraphQLClient, LiveServer
from tests.factories import PASSWORD, TenantFactory

SESSIONS = """{ auditLog(filter: {entityType: "session"}) { nodes { action actorLabel } } }"""
_addresses = itertools.count(1)


def browser(live_server: LiveServer) -> httpx.Client:
    """A client behind an address of its own (through the trusted loopback proxy), so that its
    failed logins count against nobody else's address limit."""
    return httpx.Client(base_url=live_server.url, timeout=30,
                        headers={"X-Forwarded-For": f"198.51.100.{next(_addresses)}",
                                 "X-Requested-By": "tests"})


def test_a_dotted_capital_i_gets_no_fresh_tries_at_someone_elses_login(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory
) -> None:
    viewer = tenants.make(members={"viewer": "viewer"}).members["viewer"]
    client = browser(live_server)
    for _ in range(10):  # LOGIN_MAX_FAILURES_PER_EMAIL
        error = gql.error(LOGIN, {"email": viewer.email, "password": "wrong password!"},
                          client=client)
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
    # `İ` lowered to `i` by the database once made this a fresh email for the throttle but the
    # same user for the lookup. It is refused before any password is checked.
    for spoofed in (viewer.email.replace("i", "İ", 1), viewer.email.replace("i", "İ")):
        error = gql.error(LOGIN, {"email": spoofed, "password": PASSWORD}, client=client)
        assert (error["extensions"]["code"], error["extensions"]["field"]) == (
            "VALIDATION", "email")
    # Capitals that do lower to one letter are the same login, and share its count.
    error = gql.error(LOGIN, {"email": viewer.email.upper(), "password": PASSWORD},
                      client=client)
    assert error["extensions"]["code"] == "RATE_LIMITED"


def test_a_spoofed_address_never_signs_in_and_a_session_is_labelled_as_stored(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory
) -> None:
    tenant = tenants.make(members={"admin": "admin"})
    admin = tenant.members["admin"]
    client = browser(live_server)
    error = gql.error(LOGIN, {"email": admin.email.replace("i", "İ"), "password": PASSWORD},
                      client=client)
    assert error["extensions"]["code"] == "VALIDATION"
    assert "crm_session" not in client.cookies
    audit = gql.data(SESSIONS, key=tenant.keys["owner"])["auditLog"]["nodes"]
    assert audit == []

    typed = f"  {admin.email.upper()} "
    gql.data(LOGIN, {"email": typed, "password": PASSWORD}, client=client)
    assert "crm_session" in client.cookies
    audit = gql.data(SESSIONS, key=tenant.keys["owner"])["auditLog"]["nodes"]
    assert audit == [{"action": "created", "actorLabel": admin.email}]


def test_the_lookup_compares_the_stored_form_exactly(
    tenants: TenantFactory, app_conn: psycopg.Connection[Any]
) -> None:
    owner = tenants.make().members["owner"]
    found = app_conn.execute("select id, email from auth_find_user(%s)", (owner.email,)).fetchall()
    assert found == [(owner.user_id, owner.email)]
    # No case folding in SQL: the application has normalised the address already.
    assert app_conn.execute("select id from auth_find_user(%s)",
                            (owner.email.upper(),)).fetchall() == []


def test_an_address_is_stored_in_its_normalised_form_and_logs_in_as_typed(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory,
    owner_conn: psycopg.Connection[Any]
) -> None:
    tenant = tenants.make()
    member = tenants.add_member(tenant, email=f"  Zoë.ΟΔΥΣΣΕΑΣ-{tenant.slug}@Example.COM ",
                                name="Zoë", role="viewer")
    stored = owner_conn.execute("select email from users where id = %s",
                                (member.user_id,)).fetchone()
    assert stored == (f"zoë.οδυσσεας-{tenant.slug}@example.com",)
    client = browser(live_server)
    answer = gql.data(LOGIN, {"email": member.email, "password": PASSWORD}, client=client)
    assert answer["login"]["tenant"] == {"slug": tenant.slug}
    me = gql.data("{ me { label } }", client=client)["me"]
    assert me == {"label": stored[0]}


@pytest.mark.parametrize(("typed", "normalised"), [
    ("Admin@Demo.Example.COM", "admin@demo.example.com"),
    (" admin@demo.example.com\t", "admin@demo.example.com"),
    ("ΟΔΥΣΣΕΑΣ@example.com", "οδυσσεας@example.com"),  # final sigma, as Unicode lowers it
    ("e\u0301lise@example.com", "\u00e9lise@example.com"),  # NFC
    ("\u212aelvin@example.com", "kelvin@example.com"),  # the Kelvin sign is a K
    ("用户@例子.广告", "用户@例子.广告"),
])
def test_normalised_emails(typed: str, normalised: str) -> None:
    assert normalise_email(typed) == normalised
    assert normalise_email(normalised) == normalised  # idempotent


@pytest.mark.parametrize("typed", ["admİn@example.com", "admin@İstanbul.example.com",
                                   "admin", "admin@", "ad\u200bmin@example.com"])
def test_refused_emails(typed: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the messages are email-validator's
        normalise_email(typed)

"""The tag tables in the database itself, as the application role with raw SQL: tenant-owned,
a tag can only go on a customer of its own tenant, names unique whatever their case."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import psycopg
import pytest

from tests.conftest import GraphQLClient
from tests.factories import TenantData, TenantFactory

TABLES = ("tags", "contact_tags", "company_tags")


def _uuid(global_id: str) -> uuid.UUID:
    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return uuid.UUID(raw.partition(":")[2])


def _seed(gql: GraphQLClient, tenant: TenantData, name: str) -> dict[str, uuid.UUID]:
    key = tenant.keys["owner"]
    tag = gql.data("mutation($n: String) { createTag(input: {name: $n}) { id } }",
                   {"n": name}, key=key)["createTag"]["id"]
    contact = gql.data("mutation($n: String) { createContact(input: {name: $n}) { id } }",
                       {"n": name}, key=key)["createContact"]["id"]
    company = gql.data("mutation($n: String) { createCompany(input: {name: $n}) { id } }",
                       {"n": name}, key=key)["createCompany"]["id"]
    gql.data("mutation($c: ID!, $t: [ID!]!) { tagContact(id: $c, tagIds: $t) { id } }",
             {"c": contact, "t": [tag]}, key=key)
    return {"tag": _uuid(tag), "contact": _uuid(contact), "company": _uuid(company)}


@pytest.fixture
def two(tenants: TenantFactory, gql: GraphQLClient
        ) -> tuple[TenantData, dict[str, uuid.UUID], TenantData, dict[str, uuid.UUID]]:
    a, b = tenants.make(), tenants.make()
    return a, _seed(gql, a, "甲方"), b, _seed(gql, b, "乙方")


def _scoped(conn: psycopg.Connection[Any], tenant: TenantData) -> None:
    conn.execute("select set_config('app.tenant_id', %s, true)", (str(tenant.id),))


def test_the_tag_tables_are_tenant_owned(owner_conn: psycopg.Connection[Any]) -> None:
    for table in TABLES:
        forced = owner_conn.execute(
            "select relforcerowsecurity from pg_class where oid = %s::regclass",
            (table,)).fetchone()
        assert forced == (True,), table
        keys = owner_conn.execute("""
            select pg_get_constraintdef(oid) from pg_constraint
            where conrelid = %s::regclass and contype in ('p', 'f', 'u')""",
                                  (table,)).fetchall()
        for (definition,) in keys:
            assert "(tenant_id" in definition, (table, definition)


def test_a_tag_goes_only_on_customers_of_its_own_tenant(
    app_conn: psycopg.Connection[Any], two: Any
) -> None:
    a, mine, b, theirs = two
    with app_conn.transaction():
        _scoped(app_conn, a)
        rows = app_conn.execute("select tenant_id, contact_id, tag_id from contact_tags")
        assert rows.fetchall() == [(a.id, mine["contact"], mine["tag"])]  # only A's
        for table, key in (("contact_tags", "contact"), ("company_tags", "company")):
            # A's customer with B's tag, and B's customer with A's tag: no such rows to
            # point at in A's tenant (the keys are composite).
            for owner, tag in ((mine[key], theirs["tag"]), (theirs[key], mine["tag"])):
                with pytest.raises(psycopg.errors.ForeignKeyViolation), \
                        app_conn.transaction():
                    app_conn.execute(f"insert into {table} values (%s, %s, %s)",
                                     (a.id, owner, tag))
            # Into B's tenant: refused by the policy.
            with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
                app_conn.execute(f"insert into {table} values (%s, %s, %s)",
                                 (b.id, theirs[key], theirs["tag"]))
        # Links are added and removed, never rewritten.
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
            app_conn.execute("update contact_tags set tag_id = tag_id")
        assert app_conn.execute("delete from contact_tags where tenant_id = %s",
                                (b.id,)).rowcount == 0


def test_names_are_unique_in_a_tenant_whatever_their_case(
    app_conn: psycopg.Connection[Any], two: Any
) -> None:
    a, _, b, _ = two
    with app_conn.transaction():
        _scoped(app_conn, a)
        with pytest.raises(psycopg.errors.UniqueViolation), app_conn.transaction():
            app_conn.execute("insert into tags (tenant_id, id, name) "
                             "values (%s, gen_random_uuid(), '甲方')", (a.id,))
        app_conn.execute("insert into tags (tenant_id, id, name) "
                         "values (%s, gen_random_uuid(), 'vip')", (a.id,))
        with pytest.raises(psycopg.errors.UniqueViolation), app_conn.transaction():
            app_conn.execute("insert into tags (tenant_id, id, name) "
                             "values (%s, gen_random_uuid(), 'VIP')", (a.id,))
        # The colour is checked too, and defaults to grey.
        with pytest.raises(psycopg.errors.CheckViolation), app_conn.transaction():
            app_conn.execute("insert into tags (tenant_id, id, name, color) "
                             "values (%s, gen_random_uuid(), 'x', 'red')", (a.id,))
        assert app_conn.execute("select color from tags where name = 'vip'").fetchone() == (
            "#9e9e9e",)
    with app_conn.transaction():
        _scoped(app_conn, b)  # another tenant has its own names
        app_conn.execute("insert into tags (tenant_id, id, name) "
                         "values (%s, gen_random_uuid(), '甲方')", (b.id,))

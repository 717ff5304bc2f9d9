"""Row-level security in the database itself, checked as the application role with raw SQL."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.rows import scalar_row
from sqlalchemy import text

from infra import db
from infra.db import Database, NeedsTransaction, UnitOfWork, fetch, reads_only, statements
from tests.conftest import GraphQLClient, Servers, run
from tests.factories import TenantFactory

CREATE = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"


def tenant_owned_tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute("""
        select c.table_name from information_schema.columns c
        join information_schema.tables t using (table_schema, table_name)
        where c.table_schema = 'public' and c.column_name = 'tenant_id'
          and t.table_type = 'BASE TABLE' order by 1""").fetchall()
    return [r[0] for r in rows]


@pytest.fixture
def two_tenants_with_data(tenants: TenantFactory, gql: GraphQLClient) -> tuple[Any, Any]:
    a, b = tenants.make(), tenants.make()
    gql.data(CREATE, {"input": {"name": "甲方联系人"}}, key=a.keys["admin"])
    gql.data(CREATE, {"input": {"name": "乙方联系人"}}, key=b.keys["admin"])
    return a, b


def test_every_tenant_owned_table_forces_rls_and_leads_keys_with_tenant_id(
    owner_conn: psycopg.Connection[Any],
) -> None:
    tables = tenant_owned_tables(owner_conn)
    assert {"contacts", "companies", "audit_log", "outbox", "api_keys", "roles"} <= set(tables)
    for table in tables:
        enabled, forced = owner_conn.execute(
            "select relrowsecurity, relforcerowsecurity from pg_class where oid = %s::regclass",
            (table,)).fetchone()  # type: ignore[misc]
        assert enabled and forced, table
        policies = owner_conn.execute(
            "select qual, with_check from pg_policies where tablename = %s", (table,)).fetchall()
        assert policies, table
        assert all("app_tenant_id()" in q and "app_tenant_id()" in c for q, c in policies), table
        index_defs = owner_conn.execute(
            "select indexdef from pg_indexes where tablename = %s", (table,)).fetchall()
        for (indexdef,) in index_defs:
            if "memberships_user_idx" in indexdef:  # the documented login lookup
                continue
            assert "(tenant_id" in indexdef, indexdef


def test_app_role_owns_nothing_and_cannot_bypass_rls(
    app_conn: psycopg.Connection[Any], servers: Any
) -> None:
    role = servers.settings.app_db_role
    superuser, bypass = app_conn.execute(
        "select rolsuper, rolbypassrls from pg_roles where rolname = current_user").fetchone()  # type: ignore[misc]
    assert not superuser and not bypass
    owned = app_conn.execute(
        "select count(*) from pg_class where relowner = %s::regrole", (role,)).fetchone()
    assert owned == (0,)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute("set row_security = off; select * from contacts")


@pytest.mark.usefixtures("two_tenants_with_data")
def test_without_a_tenant_raw_sql_sees_no_rows(app_conn: psycopg.Connection[Any],
                                               owner_conn: psycopg.Connection[Any]) -> None:
    assert owner_conn.execute("select count(*) from contacts").fetchone()[0] >= 2  # type: ignore[index]
    for table in tenant_owned_tables(owner_conn) + ["tenants", "users"]:
        count = app_conn.execute(f"select count(*) from {table}").fetchone()
        assert count == (0,), table


def test_without_a_tenant_inserts_fail(app_conn: psycopg.Connection[Any],
                                       two_tenants_with_data: tuple[Any, Any]) -> None:
    a, _ = two_tenants_with_data
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        app_conn.execute("insert into contacts (tenant_id, id, name) "
                         "values (%s, gen_random_uuid(), 'x')", (a.id,))


def test_a_query_without_tenant_filter_returns_only_the_current_tenant(
    app_conn: psycopg.Connection[Any], two_tenants_with_data: tuple[Any, Any]
) -> None:
    a, b = two_tenants_with_data
    with app_conn.transaction():
        app_conn.execute("select set_config('app.tenant_id', %s, true)", (str(a.id),))
        rows = app_conn.execute("select tenant_id, name from contacts").fetchall()
        assert rows and {r[0] for r in rows} == {a.id}
        # Writing into another tenant is refused by WITH CHECK, and B's rows cannot be touched.
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
            app_conn.execute("insert into contacts (tenant_id, id, name) "
                             "values (%s, gen_random_uuid(), 'x')", (b.id,))
        updated = app_conn.execute("update contacts set name = 'hijacked' where tenant_id = %s",
                                   (b.id,))
        assert updated.rowcount == 0
        deleted = app_conn.execute("delete from contacts where tenant_id = %s", (b.id,))
        assert deleted.rowcount == 0
    # The transaction-local tenant is gone after commit.
    assert app_conn.execute("select count(*) from contacts").fetchone() == (0,)


def test_a_row_can_only_be_owned_by_a_member_of_its_own_tenant(
    app_conn: psycopg.Connection[Any], two_tenants_with_data: tuple[Any, Any]
) -> None:
    """What `directory.owner_user_sql` relies on: an owner is a member of the row's tenant."""
    a, b = two_tenants_with_data
    outsider = b.members["owner"].user_id
    for table in ("contacts", "companies"):
        with app_conn.transaction(force_rollback=True):
            app_conn.execute("select set_config('app.tenant_id', %s, true)", (str(a.id),))
            with pytest.raises(psycopg.errors.ForeignKeyViolation):
                app_conn.execute(f"insert into {table} (tenant_id, id, name, owner_id) "
                                 "values (%s, gen_random_uuid(), 'x', %s)", (a.id, outsider))


def test_audit_rows_cannot_be_changed_or_deleted_by_the_app_role(
    app_conn: psycopg.Connection[Any], two_tenants_with_data: tuple[Any, Any]
) -> None:
    a, _ = two_tenants_with_data
    with app_conn.transaction():
        app_conn.execute("select set_config('app.tenant_id', %s, true)", (str(a.id),))
        assert app_conn.execute("select count(*) from audit_log").fetchone()[0] > 0  # type: ignore[index]
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
            app_conn.execute("update audit_log set action = 'forged'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
            app_conn.execute("delete from audit_log")


def test_the_read_lane_sets_the_tenant_per_statement_and_leaves_nothing_behind(
    servers: Servers, two_tenants_with_data: tuple[Any, Any]
) -> None:
    a, b = two_tenants_with_data
    names = "select name from contacts order by name"

    async def scenario() -> None:
        database = Database(servers.app_url, pool_size=1, max_overflow=0, read_pool_size=1)
        try:
            for tenant, expected in ((a, ["甲方联系人"]), (b, ["乙方联系人"]), (None, [])):
                uow = UnitOfWork(database, read_only=True)
                uow.scope(tenant.id if tenant else None)
                rows = await uow.run(reads_only(lambda s: fetch(s, names, {}, scalar_row)))
                assert rows == expected
                # Each statement was its own transaction: the same connection, asked again
                # outside any lane, has no tenant left and sees nothing.
                raw = await uow.run(reads_only(lambda s: s.info["driver"].execute(names)))
                assert await raw.fetchall() == []
                # Anything but `fetch` needs a transaction: refused before it runs.
                with pytest.raises(NeedsTransaction):
                    await uow.run(lambda s: s.execute(text(names)))
                with pytest.raises(NeedsTransaction):
                    await uow.run_atomic(lambda s: s.execute(text(names)))
                # A literal percent sign survives preparing and client-side binding.
                assert await uow.run(reads_only(lambda s: fetch(
                    s, "select 'a%%b' || %(x)s", {"x": "c"}, scalar_row))) == ["a%bc"]
                # Statements are prepared once per connection; a failure leaves it usable.
                with pytest.raises(psycopg.errors.DivisionByZero):
                    await uow.run(reads_only(lambda s: fetch(
                        s, "select 1 / %(zero)s", {"zero": 0}, scalar_row)))
                assert await uow.run(reads_only(lambda s: fetch(s, names, {}, scalar_row))) \
                    == expected
                prepared = await uow.run(reads_only(lambda s: s.info["driver"].execute(
                    "select name from pg_prepared_statements")))
                assert [r[0] for r in await prepared.fetchall()] == [
                    statements._prepared(names).name]
                await uow.rollback()
        finally:
            await database.dispose()

    run(scenario())


def test_a_transaction_sets_its_tenant_before_any_first_statement(
    servers: Servers, two_tenants_with_data: tuple[Any, Any],
) -> None:
    """Whatever runs first in a unit of work (an ORM statement, `fetch`, a savepoint), the
    tenant is set before it: no caller has to remember, and no mark can make it forget."""
    a, b = two_tenants_with_data
    names = "select name from contacts order by name"

    async def scenario() -> None:
        database = Database(servers.app_url, pool_size=1, max_overflow=0, read_pool_size=1)
        try:
            firsts = {
                "orm": lambda s: s.execute(text(names)),
                "orm, marked reads_only": reads_only(lambda s: s.execute(text(names))),
            }
            for tenant, expected in ((a, ["甲方联系人"]), (b, ["乙方联系人"]), (None, [])):
                for label, first in firsts.items():
                    uow = UnitOfWork(database)
                    uow.scope(tenant.id if tenant else None)
                    result = await uow.run(first)
                    assert [r[0] for r in result] == expected, label
                    assert await uow.run(lambda s: fetch(s, names, {}, scalar_row)) == expected
                    await uow.rollback()
                uow = UnitOfWork(database)
                uow.scope(tenant.id if tenant else None)
                assert [r[0] for r in await uow.run_atomic(
                    lambda s: s.execute(text(names)))] == expected
                await uow.rollback()
        finally:
            await database.dispose()

    run(scenario())


def test_the_server_refuses_to_run_as_a_role_rls_does_not_bind(servers: Servers) -> None:
    async def check(url: str) -> None:
        database = Database(url, pool_size=1, max_overflow=0)
        try:
            await db.verify_application_role(database.engine)
        finally:
            await database.dispose()

    run(check(servers.app_url))  # the application role: fine
    with pytest.raises(db.UnsafeDatabaseRole, match="row-level security|owns"):
        run(check(servers.owner_url))  # the owner (here a superuser): refused

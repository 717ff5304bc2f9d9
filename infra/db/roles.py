"""The start-up check that the application's database role is one row-level security binds."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
)

ROLE_CHECK_SQL = """
select current_user,
       exists (select 1 from pg_roles r where (r.rolsuper or r.rolbypassrls
                                              or r.rolcreaterole)
               and pg_has_role(current_user, r.oid, 'MEMBER')) as bypasses_rls,
       exists (select 1 from pg_class c where c.relnamespace = 'public'::regnamespace
               and pg_has_role(current_user, c.relowner, 'MEMBER')) as owns_tables
"""


class UnsafeDatabaseRole(RuntimeError):
    pass


async def verify_application_role(engine: AsyncEngine) -> None:
    """Refuse to serve as a role row-level security does not bind: a superuser, a role with
    BYPASSRLS, one with CREATEROLE (before PostgreSQL 16 it can grant itself membership in the
    tables' owner), a table owner (FORCE binds owners, but an owner can turn it off), or a role
    that can become one of those (membership lets it SET ROLE). A mistyped APP_DATABASE_URL
    would otherwise switch tenant isolation off without a sound."""
    async with engine.connect() as conn:
        user, bypasses, owns = (await conn.execute(text(ROLE_CHECK_SQL))).one()
    if bypasses or owns:
        why = ("can bypass row-level security" if bypasses
               else "owns (or can become the owner of) the application's tables")
        raise UnsafeDatabaseRole(
            f"the application connects as {user!r}, which {why}; connect as the role "
            "`crm migrate` creates (APP_DB_ROLE) instead")

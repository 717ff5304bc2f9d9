"""Read side of tenancy: the members of the current tenant, the caller, and the audit log."""

from __future__ import annotations

import uuid
from collections import namedtuple
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.rows import args_row
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from infra.db import fetch, reads_only
from infra.pagination import Page, SortKey, apply_keyset, build_page, counted
from tenancy.audit import AuditEntry, OutboxEvent
from tenancy.context import CallContext
from tenancy.models import Membership, Tenant
from tenancy.permissions import Permission

UserRow = namedtuple("UserRow", ["id", "name", "email"])


def member_user_sql(alias: str, key_sql: str) -> str:
    """When a referenced user (`users.id = <key_sql>`) is visible: a member of the caller's
    tenant. The one rule for the user loader and for references the database renders."""
    return (f"{alias}.id = {key_sql} and exists (select 1 from memberships m "
            f"where m.tenant_id = %(tenant_id)s and m.user_id = {alias}.id)")


def owner_user_sql(alias: str, key_sql: str) -> str:
    """`member_user_sql` for a user named by a tenant row's owner column, joined to that row.

    Every owner column has a foreign key `(tenant_id, owner_id) -> memberships`, so the owner
    is a member of the row's tenant, which the row's own statement has already limited to the
    caller's; and row-level security on `users` admits members of the current tenant only. The
    membership test is thus implied, and spelling it out cost as much again as the join itself
    (a second scan of the tenant's memberships per statement): the key is all the join needs."""
    return f"{alias}.id = {key_sql}"


USERS_SQL = f"select id, name, email from users where {member_user_sql('users', 'any(%(ids)s)')}"


@reads_only
async def users_by_ids(session: AsyncSession, ctx: CallContext, ids: Sequence[uuid.UUID]
                       ) -> list[UserRow | None]:
    """Members of the caller's tenant only, in the order asked (for data loaders)."""
    rows = await fetch(session, USERS_SQL, {"tenant_id": ctx.tenant_id, "ids": list(ids)},
                       args_row(UserRow))
    found = {u.id: u for u in rows}
    return [found.get(i) for i in ids]


ROLE_KEYS_SQL = "select id, key from roles where tenant_id = %(tenant_id)s and id = any(%(ids)s)"


@reads_only
async def role_keys_by_ids(session: AsyncSession, ctx: CallContext, ids: Sequence[uuid.UUID]
                           ) -> list[str | None]:
    """The keys of the tenant's roles (`manager`), in the order asked (for data loaders)."""
    rows = await fetch(session, ROLE_KEYS_SQL, {"tenant_id": ctx.tenant_id, "ids": list(ids)})
    found = {r.id: r.key for r in rows}
    return [found.get(i) for i in ids]


async def is_active_member(session: AsyncSession, ctx: CallContext, user_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Membership.user_id).where(Membership.tenant_id == ctx.tenant_id,
                                         Membership.user_id == user_id,
                                         Membership.status == "active"))
    return found is not None


async def current_tenant(session: AsyncSession, ctx: CallContext) -> Tenant:
    tenant = await session.get(Tenant, ctx.tenant_id)
    assert tenant is not None, "an authenticated caller's tenant exists"
    return tenant


async def _count(session: AsyncSession, stmt: Any) -> int:
    return int(await session.scalar(counted(stmt)) or 0)


AUDIT_SORT = SortKey("OCCURRED_AT_DESC", (AuditEntry.occurred_at, AuditEntry.id),
                     (datetime, uuid.UUID), True)
OUTBOX_SORT = SortKey("ID_DESC", (OutboxEvent.id,), (uuid.UUID,), True)


def _audit_entries(ctx: CallContext, filters: dict[str, Any]) -> Any:
    ctx.require(Permission.AUDIT_READ)
    stmt = select(AuditEntry).where(AuditEntry.tenant_id == ctx.tenant_id)
    for key in ("entity_type", "entity_id", "action", "actor_id", "request_id"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(AuditEntry, key) == filters[key])
    if filters.get("since") is not None:
        stmt = stmt.where(AuditEntry.occurred_at >= filters["since"])
    if filters.get("until") is not None:
        stmt = stmt.where(AuditEntry.occurred_at < filters["until"])
    return stmt


async def audit_log(session: AsyncSession, ctx: CallContext, *, filters: dict[str, Any],
                    first: int, after: str | None) -> Page[AuditEntry]:
    stmt = _audit_entries(ctx, filters)
    rows = list((await session.scalars(apply_keyset(stmt, AUDIT_SORT, after, first))).all())
    return build_page(rows, lambda r: (r.occurred_at, r.id), first, after)


async def count_audit_log(session: AsyncSession, ctx: CallContext, *, filters: dict[str, Any]
                          ) -> int:
    return await _count(session, _audit_entries(ctx, filters))


def _events(ctx: CallContext, event_type: str | None) -> Any:
    ctx.require(Permission.AUDIT_READ)
    stmt = select(OutboxEvent).where(OutboxEvent.tenant_id == ctx.tenant_id)
    if event_type:
        stmt = stmt.where(OutboxEvent.event_type == event_type)
    return stmt


async def count_events(session: AsyncSession, ctx: CallContext, *, event_type: str | None
                       ) -> int:
    return await _count(session, _events(ctx, event_type))


async def events(session: AsyncSession, ctx: CallContext, *, event_type: str | None,
                 first: int, after: str | None) -> Page[OutboxEvent]:
    """The tenant's domain events, newest first: what webhooks will deliver."""
    stmt = _events(ctx, event_type)
    rows = list((await session.scalars(apply_keyset(stmt, OUTBOX_SORT, after, first))).all())
    return build_page(rows, lambda r: (r.id,), first, after)

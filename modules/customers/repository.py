"""Every query of the customers domain starts here, from tenant- and owner-scoped statements.

Row-level security is the wall; the explicit `tenant_id` filter keeps plans on the
`(tenant_id, …)` indexes, and the owner rule (a sales user sees only what they own) lives in the
base statement so no query can forget it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from modules.customers.models import Company, Contact
from modules.pagination import Page, SortKey, apply_keyset, build_page
from tenancy.context import CallContext
from tenancy.permissions import Permission

Customer = TypeVar("Customer", Company, Contact)


def sort_keys(model: type[Company] | type[Contact]) -> dict[str, SortKey]:
    lower_name = func.lower(model.name)
    return {
        "CREATED_AT_DESC": SortKey("CREATED_AT_DESC", (model.created_at, model.id),
                                   (datetime, uuid.UUID), True),
        "CREATED_AT_ASC": SortKey("CREATED_AT_ASC", (model.created_at, model.id),
                                  (datetime, uuid.UUID), False),
        "UPDATED_AT_DESC": SortKey("UPDATED_AT_DESC", (model.updated_at, model.id),
                                   (datetime, uuid.UUID), True),
        "NAME_ASC": SortKey("NAME_ASC", (lower_name, model.id), (str, uuid.UUID), False),
        "NAME_DESC": SortKey("NAME_DESC", (lower_name, model.id), (str, uuid.UUID), True),
    }


SORTS: dict[type[Any], dict[str, SortKey]] = {
    Company: sort_keys(Company), Contact: sort_keys(Contact),
}


def sort_values(sort: SortKey, row: Company | Contact) -> tuple[Any, ...]:
    if sort.name.startswith("NAME"):
        return (row.name.lower(), row.id)
    if sort.name.startswith("UPDATED"):
        return (row.updated_at, row.id)
    return (row.created_at, row.id)


def visible(model: type[Customer], ctx: CallContext, *, include_deleted: bool = False
            ) -> Select[Any]:
    """The rows this caller may see: their tenant's, and only their own unless they read all."""
    stmt = select(model).where(model.tenant_id == ctx.tenant_id)
    if not ctx.can(Permission.CUSTOMERS_READ_ALL):
        stmt = stmt.where(model.owner_id == ctx.actor.user_id)
    if not include_deleted:
        stmt = stmt.where(model.deleted_at.is_(None))
    return stmt


def apply_filters(stmt: Select[tuple[Customer]], model: type[Customer], f: dict[str, Any]
                  ) -> Select[Any]:
    if q := f.get("search"):
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(model.name.ilike(pattern), model.email.ilike(pattern),
                              model.phone.like(pattern)))
    if (owner_id := f.get("owner_id")) is not None:
        stmt = stmt.where(model.owner_id == owner_id)
    if email := f.get("email"):
        stmt = stmt.where(func.lower(model.email) == email.lower())
    if (after := f.get("created_after")) is not None:
        stmt = stmt.where(model.created_at >= after)
    if (before := f.get("created_before")) is not None:
        stmt = stmt.where(model.created_at < before)
    if f.get("deleted_only"):
        stmt = stmt.where(model.deleted_at.is_not(None))
    if model is Contact and (company_id := f.get("company_id")) is not None:
        stmt = stmt.where(Contact.company_id == company_id)
    return stmt


async def page(session: AsyncSession, ctx: CallContext, model: type[Customer], *,
               filters: dict[str, Any], sort: str, first: int, after: str | None
               ) -> Page[Customer]:
    key = SORTS[model][sort]
    include_deleted = bool(filters.get("include_deleted") or filters.get("deleted_only"))
    stmt = apply_filters(visible(model, ctx, include_deleted=include_deleted), model, filters)
    rows = list((await session.scalars(apply_keyset(stmt, key, after, first))).all())
    return build_page(rows, lambda r: sort_values(key, r), first, after)


async def count(session: AsyncSession, ctx: CallContext, model: type[Customer], *,
                filters: dict[str, Any]) -> int:
    include_deleted = bool(filters.get("include_deleted") or filters.get("deleted_only"))
    stmt = apply_filters(visible(model, ctx, include_deleted=include_deleted), model, filters)
    return int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


async def by_ids(session: AsyncSession, ctx: CallContext, model: type[Customer],
                 ids: Sequence[uuid.UUID], *, include_deleted: bool = True) -> list[Customer]:
    stmt = visible(model, ctx, include_deleted=include_deleted).where(model.id.in_(ids))
    return list((await session.scalars(stmt)).all())


async def get(session: AsyncSession, ctx: CallContext, model: type[Customer], id: uuid.UUID, *,
              include_deleted: bool = False, for_update: bool = False) -> Customer | None:
    stmt = visible(model, ctx, include_deleted=include_deleted).where(model.id == id)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def is_member(session: AsyncSession, ctx: CallContext, user_id: uuid.UUID) -> bool:
    from tenancy.models import Membership

    found = await session.scalar(
        select(Membership.user_id).where(Membership.tenant_id == ctx.tenant_id,
                                         Membership.user_id == user_id,
                                         Membership.status == "active"))
    return found is not None

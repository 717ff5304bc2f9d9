"""Customer rules: who may see and change which companies and contacts, and what a change records.

Services take the caller's session (its transaction already scoped to the tenant) and context,
flush but never commit, and write the audit row and outbox event of every change.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from infra.db import new_id, sends_scope
from infra.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from modules.customers import events, repository
from modules.customers.models import Company, Contact
from modules.customers.repository import Customer
from modules.customers.schemas import validate_company, validate_contact
from modules.pagination import Page, RenderSpec
from tenancy.audit import record_change, snapshot
from tenancy.context import CallContext
from tenancy.permissions import Permission

ENTITY = {Contact: events.CONTACT, Company: events.COMPANY}
VALIDATE: dict[type[Any], Callable[..., dict[str, Any]]] = {
    Contact: validate_contact, Company: validate_company,
}


def _can_see_deleted(ctx: CallContext, filters: dict[str, Any]) -> None:
    if (filters.get("include_deleted") or filters.get("deleted_only")) and not ctx.can(
        Permission.CUSTOMERS_DELETE
    ):
        raise Forbidden("seeing deleted customers needs the customers:delete permission",
                        permission=str(Permission.CUSTOMERS_DELETE))


@sends_scope
async def list_page(session: AsyncSession, ctx: CallContext, model: type[Customer], *,
                    filters: dict[str, Any], sort: str, first: int, after: str | None,
                    rendered: RenderSpec | None = None) -> Page[Customer]:
    """A page of the customers the caller may see; `rendered`: see `repository.page`."""
    ctx.require(Permission.CUSTOMERS_READ)
    _can_see_deleted(ctx, filters)
    return await repository.page(session, ctx, model, filters=filters, sort=sort, first=first,
                                 after=after, rendered=rendered)


@sends_scope
async def count(session: AsyncSession, ctx: CallContext, model: type[Customer], *,
                filters: dict[str, Any]) -> int:
    ctx.require(Permission.CUSTOMERS_READ)
    _can_see_deleted(ctx, filters)
    return await repository.count(session, ctx, model, filters=filters)


@sends_scope
async def load_many(session: AsyncSession, ctx: CallContext, model: type[Customer],
                    ids: Sequence[uuid.UUID]) -> list[Any]:
    """For data loaders: results in the order of `ids`, None where not visible."""
    if not ctx.can(Permission.CUSTOMERS_READ):
        return [None] * len(ids)
    rows = await repository.by_ids(session, ctx, model, ids)
    found = {r.id: r for r in rows}
    return [found.get(i) for i in ids]


async def get(session: AsyncSession, ctx: CallContext, model: type[Customer], id: uuid.UUID
              ) -> Customer:
    ctx.require(Permission.CUSTOMERS_READ)
    row = await repository.get(session, ctx, model, id,
                               include_deleted=ctx.can(Permission.CUSTOMERS_DELETE))
    if row is None:
        raise NotFound(f"no {ENTITY[model]} with this id", field="id")
    return row


async def _check_references(session: AsyncSession, ctx: CallContext, values: dict[str, Any]
                            ) -> None:
    errors = []
    if "owner_id" in values and values["owner_id"] is None and not ctx.can(
            Permission.CUSTOMERS_READ_ALL):
        raise Forbidden("only managers can leave a customer without an owner", field="ownerId")
    if (owner_id := values.get("owner_id")) is not None:
        if not ctx.can(Permission.CUSTOMERS_READ_ALL) and owner_id != ctx.actor.user_id:
            raise Forbidden("only managers can give a customer to another owner", field="ownerId")
        if not await repository.is_member(session, ctx, owner_id):
            errors.append(("ownerId", "is not an active member of this tenant"))
    if (company_id := values.get("company_id")) is not None and await repository.get(
        session, ctx, Company, company_id
    ) is None:
        errors.append(("companyId", "no such company"))
    if errors:
        raise ValidationFailed([FieldError(f, m, "not_found") for f, m in errors])


async def create(session: AsyncSession, ctx: CallContext, model: type[Customer],
                 data: dict[str, Any]) -> Customer:
    ctx.require(Permission.CUSTOMERS_WRITE)
    values = VALIDATE[model](data, ctx.region, partial=False)
    if values.get("owner_id") is None:
        values["owner_id"] = ctx.actor.user_id
    await _check_references(session, ctx, values)
    row = model(tenant_id=ctx.tenant_id, id=new_id(), **values)
    session.add(row)
    await session.flush()
    await record_change(session, ctx, entity_type=ENTITY[model], entity_id=row.id,
                        action=events.CREATED, before=None, after=snapshot(row))
    return row


async def _editable(session: AsyncSession, ctx: CallContext, model: type[Customer],
                    id: uuid.UUID) -> Customer:
    """The row to change, locked; deleted ones too for those who may see them (as `get`
    shows them), so every write answers the same record a read would."""
    row = await repository.get(session, ctx, model, id,
                               include_deleted=ctx.can(Permission.CUSTOMERS_DELETE),
                               for_update=True)
    if row is None:
        raise NotFound(f"no {ENTITY[model]} with this id", field="id")
    return row


def _patched(row: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The fields sent, with a nested object (a JSON column such as `address`) sent as the
    fields of it that change: its fields follow the top level's rule (only those sent change,
    null clears one), and null for the whole object clears it."""
    out = dict(data)
    for key, sent in data.items():
        current = getattr(row, key, None)
        if isinstance(sent, dict) and isinstance(current, dict):
            out[key] = {**current, **sent}
    return out


async def update(session: AsyncSession, ctx: CallContext, model: type[Customer], id: uuid.UUID,
                 data: dict[str, Any]) -> Customer:
    ctx.require(Permission.CUSTOMERS_WRITE)
    row = await _editable(session, ctx, model, id)
    if row.deleted_at is not None:
        raise Conflict(f"this {ENTITY[model]} is deleted: restore it first", field="id")
    values = VALIDATE[model](_patched(row, data), ctx.region, partial=True)
    await _check_references(session, ctx, {k: v for k, v in values.items()
                                           if getattr(row, k) != v})
    before = snapshot(row)
    for key, value in values.items():
        setattr(row, key, value)
    await session.flush()
    after = snapshot(row)
    if before != after:
        await record_change(session, ctx, entity_type=ENTITY[model], entity_id=row.id,
                            action=events.UPDATED, before=before, after=after)
    return row


async def delete(session: AsyncSession, ctx: CallContext, model: type[Customer], id: uuid.UUID
                 ) -> Customer:
    """Soft delete: the row stays, hidden from lists, and can be restored. Idempotent: a
    deleted row is answered as it is, and nothing is recorded."""
    ctx.require(Permission.CUSTOMERS_DELETE)
    row = await _editable(session, ctx, model, id)
    if row.deleted_at is not None:
        return row
    before = snapshot(row)
    row.deleted_at = func.now()  # the transaction's time, as `updated_at` and the audit row
    await session.flush()
    await record_change(session, ctx, entity_type=ENTITY[model], entity_id=row.id,
                        action=events.DELETED, before=before, after=snapshot(row))
    return row


async def restore(session: AsyncSession, ctx: CallContext, model: type[Customer], id: uuid.UUID
                  ) -> Customer:
    """Undoes `delete`. Idempotent: a live row is answered as it is, and nothing recorded."""
    ctx.require(Permission.CUSTOMERS_DELETE)
    row = await _editable(session, ctx, model, id)
    if row.deleted_at is None:
        return row
    before = snapshot(row)
    row.deleted_at = None
    await session.flush()
    await record_change(session, ctx, entity_type=ENTITY[model], entity_id=row.id,
                        action=events.RESTORED, before=before, after=snapshot(row))
    return row

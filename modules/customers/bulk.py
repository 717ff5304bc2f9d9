"""Bulk operations on contacts and companies (tag, untag, assign an owner, delete, restore) by
ids or by a list's filter, and the transfer of a member's whole book to another.

Each record goes through the same service method a single write uses (permission, record rule,
audit row and event), inside a savepoint of its own: a record that fails is reported with its
error code and leaves nothing behind, and the others stand. A call acts on at most
`BULK_LIMIT` records (a filter matching more is refused: narrow it, or page through by ids), so
one request stays short and its transaction small; it is all-or-nothing per record, and every
operation is idempotent (a record already so is counted unchanged), so a retried call after a
crash or a timeout changes nothing twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from infra.errors import AppError, FieldError, Forbidden, ValidationFailed
from modules.customers.service import companies, contacts
from modules.kit import registry
from modules.kit import repository as kit_repository
from modules.kit.links import LinkService
from modules.kit.service import UPDATED, EntityService
from modules.tags.entities import TAG
from modules.tags.service import company_tags, contact_tags
from tenancy import directory
from tenancy.context import CallContext
from tenancy.models import Membership
from tenancy.permissions import Permission

BULK_LIMIT = 500  # records one bulk call acts on
TRANSFER_LIMIT = 2000  # records of one kind one transfer call moves; call again for the rest
ACTIONS = ("tag", "untag", "assign", "delete", "restore")


@dataclass(frozen=True)
class BulkFailure:
    id: uuid.UUID
    code: str  # NOT_FOUND, FORBIDDEN, CONFLICT, VALIDATION: as a single write would answer
    message: str


@dataclass
class BulkResult:
    matched: int = 0  # records named (ids) or found by the filter
    changed: int = 0
    unchanged: int = 0  # already so (idempotent)
    failed: list[BulkFailure] = field(default_factory=list)


_SERVICES: dict[str, tuple[EntityService[Any], LinkService]] = {
    "contact": (contacts, contact_tags), "company": (companies, company_tags)}


async def bulk_update(session: AsyncSession, ctx: CallContext, *, kind: str, action: str,
                      ids: Sequence[uuid.UUID] | None = None,
                      filters: dict[str, Any] | None = None,
                      tag_ids: Sequence[uuid.UUID] = (),
                      owner_id: uuid.UUID | None = None) -> BulkResult:
    """Apply `action` to each contact or company named by `ids` or found by `filters` (the
    list's own filter and record rule). Whole-call refusals (a missing permission, an invalid
    tag or owner, too many records) come first; then each record succeeds or fails alone."""
    service, links = _SERVICES[kind]
    entity = service.entity
    if action not in ACTIONS:
        raise ValidationFailed.single("action", f"is one of {', '.join(ACTIONS)}", "invalid")
    ctx.require(entity.read)
    ctx.require(entity.delete if action in ("delete", "restore") else entity.write)  # type: ignore[arg-type]
    if (ids is None) == (filters is None):
        raise ValidationFailed.single("ids", "name the records by ids or by a filter, not both",
                                      "required")
    tags = list(dict.fromkeys(tag_ids))
    if action in ("tag", "untag"):
        ctx.require(TAG.read)
        await _check_tags(session, ctx, tags)
    if action == "assign":
        await _check_owner(session, ctx, owner_id)
    if ids is not None:
        targets = list(dict.fromkeys(ids))
        if len(targets) > BULK_LIMIT:
            raise ValidationFailed.single("ids", f"at most {BULK_LIMIT} at once", "too_many")
    else:
        targets = await service.matching_ids(session, ctx, filters=filters or {},
                                             limit=BULK_LIMIT + 1)
        if len(targets) > BULK_LIMIT:
            raise ValidationFailed.single(
                "filter", f"matches more than {BULK_LIMIT} records: narrow it, or act on "
                "them in parts", "too_many")
    result = BulkResult(matched=len(targets))
    op = _operation(service, links, action, tags, owner_id)
    for record_id in targets:
        try:
            async with session.begin_nested():
                changed = await op(session, ctx, record_id)
        except AppError as exc:
            result.failed.append(BulkFailure(record_id, exc.code, exc.message))
            continue
        if changed:
            result.changed += 1
        else:
            result.unchanged += 1
    return result


async def _check_tags(session: AsyncSession, ctx: CallContext, tags: list[uuid.UUID]) -> None:
    if not tags:
        raise ValidationFailed.single("tagIds", "names at least one tag", "required")
    if len(tags) > 50:
        raise ValidationFailed.single("tagIds", "at most 50 at once", "too_many")
    visible = set(await session.scalars(
        kit_repository.visible(TAG, ctx).with_only_columns(TAG.model.id)
        .where(TAG.model.id.in_(tags))))
    if missing := [t for t in tags if t not in visible]:
        from graphql_api.relay import to_global_id

        raise ValidationFailed([FieldError("tagIds", f"no tag with id {to_global_id('Tag', t)}",
                                           "not_found") for t in missing])


async def _check_owner(session: AsyncSession, ctx: CallContext, owner_id: uuid.UUID | None
                       ) -> None:
    """As a single write's rule (`customers.service.check_references`), once for the call."""
    if (owner_id is None or owner_id != ctx.actor.user_id) and not ctx.can(
            Permission.CUSTOMERS_READ_ALL):
        raise Forbidden("only managers can give customers to another owner", field="ownerId")
    if owner_id is not None and not await directory.is_active_member(session, ctx, owner_id):
        raise ValidationFailed.single("ownerId", "is not an active member of this tenant",
                                      "not_found")


Operation = Callable[[AsyncSession, CallContext, uuid.UUID], Awaitable[bool]]


def _operation(service: EntityService[Any], links: LinkService, action: str,
               tags: list[uuid.UUID], owner_id: uuid.UUID | None) -> Operation:
    """One record's write, through the service a single write uses; True if it changed."""

    async def tag(session: AsyncSession, ctx: CallContext, id: uuid.UUID) -> bool:
        await service.live(session, ctx, id)
        stored = await links._stored(session, ctx, id)
        if all(t in stored for t in tags):
            return False
        await links.attach(session, ctx, id, tags)
        return True

    async def untag(session: AsyncSession, ctx: CallContext, id: uuid.UUID) -> bool:
        await service.live(session, ctx, id)
        stored = await links._stored(session, ctx, id)
        if not any(t in stored for t in tags):
            return False
        await links.detach(session, ctx, id, tags)
        return True

    async def assign(session: AsyncSession, ctx: CallContext, id: uuid.UUID) -> bool:
        row = await service.live(session, ctx, id)
        if row.owner_id == owner_id:
            return False
        await service.update(session, ctx, id, {"owner_id": owner_id})
        return True

    async def delete(session: AsyncSession, ctx: CallContext, id: uuid.UUID) -> bool:
        row = await service.editable(session, ctx, id)
        if row.deleted_at is not None:
            return False
        await service.delete(session, ctx, id)
        return True

    async def restore(session: AsyncSession, ctx: CallContext, id: uuid.UUID) -> bool:
        row = await service.editable(session, ctx, id)
        if row.deleted_at is None:
            return False
        await service.restore(session, ctx, id)
        return True

    return {"tag": tag, "untag": untag, "assign": assign, "delete": delete,
            "restore": restore}[action]


# -- transfer -----------------------------------------------------------------------------

@dataclass
class TransferResult:
    moved: dict[str, int]  # entity name -> records moved in this call
    remaining: int  # records still owned by the member (more than TRANSFER_LIMIT of a kind)


async def transfer_customers(session: AsyncSession, ctx: CallContext, *,
                             from_user_id: uuid.UUID, to_user_id: uuid.UUID) -> TransferResult:
    """Everything a member owns (contacts and companies, deleted ones too, and every owned
    kind declared later: deals, orders) becomes another active member's, in one call: one
    audit row and one `<kind>.updated` event per record. For managers (who read every record
    and may write them). A member's book larger than TRANSFER_LIMIT of one kind is moved in
    parts: the answer says how many remain, and calling again moves the next part."""
    owned = [e for e in registry.entities() if e.owner is not None]
    for entity in owned:
        ctx.require(entity.read_all)  # type: ignore[arg-type]
        ctx.require(entity.write)
    errors = []
    if from_user_id == to_user_id:
        errors.append(FieldError("toUserId", "is the member whose customers move", "same"))
    if not await session.scalar(select(exists().where(
            Membership.tenant_id == ctx.tenant_id, Membership.user_id == from_user_id))):
        errors.append(FieldError("fromUserId", "is not a member of this tenant", "not_found"))
    if not await directory.is_active_member(session, ctx, to_user_id):
        errors.append(FieldError("toUserId", "is not an active member of this tenant",
                                 "not_found"))
    if errors:
        raise ValidationFailed(errors)
    moved: dict[str, int] = {}
    remaining = 0
    for entity in owned:
        service = registry.service_of(entity)
        model, owner = entity.model, getattr(entity.model, entity.owner)  # type: ignore[arg-type]
        rows = list(await session.scalars(
            select(model).where(model.tenant_id == ctx.tenant_id, owner == from_user_id)
            .order_by(model.id).limit(TRANSFER_LIMIT).with_for_update()))
        befores = [service.snapshot(r) for r in rows]
        for row in rows:
            setattr(row, entity.owner, to_user_id)  # type: ignore[arg-type]
        await session.flush()
        for row, before in zip(rows, befores, strict=True):
            await service.record(session, ctx, row, UPDATED, before, service.snapshot(row))
        moved[entity.name] = len(rows)
        if len(rows) == TRANSFER_LIMIT:
            remaining += await session.scalar(select(func.count()).select_from(model).where(
                model.tenant_id == ctx.tenant_id, owner == from_user_id)) or 0
    return TransferResult(moved, remaining)


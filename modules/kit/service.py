"""What every declared entity's service does the same way: permission checks, lists, lookups,
create, update (fields sent only; null clears), soft delete and restore, each write with its
audit row and outbox event in the caller's transaction.

A module subclasses `EntityService` and keeps only its own rules: `validate` (input to column
values) and, where it has them, `check` (rules that need the database, e.g. references) and
`after_write`. Services take the caller's session and context, flush, and never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from infra.db import new_id
from infra.errors import BadRequest, Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from infra.pagination import Page, RenderSpec
from modules.kit import custom_values, registry, repository, scopes
from modules.kit.entity import Entity
from tenancy.audit import record_change
from tenancy.context import CallContext

M = TypeVar("M")

CREATED, UPDATED, DELETED, RESTORED = "created", "updated", "deleted", "restored"


def patched(row: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The fields sent for an update, with a nested object (a JSON column such as `address`)
    merged over the stored one: its fields follow the top level's rule (only those sent
    change, null clears one), and null for the whole object clears it."""
    out = dict(data)
    for key, sent in data.items():
        current = getattr(row, key, None)
        if isinstance(sent, dict) and isinstance(current, dict):
            out[key] = {**current, **sent}
    return out


class EntityService(Generic[M]):
    entity: ClassVar[Entity]

    def __init__(self) -> None:
        registry.register_service(self)

    # -- the module's own rules: override what applies ---------------------------------------
    def validate(self, ctx: CallContext, data: dict[str, Any], *, row: M | None
                 ) -> dict[str, Any]:
        """Column values from the fields sent (all of them on create, `row` None; only those
        sent on update). Raise `ValidationFailed` with every field error at once."""
        return dict(data)

    async def check(self, session: AsyncSession, ctx: CallContext, values: dict[str, Any], *,
                    row: M | None) -> None:
        """Rules that need the database, on the values about to be written (on update: only
        those that change)."""

    def defaults(self, ctx: CallContext) -> dict[str, Any]:
        """Values a new record starts with; the owner is the creating user by default."""
        owner = self.entity.owner
        return {owner: ctx.actor.user_id} if owner is not None else {}

    # -- reads ---------------------------------------------------------------------------------
    def _deleted(self, ctx: CallContext, filters: dict[str, Any]) -> str:
        entity = self.entity
        include, only = filters.get("include_deleted"), filters.get("deleted_only")
        if not (include or only):
            return repository.LIVE
        if entity.delete is None:
            raise BadRequest(f"{entity.noun} records are never deleted", field="filter")
        ctx.require(entity.delete)  # deleted records are shown to those who may delete
        return repository.DELETED_ONLY if only else repository.ALL

    async def _custom(self, session: AsyncSession, ctx: CallContext, filters: dict[str, Any],
                      sort_by: dict[str, Any] | None
                      ) -> tuple[list[custom_values.Condition], custom_values.FieldSort | None]:
        """A list's custom-field conditions and sort (`filters["custom_fields"]`, `sort_by`),
        checked against the tenant's fields of this entity."""
        sent = filters.get("custom_fields")
        if not sent and not sort_by:
            return [], None
        if not self.entity.custom_fields:
            raise ValidationFailed.single("filter.customFields",
                                          f"{self.entity.noun} records have no custom fields",
                                          "not_applicable")
        defs = await custom_values.definitions(session, ctx, self.entity.name)
        conditions = custom_values.conditions(defs, sent, ctx=ctx) if sent else []
        sort = (custom_values.field_sort(defs, sort_by.get("custom_field"),
                                         bool(sort_by.get("descending")))
                if sort_by else None)
        return conditions, sort

    async def check_filters(self, session: AsyncSession, ctx: CallContext,
                            filters: dict[str, Any]) -> None:
        """VALIDATION if these filters' custom-field conditions do not fit the tenant's fields
        (as a list would answer), without running the list: for filters saved to run later."""
        await self._custom(session, ctx, filters, None)

    async def list_page(self, session: AsyncSession, ctx: CallContext, *,
                        filters: dict[str, Any], sort: str, first: int, after: str | None,
                        rendered: RenderSpec | None = None,
                        render_params: dict[str, Any] | None = None,
                        sort_by: dict[str, Any] | None = None) -> Page[Any]:
        """`sort_by` (`{"custom_field": key, "descending": bool}`) sorts by one of the
        entity's custom fields instead of `sort`."""
        ctx.require(self.entity.read)
        deleted = self._deleted(ctx, filters)
        custom, field_sort = await self._custom(session, ctx, filters, sort_by)
        if field_sort is not None:
            return await repository.field_page(session, ctx, self.entity, filters=filters,
                                               deleted=deleted, sort=field_sort, first=first,
                                               after=after, custom=custom)
        return await repository.page(session, ctx, self.entity, filters=filters,
                                     deleted=deleted, sort=sort, first=first, after=after,
                                     rendered=rendered, render_params=render_params,
                                     custom=custom)

    async def count(self, session: AsyncSession, ctx: CallContext, *,
                    filters: dict[str, Any]) -> int:
        ctx.require(self.entity.read)
        deleted = self._deleted(ctx, filters)
        custom, _ = await self._custom(session, ctx, filters, None)
        return await repository.count(session, ctx, self.entity, filters=filters,
                                      deleted=deleted, custom=custom)

    async def matching_ids(self, session: AsyncSession, ctx: CallContext, *,
                           filters: dict[str, Any], limit: int) -> list[uuid.UUID]:
        """Ids of the records the list with these filters shows the caller (at most
        `limit`): what bulk operations by filter act on."""
        ctx.require(self.entity.read)
        custom, _ = await self._custom(session, ctx, filters, None)  # custom-field ones too
        return await repository.ids(session, ctx, self.entity, filters=filters,
                                    deleted=self._deleted(ctx, filters), limit=limit,
                                    custom=custom)

    async def load_many(self, session: AsyncSession, ctx: CallContext,
                        ids: Sequence[uuid.UUID]) -> list[Any]:
        """For data loaders: rows in the order of `ids`, None where not visible."""
        return await repository.by_ids(session, ctx, self.entity, ids)

    async def get(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID) -> M:
        ctx.require(self.entity.read)
        row = await repository.get(session, ctx, self.entity, id,
                                   include_deleted=self.entity.sees_deleted(ctx))
        if row is None:
            raise NotFound(f"no {self.entity.noun} with this id", field="id")
        return row  # type: ignore[no-any-return]

    async def editable(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID) -> M:
        """The row to change, locked for update, if the caller may see it: deleted ones too
        for those who may see them (as `get` shows them), so every write answers the same
        record a read would. NOT_FOUND otherwise."""
        row = await repository.get(session, ctx, self.entity, id,
                                   include_deleted=self.entity.sees_deleted(ctx),
                                   for_update=True)
        if row is None:
            raise NotFound(f"no {self.entity.noun} with this id", field="id")
        self.require_writable(ctx, row)
        return row  # type: ignore[no-any-return]

    def require_writable(self, ctx: CallContext, row: Any) -> None:
        """A record the caller sees only through a read-only share is not theirs to change:
        FORBIDDEN (they may read it, so NOT_FOUND would be a lie)."""
        entity = self.entity
        if entity.owner is None or entity.reads_all(ctx):
            return
        if not scopes.loaded(ctx).may_write(entity.name, getattr(row, entity.owner), row.id):
            raise Forbidden(f"this {entity.noun} is shared with you read-only", field="id")

    async def live(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID) -> M:
        """`editable`, refused with CONFLICT when deleted: a deleted record is restored before
        it is changed."""
        row: Any = await self.editable(session, ctx, id)
        if self.entity.soft_deletes and row.deleted_at is not None:
            raise Conflict(f"this {self.entity.noun} is deleted: restore it first", field="id")
        return row  # type: ignore[no-any-return]

    # -- writes --------------------------------------------------------------------------------
    def snapshot(self, row: Any) -> dict[str, Any]:
        """The row's columns as they are now, secrets left out: `record_change` gives them the
        API's forms (the entity's declaration says which are references and enums)."""
        return {k: getattr(row, k) for k in self.entity.columns
                if k not in self.entity.secrets and k != "tenant_id"}

    async def full_snapshot(self, session: AsyncSession, ctx: CallContext, row: Any
                            ) -> dict[str, Any]:
        """`snapshot`, with the record's custom-field values (`customFields: {key: value}`)
        for entities that have them: what audit rows and events show."""
        out = self.snapshot(row)
        if self.entity.custom_fields:
            values = await custom_values.read(session, ctx, self.entity.name, [row.id])
            out["custom_fields"] = custom_values.api_form(values[0])
        return out

    def _validate_all(self, ctx: CallContext, data: dict[str, Any], *, row: M | None,
                      defs: list[custom_values.Definition] | None, custom: Any
                      ) -> tuple[dict[str, Any], dict[custom_values.Definition, Any]]:
        """The module's `validate` and the custom fields' checks: every error at once."""
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        try:
            values = self.validate(ctx, data, row=row)
        except ValidationFailed as exc:
            errors += exc.errors
        custom_changes: dict[custom_values.Definition, Any] = {}
        if defs is not None:
            custom_changes, custom_errors = custom_values.validate(
                defs, custom if custom is not None else [], creating=row is None)
            errors += custom_errors
        if errors:
            raise ValidationFailed(errors)
        return values, custom_changes

    async def record(self, session: AsyncSession, ctx: CallContext, row: Any, action: str,
                     before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        """The audit row and the outbox event of a write (both in the API's forms)."""
        await record_change(session, ctx, entity_type=self.entity.name, entity_id=row.id,
                            action=action, before=before, after=after)

    async def flush(self, session: AsyncSession) -> None:
        """Flush; a broken unique index the entity declares (`Entity.unique`) is a CONFLICT on
        its field. Inside the mutation's savepoint, which the error rolls back."""
        try:
            await session.flush()
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
            field = self.entity.unique.get(constraint or "")
            if field is None:
                raise
            raise Conflict(f"another {self.entity.noun} has this {field}",
                           field=field) from None

    async def _now(self, session: AsyncSession) -> datetime:
        # The transaction's time: created_at, updated_at, deleted_at and the audit row of one
        # write are the same instant.
        return await session.scalar(select(func.now()))  # type: ignore[return-value]

    async def create(self, session: AsyncSession, ctx: CallContext, data: dict[str, Any]) -> M:
        entity = self.entity
        ctx.require(entity.write)
        data = dict(data)
        custom = data.pop("custom_fields", None)
        defs = (await custom_values.definitions(session, ctx, entity.name)
                if entity.custom_fields else None)
        if custom is not None and defs is None:
            raise ValidationFailed.single("customFields",
                                          f"{entity.noun} records have no custom fields",
                                          "not_applicable")
        values, custom_changes = self._validate_all(ctx, data, row=None, defs=defs,
                                                    custom=custom)
        for key, value in self.defaults(ctx).items():
            values.setdefault(key, value)  # only where not sent: a sent null stays null
        await self.check(session, ctx, values, row=None)
        # A module may choose the id in `validate` or `defaults` (a sealed value binds it).
        row = entity.model(tenant_id=ctx.tenant_id, id=values.pop("id", None) or new_id(),
                           **values)
        session.add(row)
        await self.flush(session)
        await custom_values.write(session, ctx, row.id, custom_changes)
        await self.record(session, ctx, row, CREATED, None,
                          await self.full_snapshot(session, ctx, row))
        return row  # type: ignore[no-any-return]

    async def update(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID,
                     data: dict[str, Any]) -> M:
        """Only the fields sent change (null clears); `custom_fields` likewise, by key."""
        entity = self.entity
        ctx.require(entity.write)
        row = await self.live(session, ctx, id)
        data = dict(data)
        custom = data.pop("custom_fields", None)
        if custom is not None and not entity.custom_fields:
            raise ValidationFailed.single("customFields",
                                          f"{entity.noun} records have no custom fields",
                                          "not_applicable")
        defs = (await custom_values.definitions(session, ctx, entity.name)
                if custom is not None else None)
        values, custom_changes = self._validate_all(ctx, patched(row, data), row=row,
                                                    defs=defs, custom=custom)
        changes = {k: v for k, v in values.items() if getattr(row, k) != v}
        before = await self.full_snapshot(session, ctx, row) if entity.custom_fields \
            else self.snapshot(row)
        if custom_changes:
            held = before.get("custom_fields", {})
            custom_changes = {d: v for d, v in custom_changes.items() if held.get(d.key)
                              != custom_values.Value(d, custom_values.typed(d, v)).api()}
        if not changes and not custom_changes:
            return row
        if changes:
            await self.check(session, ctx, changes, row=row)
        for key, value in changes.items():
            setattr(row, key, value)
        if not changes:  # only custom fields changed: the record changed all the same
            row.updated_at = await self._now(session)  # type: ignore[attr-defined]
        await self.flush(session)
        await custom_values.write(session, ctx, row.id, custom_changes)  # type: ignore[attr-defined]
        await self.record(session, ctx, row, UPDATED, before,
                          await self.full_snapshot(session, ctx, row))
        return row

    def _require_delete(self, ctx: CallContext) -> None:
        if self.entity.delete is None:
            raise Forbidden(f"{self.entity.noun} records cannot be deleted")
        ctx.require(self.entity.delete)

    async def delete(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID) -> M:
        """Soft delete: the row stays, hidden from lists, and can be restored. Deleting a
        deleted record changes nothing and answers it as it is (idempotent)."""
        self._require_delete(ctx)
        row: Any = await self.editable(session, ctx, id)
        if row.deleted_at is not None:
            return row  # type: ignore[no-any-return]
        before = await self.full_snapshot(session, ctx, row)
        row.deleted_at = await self._now(session)
        await session.flush()
        await self.record(session, ctx, row, DELETED, before,
                          {**before, **self.snapshot(row)})
        return row  # type: ignore[no-any-return]

    async def restore(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID) -> M:
        """Undoes a soft delete; restoring a live record changes nothing (idempotent)."""
        self._require_delete(ctx)
        row: Any = await self.editable(session, ctx, id)
        if row.deleted_at is None:
            return row  # type: ignore[no-any-return]
        before = await self.full_snapshot(session, ctx, row)
        row.deleted_at = None
        await self.flush(session)
        await self.record(session, ctx, row, RESTORED, before,
                          {**before, **self.snapshot(row)})
        return row  # type: ignore[no-any-return]

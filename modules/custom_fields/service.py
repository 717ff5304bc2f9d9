"""Custom field rules: who defines them, what a definition may say, and what changing one does
to the values records hold.

Lists, lookups, remove (soft delete) and restore, audit rows and events are the kit's, from the
declaration in `entities.py`; values are the kit's too (`modules.kit.custom_values`), for every
entity declared with `custom_fields=True`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from infra.errors import BadRequest, Conflict, ValidationFailed
from modules.custom_fields.entities import CUSTOM_FIELD
from modules.custom_fields.models import CustomField
from modules.custom_fields.schemas import entities_with_fields, validate_definition
from modules.kit import EntityService
from modules.kit.custom_values import VALUES
from tenancy.context import CallContext

MAX_FIELDS = 100  # live fields per entity: forms and the values' loader read them all


class CustomFieldService(EntityService[CustomField]):
    entity = CUSTOM_FIELD

    def validate(self, ctx: CallContext, data: dict[str, Any], *, row: CustomField | None
                 ) -> dict[str, Any]:
        return validate_definition(data, current=row)

    async def check(self, session: AsyncSession, ctx: CallContext, values: dict[str, Any], *,
                    row: CustomField | None) -> None:
        entity = values.get("entity") if row is None else row.entity
        if row is None:
            live = await session.scalar(select(func.count()).where(
                CustomField.tenant_id == ctx.tenant_id, CustomField.entity == entity,
                CustomField.deleted_at.is_(None)))
            if (live or 0) >= MAX_FIELDS:
                raise Conflict(f"a {entity} has at most {MAX_FIELDS} custom fields",
                               field="entity")
            if "position" not in values:  # new fields go last
                last = await session.scalar(select(func.max(CustomField.position)).where(
                    CustomField.tenant_id == ctx.tenant_id, CustomField.entity == entity))
                values["position"] = 0 if last is None else last + 1
        if "key" in values:
            stmt = select(CustomField.deleted_at).where(
                CustomField.tenant_id == ctx.tenant_id, CustomField.entity == entity,
                CustomField.key == values["key"])
            if row is not None:
                stmt = stmt.where(CustomField.id != row.id)
            clash = (await session.execute(stmt.limit(1))).first()
            if clash is not None:
                raise Conflict("a removed field has this key: restore it, or use another"
                               if clash.deleted_at is not None
                               else "another field has this key", field="key")
        if row is not None and "is_unique" in values:
            # The flag is copied onto the field's values, where the partial unique indexes
            # read it: values two records share make the change a CONFLICT.
            try:
                async with session.begin_nested():
                    await session.execute(update(VALUES).where(
                        VALUES.c.tenant_id == ctx.tenant_id,
                        VALUES.c.field_id == row.id).values(is_unique=values["is_unique"]))
            except IntegrityError:
                raise Conflict("records already share values of this field: make them "
                               "differ first", field="unique") from None

    async def definitions(self, session: AsyncSession, ctx: CallContext, entity: str, *,
                          include_removed: bool = False) -> list[CustomField]:
        """An entity's fields in their order (removed ones after the live, for those who may
        restore them): what forms, detail pages and the admin page show."""
        ctx.require(CUSTOM_FIELD.read)
        if entity not in entities_with_fields():
            raise BadRequest(f"{entity} records have no custom fields", field="entity")
        if include_removed:
            ctx.require(CUSTOM_FIELD.delete)  # type: ignore[arg-type]
        stmt = select(CustomField).where(CustomField.tenant_id == ctx.tenant_id,
                                         CustomField.entity == entity)
        if not include_removed:
            stmt = stmt.where(CustomField.deleted_at.is_(None))
        stmt = stmt.order_by(CustomField.deleted_at.is_not(None), CustomField.position,
                             CustomField.id)
        return list((await session.scalars(stmt)).all())

    async def reorder(self, session: AsyncSession, ctx: CallContext, entity: str,
                      ids: Sequence[uuid.UUID]) -> list[CustomField]:
        """Puts the entity's live fields in the order of `ids` (each of them, once): one
        audited update per field whose position changes."""
        ctx.require(CUSTOM_FIELD.write)
        live = await self.definitions(session, ctx, entity)
        if sorted(ids) != sorted(f.id for f in live) or len(set(ids)) != len(ids):
            raise ValidationFailed.single("ids", "must list each live field of this entity "
                                          "once", "mismatch")
        by_id = {f.id: f for f in live}
        for position, id in enumerate(ids):
            field = await self.live(session, ctx, id)
            if by_id[id].position != position:
                before = self.snapshot(field)
                field.position = position
                await self.flush(session)
                await self.record(session, ctx, field, "updated", before, self.snapshot(field))
        return await self.definitions(session, ctx, entity)


custom_fields = CustomFieldService()

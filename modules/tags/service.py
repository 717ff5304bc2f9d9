"""Tag rules: a tenant's tag names are unique whatever their case; tags go on contacts and
companies the caller may edit.

Lists, lookups, soft delete and restore, audit rows and events are the kit's, from the
declarations in `entities.py`; so are tagging and untagging (`modules.kit.links`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from infra.errors import Conflict
from modules.kit import EntityService, LinkService
from modules.tags.entities import COMPANY_TAGS, CONTACT_TAGS, TAG
from modules.tags.models import Tag
from modules.tags.schemas import validate_tag
from tenancy.context import CallContext


class TagService(EntityService[Tag]):
    entity = TAG

    def validate(self, ctx: CallContext, data: dict[str, Any], *, row: Tag | None
                 ) -> dict[str, Any]:
        return validate_tag(data, current=row)

    async def check(self, session: AsyncSession, ctx: CallContext, values: dict[str, Any], *,
                    row: Tag | None) -> None:
        """A name another tag has (any case, deleted or not) is taken. The unique index
        `tags_name_key` decides between concurrent writes; this says what clashes."""
        if "name" not in values:
            return
        stmt = select(Tag.deleted_at).where(
            Tag.tenant_id == ctx.tenant_id, func.lower(Tag.name) == func.lower(values["name"]))
        if row is not None:
            stmt = stmt.where(Tag.id != row.id)
        clash = (await session.execute(stmt.limit(1))).first()
        if clash is None:
            return
        if clash.deleted_at is not None:
            raise Conflict("a deleted tag has this name: restore it, or rename it first",
                           field="name")
        raise Conflict("another tag has this name (names ignore case)", field="name")


tags = TagService()
contact_tags = LinkService(CONTACT_TAGS)
company_tags = LinkService(COMPANY_TAGS)

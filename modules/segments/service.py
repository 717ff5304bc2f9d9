"""Segment and saved-view rules: what a saved filter may hold, who may share and change one,
and the members of a segment (listed, counted, exported through the customer lists' own
record rule, so a member's data scope applies to every one of them).

A saved filter is stored as the list's filter input in the API's form and read again each time
it is used, by the same input type and checks the list applies (`read_filter`: registered by
the GraphQL layer, which owns that type). So a segment stays current: it is a query, never a
stored list of ids, and a new contact that matches is a member at once.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from infra.errors import FieldError, Forbidden, ValidationFailed
from infra.validation import Validator
from modules.kit import EntityService
from modules.kit.entity import Entity
from modules.pii.contacts import refuse_sensitive_conditions
from modules.segments.entities import SEGMENT
from modules.segments.models import Segment
from tenancy.context import CallContext
from tenancy.permissions import Permission

KINDS = ("segment", "view")
ENTITIES = ("contact", "company")
MAX_NAME, MAX_DESCRIPTION = 100, 500
MAX_FILTER_BYTES = 8000  # a saved filter as JSON; the list's own limits apply within it
MAX_COLUMNS = 40
_COLUMN = re.compile(r"[A-Za-z][A-Za-z0-9_.:]{0,59}")
# A view's sort: one of the list's sort enum names, or a custom field (`customField:<key>`,
# `:desc` for descending), as the list's `sort` / `sortBy` take them.
_SORT = re.compile(r"[A-Z][A-Z_]{0,39}|customField:[a-z][a-z0-9_]{0,39}(:desc)?")

FilterReader = Callable[[Entity, dict[str, Any]], dict[str, Any]]
_readers: list[FilterReader] = []


def use_filter_reader(reader: FilterReader) -> None:
    """The GraphQL layer's reading of a list's filter input (its own input type, coerced and
    decoded as a request's would be), registered when that layer is imported."""
    _readers[:] = [reader]


def read_filter(entity: Entity, stored: dict[str, Any]) -> dict[str, Any]:
    """A saved filter as the kit's lists take it; VALIDATION (on `filter.…`) if it is not a
    valid filter of this list (any more)."""
    if not _readers:
        raise RuntimeError("no filter reader: import graphql_api.segments")
    return _readers[0](entity, stored)


def customer_service(entity: str) -> EntityService[Any]:
    from modules.customers.service import companies, contacts

    return contacts if entity == "contact" else companies


def _hostile(value: Any, depth: int = 0) -> bool:
    """Strings text cannot hold (NUL), or nesting no filter has."""
    if depth > 6:
        return True
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_hostile(k, depth) or _hostile(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_hostile(v, depth + 1) for v in value)
    return False


def _clean_filter(v: Validator, entity: str, value: Any) -> dict[str, Any] | None:
    """The filter to store: an object of the list's filter input, nulls left out; checked
    against that input by `read_filter`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        v.fail("filter", "must be an object: the list's filter input")
        return None
    if len(orjson.dumps(value)) > MAX_FILTER_BYTES:
        v.fail("filter", f"must be at most {MAX_FILTER_BYTES} bytes as JSON", "too_long")
        return None
    if _hostile(value):
        v.fail("filter", "holds a NUL character or nesting no filter has")
        return None
    out = {k: x for k, x in value.items() if x is not None and x != []}
    if "segment" in out:
        v.fail("filter.segment", "a saved filter cannot name a segment", "not_applicable")
        return None
    if entity not in ENTITIES:
        return out
    from modules.customers.entities import COMPANY, CONTACT

    try:
        read_filter(CONTACT if entity == "contact" else COMPANY, out)
    except ValidationFailed as exc:
        v.errors.extend(exc.errors)
        return None
    return out


class SegmentService(EntityService[Segment]):
    entity = SEGMENT

    def defaults(self, ctx: CallContext) -> dict[str, Any]:
        # An API key acts for no member, so what it saves cannot be private to anyone.
        return {"user_id": ctx.actor.user_id, "shared": ctx.actor.user_id is None}

    def validate(self, ctx: CallContext, data: dict[str, Any], *, row: Segment | None
                 ) -> dict[str, Any]:
        v = Validator()
        out: dict[str, Any] = {}
        for key, allowed in (("kind", KINDS), ("entity", ENTITIES)):
            if row is None:
                if data.get(key) not in allowed:
                    v.fail(key, f"is one of {', '.join(a.upper() for a in allowed)}",
                           "required")
                out[key] = data.get(key)
            elif key in data and data[key] != getattr(row, key):
                v.fail(key, "cannot change: save a new one", "immutable")
        kind = row.kind if row is not None else out.get("kind")
        entity = row.entity if row is not None else out.get("entity")
        if "name" in data or row is None:
            name = v.text("name", data.get("name"), max_len=MAX_NAME, required=True)
            if name is not None and ("\n" in name or "\t" in name):
                v.fail("name", "must be a single line")
            out["name"] = name
        if "description" in data:
            out["description"] = v.text("description", data["description"],
                                        max_len=MAX_DESCRIPTION)
        if "filter" in data or row is None:
            out["filter"] = _clean_filter(v, entity or "", data.get("filter"))
        if "shared" in data:
            if not isinstance(data["shared"], bool):
                v.fail("shared", "must be true or false")
            out["shared"] = bool(data["shared"])
        for key in ("sort", "columns", "is_default"):
            if key in data and data[key] not in (None, False) and kind != "view":
                v.fail(_api(key), "only a saved view has one", "not_applicable")
        if kind == "view":
            self._view_fields(v, data, out)
        if v.errors:
            raise ValidationFailed(v.errors)
        return out

    @staticmethod
    def _view_fields(v: Validator, data: dict[str, Any], out: dict[str, Any]) -> None:
        if "sort" in data:
            sort = data["sort"]
            if sort is not None and (not isinstance(sort, str) or not _SORT.fullmatch(sort)):
                v.fail("sort", "is a sort of the list (NAME_ASC) or customField:<key>[:desc]")
            out["sort"] = sort
        if "columns" in data:
            columns = data["columns"]
            if columns is not None and (
                    not isinstance(columns, list) or len(columns) > MAX_COLUMNS
                    or not all(isinstance(c, str) and _COLUMN.fullmatch(c) for c in columns)):
                v.fail("columns", f"is a list of at most {MAX_COLUMNS} column names")
            out["columns"] = list(dict.fromkeys(columns)) if isinstance(columns, list) else None
        if "is_default" in data:
            out["is_default"] = bool(data["is_default"])

    async def check(self, session: AsyncSession, ctx: CallContext, values: dict[str, Any], *,
                    row: Segment | None) -> None:
        if values.get("shared") and not ctx.can(Permission.SEGMENTS_MANAGE):
            raise Forbidden("sharing with the whole tenant is for managers (segments:manage)",
                            field="shared")
        entity = row.entity if row is not None else values["entity"]
        if "filter" in values:
            # A dry run through the list itself: the tenant's custom fields as they are now,
            # each condition's own limits, the SQL it compiles to.
            service = customer_service(entity)
            filters = read_filter(service.entity, values["filter"])
            await refuse_sensitive_conditions(session, ctx, entity, filters)
            await service.count(session, ctx, filters=filters)
        if values.get("is_default"):
            owner = row.user_id if row is not None else values.get("user_id")
            if owner is None or owner != ctx.actor.user_id:
                raise Forbidden("only your own view can be your default", field="isDefault")
            await self._clear_default(session, ctx, entity, keep=row.id if row else None)

    async def _clear_default(self, session: AsyncSession, ctx: CallContext, entity: str, *,
                             keep: uuid.UUID | None) -> None:
        """The member's previous default view of this list stops being it (audited)."""
        rows = (await session.scalars(
            self._visible_own(ctx).where(Segment.entity == entity, Segment.is_default,
                                         Segment.id != (keep or uuid.UUID(int=0)))
            .with_for_update())).all()
        for previous in rows:
            before = self.snapshot(previous)
            previous.is_default = False
            await session.flush()
            await self.record(session, ctx, previous, "updated", before,
                              self.snapshot(previous))

    def _visible_own(self, ctx: CallContext) -> Any:
        from sqlalchemy import select

        return select(Segment).where(Segment.tenant_id == ctx.tenant_id,
                                     Segment.user_id == ctx.actor.user_id,
                                     Segment.deleted_at.is_(None))

    def require_writable(self, ctx: CallContext, row: Any) -> None:
        """One's own may be changed; another's (shared: the private ones are not visible at
        all) only by a manager."""
        if row.user_id is not None and row.user_id == ctx.actor.user_id:
            return
        if not ctx.can(Permission.SEGMENTS_MANAGE):
            raise Forbidden(f"this {row.kind} is shared with you: only its author or a manager "
                            "may change it", field="id")

    # -- members ---------------------------------------------------------------------------
    async def member_filters(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID,
                             entity: Entity, *, field: str = "filter.segment"
                             ) -> dict[str, Any]:
        """The filters of segment `id` for a list of `entity`: NOT_FOUND if the caller may not
        see it, VALIDATION if it is another list's or its saved filter no longer reads."""
        segment = await self.get(session, ctx, id)
        if segment.entity != entity.name:
            raise ValidationFailed.single(field, f"is a segment of {segment.entity} records, "
                                          f"not {entity.name} records", "not_applicable")
        try:
            filters = read_filter(entity, segment.filter)
            await customer_service(entity.name).check_filters(session, ctx, filters)
            return filters
        except ValidationFailed as exc:
            detail = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
            raise ValidationFailed([FieldError(field, "its saved filter no longer applies ("
                                               f"{detail}): edit the segment",
                                               "invalid_segment")]) from None

    async def member_count(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID
                           ) -> int:
        """How many customers of the segment the caller sees (their data scope applies)."""
        segment = await self.get(session, ctx, id)
        service = customer_service(segment.entity)
        filters = await self.member_filters(session, ctx, id, service.entity)
        return await service.count(session, ctx, filters=filters)


def _api(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.capitalize() for p in rest)


segments = SegmentService()

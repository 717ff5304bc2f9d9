"""A segment's members as CSV: what the caller sees of them (their data scope applies: the
list's own record rule), in pages through the list, at most `EXPORT_LIMIT` rows (a larger
segment is refused with a clear error before anything is read: narrow it). Audited: who
exported which segment, and how many rows.

UTF-8 with a byte-order mark, so Excel opens Chinese text as such; cells that a spreadsheet
would run as a formula (starting with = + - @, tab or CR) are quoted with a leading `'`.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from infra.errors import ValidationFailed
from infra.global_ids import to_global_id
from modules.classification import service as classification
from modules.kit import custom_values
from modules.segments.service import customer_service, segments
from tenancy.context import CallContext
from tenancy.permissions import Permission

EXPORT_LIMIT = 5000
PAGE = 500
BOM = "\ufeff"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")

_COLUMNS = {
    "contact": ("id", "name", "email", "phone", "title", "birthday", "createdAt"),
    "company": ("id", "name", "email", "phone", "industry", "domain", "createdAt"),
}
_CLASSIFICATION = ("level", "recencyScore", "frequencyScore", "monetaryScore",
                   "lastPurchaseAt", "orderCount", "monetary")


@dataclass(frozen=True)
class Export:
    filename: str
    csv: str
    rows: int


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


async def export_members(session: AsyncSession, ctx: CallContext, id: uuid.UUID) -> Export:
    ctx.require(Permission.CUSTOMERS_EXPORT)
    segment = await segments.get(session, ctx, id)
    service = customer_service(segment.entity)
    filters = await segments.member_filters(session, ctx, id, service.entity, field="id")
    total = await service.count(session, ctx, filters=filters)
    if total > EXPORT_LIMIT:
        raise ValidationFailed.single(
            "id", f"this segment has {total} customers you can see; an export holds at most "
            f"{EXPORT_LIMIT}: narrow its filter", "too_many")
    defs = await custom_values.definitions(session, ctx, segment.entity)
    base = _COLUMNS[segment.entity]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*base, *_CLASSIFICATION, *(d.label for d in defs)])
    rows, after = 0, None
    while True:
        page = await service.list_page(session, ctx, filters=filters, sort="CREATED_AT_ASC",
                                       first=PAGE, after=after)
        ids = [r.id for r in page.items]
        values = await custom_values.read(session, ctx, segment.entity, ids)
        scores = await classification.read(session, ctx, segment.entity, ids)
        for record, held, score in zip(page.items, values, scores, strict=True):
            by_field = {v.field.id: v.api() for v in held}
            cells: list[Any] = [to_global_id(service.entity.type_name, record.id)]
            cells += [getattr(record, _snake(c)) for c in base[1:]]
            cells += [getattr(score, _snake(c)) if score is not None else None
                      for c in _CLASSIFICATION]
            cells += [", ".join(x) if isinstance(x := by_field.get(d.id), list) else x
                      for d in defs]
            writer.writerow([_cell(c) for c in cells])
            rows += 1
        if not page.has_next_page or rows >= EXPORT_LIMIT:
            break
        after = page.end_cursor
    await segments.record(session, ctx, segment, "exported", None,
                          {"id": segment.id, "name": segment.name, "exported_rows": rows})
    stamp = datetime.now().astimezone().strftime("%Y%m%d-%H%M")
    return Export(f"segment-{stamp}.csv", BOM + out.getvalue(), rows)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)

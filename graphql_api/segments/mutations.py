"""Segment mutations: the kit's create, update, delete and restore, and the export."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphql_api.kit import crud_mutations
from graphql_api.permissions import needs
from graphql_api.relay import decode_id
from graphql_api.segments.types import SegmentExport, SegmentInput, SegmentType
from modules.segments import export, service
from tenancy.permissions import Permission

SegmentCrudMutations = crud_mutations(service.segments, SegmentType, SegmentInput)


@strawberry.type
class SegmentMutations(SegmentCrudMutations):  # type: ignore[misc,valid-type]
    @strawberry.mutation(extensions=needs(Permission.SEGMENTS_READ, Permission.CUSTOMERS_EXPORT),
                         description=(
        "The segment's members the caller may see, as CSV (UTF-8 with a BOM, for Excel), at "
        f"most {export.EXPORT_LIMIT} rows: a larger segment is refused (VALIDATION, "
        "too_many). Audited."))
    async def export_segment(self, info: Info, id: strawberry.ID) -> SegmentExport:
        found = await info.context.write(export.export_members, decode_id(id, "Segment"))
        return SegmentExport(filename=found.filename, rows=found.rows, csv=found.csv)

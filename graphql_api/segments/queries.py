"""Segment queries, from the kit: the list (the caller's own and the shared ones) and lookup.
A segment's members are the customer lists' `filter: {segment: <id>}`."""

from __future__ import annotations

import strawberry

from graphql_api.kit import get_field, list_field
from graphql_api.segments.types import SegmentFilter, SegmentSort, SegmentType
from modules.segments import service


@strawberry.type
class SegmentQueries:
    segments = list_field(service.segments, SegmentType, filter=SegmentFilter, sort=SegmentSort,
                          description="Segments and saved views: the caller's own and those "
                                      "shared with the tenant, by name unless sorted.")
    segment = get_field(service.segments, SegmentType)

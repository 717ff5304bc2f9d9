"""Tag queries, from the kit: the list (keyset pages, filter, sorts, totalCount) and lookup."""

from __future__ import annotations

import strawberry

from graphql_api.kit import get_field, list_field
from graphql_api.tags.types import TagFilter, TagSort, TagType
from modules.tags import service


@strawberry.type
class TagQueries:
    tags = list_field(service.tags, TagType, filter=TagFilter, sort=TagSort,
                      description="The tenant's tags, by name unless sorted.")
    tag = get_field(service.tags, TagType)

"""GraphQL types of the tags domain; every field is declared, none auto-mapped."""

from __future__ import annotations

from datetime import datetime

import strawberry

from graphql_api.kit import node, sort_enum
from graphql_api.relay import Node
from modules.tags.entities import TAG

TagSort = sort_enum(TAG, "TagSort", description="Orderings of tag lists; by name unless told.")


@node(TAG, description="A label the tenant puts on contacts and companies.")
class TagType(Node):
    name: str = strawberry.field(description="Unique in the tenant, whatever its case.")
    color: str = strawberry.field(description="A colour as #rrggbb (lower-case).")
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


@strawberry.input(description="A tag's fields; on update, only those sent change.")
class TagInput:
    name: str | None = strawberry.UNSET
    color: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="#rrggbb; omitted or null: the default grey (#9e9e9e).")


@strawberry.input(description="Narrows a tag list; all given conditions must hold.")
class TagFilter:
    search: str | None = strawberry.field(default=None, description="Part of the name.")
    include_deleted: bool = False
    deleted_only: bool = False

"""GraphQL types of segments and saved views; every field declared, none auto-mapped."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graphql_api.kit import node, reference, sort_enum
from graphql_api.relay import Node
from graphql_api.tenancy.types import UserType
from modules.segments import service
from modules.segments.entities import SEGMENT
from tenancy import directory


@strawberry.enum(description="A segment (a set of customers: counted, listed, exported) or a "
                             "saved view of a list (its filter, sort and columns).")
class SegmentKind(Enum):
    SEGMENT = "segment"
    VIEW = "view"


@strawberry.enum(description="Which customer list.")
class CustomerKind(Enum):
    CONTACT = "contact"
    COMPANY = "company"


SegmentSort = sort_enum(SEGMENT, "SegmentSort", description="Orderings of segment lists.")

_FILTER = ("The customer list's filter input (CustomerFilter) as JSON, as the list takes it: "
           "`{\"search\": \"张\", \"levels\": [\"A\"], \"customFields\": [{\"key\": "
           "\"industry\", \"equals\": \"retail\"}]}`.")


@node(SEGMENT, description="A saved filter over contacts or companies, that stays current: "
                           "its members are whoever matches now.")
class SegmentType(Node):
    name: str
    description: str | None
    filter: JSON = strawberry.field(description=_FILTER)
    sort: str | None = strawberry.field(description="A view's sort: a CustomerSort name or "
                                                    "customField:<key>[:desc].")
    columns: list[str] | None = strawberry.field(description="A view's columns, in order.")
    shared: bool = strawberry.field(description="Seen by the whole tenant; else only its "
                                                "author's.")
    is_default: bool = strawberry.field(description="Its author's default view of the list.")
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    author = reference(UserType, "user_id", join=directory.owner_user_sql,
                       description="Who saved it (null: an API key).")

    @strawberry.field
    def kind(self) -> SegmentKind:
        return SegmentKind(self.kind)

    @strawberry.field
    def entity(self) -> CustomerKind:
        return CustomerKind(self.entity)

    @strawberry.field(description=(
        "How many customers match now that the caller may see (their data scope applies). "
        "A count per segment: ask for it on small pages."))
    async def member_count(self, info: Info) -> int:
        return await info.context.read(service.segments.member_count, self.id)  # type: ignore[attr-defined]


@strawberry.input(description="A segment's or view's fields; on update, only those sent "
                              "change.")
class SegmentInput:
    kind: SegmentKind | None = strawberry.UNSET
    entity: CustomerKind | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    filter: JSON | None = strawberry.field(default=strawberry.UNSET, description=_FILTER)
    sort: str | None = strawberry.UNSET
    columns: list[str] | None = strawberry.UNSET
    shared: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Share with the tenant (segments:manage).")
    is_default: bool | None = strawberry.UNSET


@strawberry.input(description="Narrows a segment list; all given conditions must hold.")
class SegmentFilter:
    kind: SegmentKind | None = None
    entity: CustomerKind | None = None
    search: str | None = strawberry.field(default=None, description="Part of the name.")
    shared: bool | None = None
    include_deleted: bool = False
    deleted_only: bool = False


@strawberry.type(description="A CSV file of a segment's members (UTF-8 with a BOM).")
class SegmentExport:
    filename: str
    rows: int
    csv: str

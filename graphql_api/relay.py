"""Relay conventions: opaque global IDs, the Node interface, and cursor connections."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from infra.errors import FieldError, ValidationFailed
from infra.global_ids import from_global_id, to_global_id
from infra.pagination import Page

T = TypeVar("T")
__all__ = ["Connection", "Edge", "Node", "PageInfo", "decode_id", "from_global_id", "to_global_id"]


def decode_id(global_id: str, expected: str, field: str = "id") -> uuid.UUID:
    try:
        type_name, value = from_global_id(global_id)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed([FieldError(field, "is not a valid ID", "invalid_id")]) from None
    if type_name != expected:
        raise ValidationFailed([FieldError(field, f"is not a {expected} ID", "invalid_id")])
    return value


@strawberry.interface(description="An object with a global ID, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type(description="A page of a list; `after` takes the previous page's `endCursor`.")
class Connection(Generic[T]):
    page: strawberry.Private[Page[Any]]
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="The items of this page (shortcut for edges.node).")
    def nodes(self) -> list[T]:
        return self.page.items

    @strawberry.field
    def edges(self) -> list[Edge[T]]:
        return [Edge(node=item, cursor=self.page.cursor(item)) for item in self.page.items]

    @strawberry.field
    def page_info(self) -> PageInfo:
        page = self.page
        return PageInfo(has_next_page=page.has_next_page,
                        has_previous_page=page.has_previous_page,
                        start_cursor=page.start_cursor, end_cursor=page.end_cursor)

    @strawberry.field(description="Items matching the filter across all pages (one more query).")
    async def total_count(self) -> int:
        return await self.counter()

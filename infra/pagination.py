"""Keyset (cursor) pagination shared by every list in the product.

A sort is a list of columns all ordered in one direction, ending with the primary key, so
`(a, b, id) < (:a, :b, :id)` seeks straight into the matching `(tenant_id, a, b, id)` index: a page
deep in the list costs what the first page costs, unlike OFFSET.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple, TypeVar

import orjson
from sqlalchemy import Select, Text, cast, func, literal_column, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from infra.errors import BadRequest

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class SortKey:
    """Columns (ending with the primary key) and the direction they share."""

    name: str
    columns: tuple[Any, ...]  # column expressions
    kinds: tuple[type, ...]  # how cursor values decode: datetime, str, uuid.UUID
    descending: bool

    def order_by(self) -> list[ColumnElement[Any]]:
        return [c.desc() if self.descending else c.asc() for c in self.columns]

    def selected(self) -> list[Any]:
        """The key's columns to select with a page's rows, labelled `k0`, `k1`, …: a cursor is
        built from the values the database sorted by, never recomputed in Python (whose
        `str.lower()` is not PostgreSQL's `lower()`: a cursor past "İa" would skip rows)."""
        return [c.label(f"k{i}") for i, c in enumerate(self.columns)]


class RenderSpec(NamedTuple):
    """Nodes of a list rendered to JSON by the database (see graphql_api.rendering): the
    select expression, over the list's table and the joins' aliases, and those joins.
    Both come from code, never from input; they may use the list's caller parameters."""

    json: str
    joins: str


@dataclass
class Page(Generic[T]):
    items: list[T]
    has_next_page: bool
    has_previous_page: bool
    key_of: Callable[[T], tuple[Any, ...]]
    # Items are rows whose `json` holds each node already rendered (see graphql_api.rendering).
    rendered: bool = False

    def cursor(self, item: T) -> str:
        """Computed on demand: most clients read only the end cursor, if any."""
        return encode_cursor(self.key_of(item))

    def map(self, fn: Callable[[T], U], key_of: Callable[[U], tuple[Any, ...]]) -> Page[U]:
        """The same page with its items converted (for the API's own types)."""
        return Page([fn(item) for item in self.items], self.has_next_page,
                    self.has_previous_page, key_of)

    @property
    def end_cursor(self) -> str | None:
        return self.cursor(self.items[-1]) if self.items else None

    @property
    def start_cursor(self) -> str | None:
        return self.cursor(self.items[0]) if self.items else None


def encode_cursor(values: tuple[Any, ...]) -> str:
    # Timestamps in one form: the same text whichever path read the row.
    raw = orjson.dumps([utc_timestamp(v) if isinstance(v, datetime) else str(v)
                        for v in values])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: SortKey) -> tuple[Any, ...]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
        if not isinstance(values, list) or len(values) != len(sort.kinds):
            raise ValueError
        return parse_key(values, sort)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise BadRequest("the cursor is not valid for this list and sort", field="after") from None


def parse_key(values: Sequence[Any], sort: SortKey) -> tuple[Any, ...]:
    """Sort-key values from their text forms (a cursor's, or `key_text_sql`'s)."""
    return tuple(
        datetime.fromisoformat(v) if kind is datetime else uuid.UUID(v) if kind is uuid.UUID
        else str(v)
        for v, kind in zip(values, sort.kinds, strict=True)
    )


# Timestamps as text, always in UTC with microseconds, one form in Python and in SQL: the API's
# DateTime (graphql_api.rendering), cursors, and sort keys read back from the database.
UTC_TIMESTAMP_FORMAT_SQL = """'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'"""


def utc_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def key_text_sql(column: Any, kind: type) -> Any:
    """A sort-key column as text `parse_key` reads back: rendered pages fetch their keys so,
    and convert only the ones a cursor is asked for (usually the last row's)."""
    if kind is datetime:
        return func.to_char(func.timezone(literal_column("'UTC'"), column),
                            literal_column(UTC_TIMESTAMP_FORMAT_SQL))
    return cast(column, Text)


def page_size(first: int | None, *, default: int, maximum: int) -> int:
    if first is None:
        return default
    if first < 0 or first > maximum:
        raise BadRequest(f"first must be between 0 and {maximum}", field="first",
                         maximum=maximum)
    return first


def apply_keyset(stmt: Select[Any], sort: SortKey, after: str | None, limit: int) -> Select[Any]:
    """Order, seek past `after`, and fetch one row more than the page to learn if more follow."""
    if after:
        values = decode_cursor(after, sort)
        key = tuple_(*sort.columns)
        stmt = stmt.where(key < tuple_(*values) if sort.descending else key > tuple_(*values))
    return stmt.order_by(*sort.order_by()).limit(limit + 1)


def counted(stmt: Select[Any]) -> Select[Any]:
    """`count(*)` of the rows `stmt` (a list's filtered statement, before `apply_keyset`)
    selects: a list's `totalCount`, under the same tenant, record rules and filters."""
    return select(func.count()).select_from(stmt.order_by(None).subquery())


def build_page(
    rows: list[T], key_of: Callable[[T], tuple[Any, ...]], limit: int, after: str | None
) -> Page[T]:
    return Page(rows[:limit], len(rows) > limit, after is not None, key_of)

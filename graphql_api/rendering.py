"""Nodes rendered to JSON by PostgreSQL, for lists whose selected fields are plain columns.

A compiled plan for `contacts(first: 50) { nodes { id name email createdAt } }` would otherwise
decode every column of 51 rows in Python and complete each field of each row; PostGraphile's
answer is to have the database build the JSON. Here a node type declares how its fields read as
SQL (`renders`); when every field a list selects on its nodes has such a form, the plan asks the
list's service for rows carrying `json_build_object(...)` text, and splices that text into the
response as is (`orjson.Fragment`). The rows still come from the same visibility-filtered,
tenant-scoped statement, so nothing about who sees what changes; only the select list does.

A field has a SQL form when it is declared (`id`: the global ID) or when it is a plain column
attribute (no resolver, no permission) of a scalar type whose JSON form PostgreSQL writes exactly
as our serialisers do: String, ID, Boolean, Int, Date, and DateTime (always UTC with
microseconds, on both paths: `pagination.utc_timestamp`). A non-null field over a nullable column
has none (the normal path would report the null). Anything else keeps the list on the usual path.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import FieldNode, GraphQLNonNull, GraphQLObjectType, GraphQLScalarType
from strawberry.permission import PermissionExtension
from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

from infra.pagination import UTC_TIMESTAMP_FORMAT_SQL, RenderSpec, utc_timestamp

C = TypeVar("C", bound=type)

# (model, JSON select expression) the list being resolved should render its nodes with, if any.
# Set by a compiled plan around one resolver call; read by that resolver (see `requested`).
REQUESTED: ContextVar[tuple[Any, RenderSpec] | None] = ContextVar("rendering_requested",
                                                                  default=None)


def requested(model: Any) -> RenderSpec | None:
    """The rendering requested for a list of `model` rows, if any."""
    wanted = REQUESTED.get()
    return wanted[1] if wanted is not None and wanted[0] is model else None

MAX_FIELDS = 50  # json_build_object takes at most 100 arguments
MAX_DEPTH = 3  # references within references


DATETIME_UTC: ScalarDefinition = dataclasses.replace(
    DateTimeDefinition, serialize=utc_timestamp,
    description="Date with time, ISO 8601, in UTC with microseconds "
                "(2026-11-23T07:39:23.123456+00:00)")

# The same text in SQL (pagination.UTC_TIMESTAMP_FORMAT_SQL); `{c}` is the column.
SQL_DATETIME = f"to_char({{c}} at time zone 'UTC', {UTC_TIMESTAMP_FORMAT_SQL})"
SQL_BY_SCALAR = {"String": "{c}", "ID": "{c}", "Boolean": "{c}", "Int": "{c}", "Date": "{c}",
                 "DateTime": SQL_DATETIME}


def global_id_sql(type_name: str) -> Callable[[str], str]:
    """`relay.to_global_id` in SQL: URL-safe base64 of "<Type>:<uuid hex>", unpadded; a
    function of the row's table alias.

    PostgreSQL's base64 is the standard alphabet with a line break every 76 characters; making
    it URL-safe (`translate`) was a third of the cost of rendering a 50-row page's IDs. For most
    type names it provably changes nothing (see `_base64_is_url_safe`), and is left out."""
    if not type_name.isidentifier():
        raise ValueError(type_name)
    encoded = (f"encode(convert_to('{type_name}:' || replace({{alias}}.\"id\"::text, '-', ''), "
               "'UTF8'), 'base64')")
    if not _base64_is_url_safe(f"{type_name}:".encode(), 32):
        encoded = f"translate({encoded}, E'+/\\n', '-_')"
    template = f"rtrim({encoded}, '=')"
    return lambda alias: template.format(alias=alias)


_HEX = b"0123456789abcdef"


def _base64_is_url_safe(prefix: bytes, hex_digits: int) -> bool:
    """Whether standard base64 of `prefix` followed by any `hex_digits` lower-case hex digits is
    already URL-safe base64: one line (at most 76 characters), no `+` and no `/`. Each 3-byte
    group encodes on its own, so every combination of the bytes a group can hold is tried."""
    length = len(prefix) + hex_digits
    # PostgreSQL breaks the line once a line reaches 76 characters, even after the last one:
    # 57 bytes (76 characters) already end in a line break.
    if 4 * -(-length // 3) >= 76:
        return False
    choices = [bytes([b]) for b in prefix] + [_HEX] * hex_digits
    for start in range(0, length, 3):
        for combination in itertools.product(*choices[start:start + 3]):
            if set(base64.b64encode(bytes(combination))) & {ord("+"), ord("/")}:
                return False
    return True


@dataclass(frozen=True)
class Related:
    """A reference to one row of another table, rendered through a LEFT JOIN: the row of
    `model` that `rule(<its alias>, <parent alias>.<foreign_key>)` admits, or null. `rule` is
    the owning module's visibility rule, the same one its data loader applies; it must admit
    at most one row (it matches a key)."""

    model: Any
    foreign_key: str
    rule: Callable[[str, str], str]


def renders(model: Any, **declared: Callable[[str], str] | Related) -> Any:
    """Class decorator for a node type: it is rendered from rows of `model`; `declared` maps
    Python field names to SQL expressions (functions of the row's table alias) or `Related`
    references, for fields that are not plain columns."""

    def mark(cls: C) -> C:
        cls.__sql_rendering__ = (model, declared)  # type: ignore[attr-defined]
        return cls

    return mark


def json_select(gql_type: GraphQLObjectType, selection_set: Any
                ) -> tuple[Any, RenderSpec] | None:
    """The model, and the JSON select expression with the joins it needs, for this selection
    of a list of `gql_type`; None when some field cannot be rendered."""
    rendering = _rendering_of(gql_type)
    if rendering is None:
        return None
    joins: list[str] = []
    found = _json_object(gql_type, selection_set, f'"{rendering[0].__table__.name}"', 0, joins)
    return None if found is None else (found[0], RenderSpec(found[1],
                                                            " ".join(joins)))


def _rendering_of(gql_type: Any) -> tuple[Any, dict[str, Any]] | None:
    if isinstance(gql_type, GraphQLNonNull):
        return None  # a missing reference could not be null: the normal path reports it
    sf_type = getattr(gql_type, "extensions", {}).get("strawberry-definition")
    return getattr(getattr(sf_type, "origin", None), "__sql_rendering__", None)


def _json_object(gql_type: GraphQLObjectType, selection_set: Any, alias: str, depth: int,
                 joins: list[str]) -> tuple[Any, str] | None:
    rendering = _rendering_of(gql_type)
    if rendering is None or selection_set is None or depth > MAX_DEPTH:
        return None
    model, declared = rendering
    columns = model.__table__.columns
    pairs: list[str] = []
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives or selection.arguments:
            return None
        key = selection.alias.value if selection.alias else selection.name.value
        name = selection.name.value
        if name == "__typename":
            pairs.append(f"'{key}', '{gql_type.name}'")
            continue
        gql_field = gql_type.fields.get(name)
        sf = gql_field.extensions.get("strawberry-definition") if gql_field else None
        if sf is None or any(not isinstance(e, PermissionExtension) or e.permissions
                             for e in sf.extensions):
            return None
        reference = declared.get(sf.python_name)
        if isinstance(reference, Related):
            expr = _related_sql(gql_field, selection, reference, alias, depth, joins)
        else:
            expr = _column_sql(gql_field, sf, columns, declared, alias)
        if expr is None:
            return None
        pairs.append(f"'{key}', {expr}")  # keys are GraphQL names: [_A-Za-z][_0-9A-Za-z]*
    if not pairs or len(pairs) > MAX_FIELDS:
        return None
    return model, f"json_build_object({', '.join(pairs)})"


def _related_sql(gql_field: Any, selection: FieldNode, reference: Related, parent: str,
                 depth: int, joins: list[str]) -> str | None:
    target = gql_field.type
    if not isinstance(target, GraphQLObjectType):
        return None  # non-null, or not an object: left to the normal path
    alias = f'"r{len(joins) + 1}"'
    # Joined before the references inside it, which join on this alias.
    joins.append(f'left join "{reference.model.__table__.name}" as {alias} on '
                 f'{reference.rule(alias, f"{parent}.{chr(34)}{reference.foreign_key}{chr(34)}")}')
    inner = _json_object(target, selection.selection_set, alias, depth + 1, joins)
    if inner is None or inner[0] is not reference.model:
        return None
    return f'case when {alias}."id" is null then null else {inner[1]} end'


def _column_sql(gql_field: Any, sf: Any, columns: Any, declared: dict[str, Any], alias: str
                ) -> str | None:
    if sf.python_name in declared:
        return declared[sf.python_name](alias)  # type: ignore[no-any-return]
    if sf.base_resolver is not None:
        return None
    column = columns.get(sf.python_name)
    gql_type, non_null = gql_field.type, False
    if isinstance(gql_type, GraphQLNonNull):
        gql_type, non_null = gql_type.of_type, True
    if column is None or not isinstance(gql_type, GraphQLScalarType):
        return None
    template = SQL_BY_SCALAR.get(gql_type.name)
    if template is None or (non_null and column.nullable):
        return None
    return template.format(c=f'{alias}."{column.name}"')

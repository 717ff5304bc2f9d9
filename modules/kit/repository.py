"""Every read of a declared entity: the one visible statement, keyset pages, counts, lookups.

The record rule (tenant, owner, soft delete) is written once, in `record_rule`, and used in
each of its forms: lists (compiled once per shape, values as parameters), lookups by id (ORM
statements with the caller's values), batches for loaders, and the joins of rendered references.
Row-level security is the wall; the explicit `tenant_id` condition keeps plans on the
`(tenant_id, …)` indexes, and the owner rule lives here so no query can forget it.

Cursors are made of the sort key as the database computed it (`lower(name)` by PostgreSQL's
rules, timestamps as stored), read back with each row: one engine for every path.
"""

from __future__ import annotations

import base64
import uuid
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
from psycopg.rows import args_row, scalar_row, tuple_row
from sqlalchemy import (
    ARRAY,
    Boolean,
    Double,
    Integer,
    Numeric,
    Select,
    Uuid,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from infra.db import fetch
from infra.pagination import (
    Page,
    RenderSpec,
    SortKey,
    build_page,
    decode_cursor,
    key_text_sql,
    parse_key,
)
from modules.kit import custom_values, registry, scopes
from modules.kit.custom_values import VALUES, Condition, FieldSort
from modules.kit.entity import Entity, Sort
from tenancy.context import CallContext

_DIALECT = postgresql_psycopg.dialect()
_JSON_MARK = "__rendered_json__"

LIVE, ALL, DELETED_ONLY = "live", "all", "deleted_only"


def record_rule(entity: Entity, col: Any, *, tenant_id: Any, read_all: Any, deleted: Any,
                owners: Any = (), shared: Any = None, user: Any = None
                ) -> ColumnElement[bool]:
    """The rows of `entity` a caller may see. `col(name)` gives a column of the row being
    tested; each other argument is a value (Python) or a bind parameter (SQL):

    tenant_id  the caller's tenant
    read_all   whether the caller reads every record (data scope `all`), or only those their
               data scope reaches (`owners`) and those shared with them (`shared`)
    owners     the owners whose records the caller's data scope reaches (modules.kit.scopes):
               their own, their subordinates', their department's...; empty for an API key or
               the system, which act for no user and own nothing
    shared     ids of records shared with the caller, or None (none: no condition at all)
    user       the caller's user id (None for an API key): for a `personal` entity, whose
               private records only their member sees
    deleted    LIVE, ALL or DELETED_ONLY; or a boolean "may see deleted" (LIVE or ALL)
    """
    clauses: list[Any] = [col("tenant_id") == tenant_id]
    if entity.owner is not None and read_all is not True:
        reach = [_any_of(col(entity.owner), owners)]
        if shared is not None:
            reach.append(_any_of(col("id"), shared))
        if read_all is not False:
            reach.insert(0, read_all)
        clauses.append(or_(*reach))
    if entity.personal is not None:
        user_column, shared_column = entity.personal
        mine = false() if user is None else col(user_column) == user  # None: not IS NULL
        clauses.append(or_(col(shared_column).is_(True), mine))
    if entity.soft_deletes:
        if deleted == LIVE or deleted is False:
            clauses.append(col("deleted_at").is_(None))
        elif deleted == DELETED_ONLY:
            clauses.append(col("deleted_at").is_not(None))
        elif deleted not in (ALL, True):
            clauses.append(or_(deleted, col("deleted_at").is_(None)))
    return and_(*clauses)


def _any_of(column: Any, values: Any) -> Any:
    """`column` is one of `values`: a Python sequence, or an array parameter (SQL)."""
    if isinstance(values, (list, tuple, set, frozenset)):
        return column.in_(list(values)) if values else false()
    return column == any_(values)


def scope_params(entity: Entity, ctx: CallContext, prefix: str | None = None
                 ) -> dict[str, Any]:
    """The parameters of `entity`'s rule that come from the caller's data scope:
    `scope_owners` and `<prefix>_shared` (prefix: the entity's name). Empty for a caller who
    reads all (they are not read then); the visibility must be loaded for the others."""
    name = prefix or entity.name
    if entity.owner is None or entity.reads_all(ctx):
        return {f"{name}_shared": []}
    found = scopes.loaded(ctx)
    return {"scope_owners": list(found.owners), f"{name}_shared": list(found.shared_with(
        entity.name))}


def needs_visibility(ctx: CallContext, entities: Sequence[Entity]) -> bool:
    return any(e.owner is not None and not e.reads_all(ctx) for e in entities)


async def prepare(session: Any, ctx: CallContext, entities: Sequence[Entity]) -> None:
    """Load the caller's visibility (once per request) if a rule of these entities reads it:
    never for a caller who reads them all, so they pay no query for it."""
    if needs_visibility(ctx, entities) and ctx.visibility is None:
        await scopes.load_visibility(session, ctx)


def visible(entity: Entity, ctx: CallContext, *, include_deleted: bool = False) -> Select[Any]:
    """An ORM statement of the rows this caller may see (for lookups and writes); the
    caller's visibility loaded first (`prepare`)."""
    model = entity.model
    read_all = entity.reads_all(ctx)
    found = None if read_all or entity.owner is None else scopes.loaded(ctx)
    return select(model).where(record_rule(
        entity, lambda name: getattr(model, name), tenant_id=ctx.tenant_id,
        read_all=read_all, owners=found.owners if found else (),
        shared=(found.shared_with(entity.name) or None) if found else None,
        deleted=ALL if include_deleted else LIVE, user=ctx.actor.user_id))


# -- references: the rule as SQL text over an alias, for loaders and rendered joins ---------

def caller_params(ctx: CallContext, entities: Sequence[Entity]) -> dict[str, Any]:
    """The parameters `join_rule` reads, for these entities (the caller's visibility loaded
    first where a rule reads it: `prepare`)."""
    params: dict[str, Any] = {"tenant_id": ctx.tenant_id, "actor_user_id": ctx.actor.user_id,
                              "scope_owners": []}
    for e in entities:
        params[f"{e.name}_read"] = ctx.can(e.read)
        params[f"{e.name}_read_all"] = e.reads_all(ctx)
        params[f"{e.name}_see_deleted"] = e.sees_deleted(ctx)
        params.update(scope_params(e, ctx))
    return params


def join_rule(entity: Entity) -> Any:
    """`rule(alias, key_sql)`: SQL text admitting the row `alias` of `entity` whose id is
    `key_sql` when the caller may see it (parameters from `caller_params`). The one rule for
    data loaders (`by_ids`) and for references the database renders (graphql_api.rendering)."""
    template = _join_template(entity)
    return lambda alias, key_sql: template.replace("__alias__", alias).replace("__key__",
                                                                                key_sql)


@lru_cache(maxsize=128)
def _join_template(entity: Entity) -> str:
    rule = and_(
        bindparam(f"{entity.name}_read", type_=Boolean),
        literal_column("__alias__.id") == literal_column("__key__"),
        record_rule(entity, lambda name: literal_column(f'__alias__."{name}"'),
                    tenant_id=bindparam("tenant_id"),
                    read_all=bindparam(f"{entity.name}_read_all", type_=Boolean),
                    owners=bindparam("scope_owners", type_=ARRAY(Uuid)),
                    shared=bindparam(f"{entity.name}_shared", type_=ARRAY(Uuid)),
                    deleted=bindparam(f"{entity.name}_see_deleted", type_=Boolean),
                    user=bindparam("actor_user_id", type_=Uuid)))
    return str(rule.compile(dialect=_DIALECT))


@lru_cache(maxsize=128)
def _by_ids_sql(entity: Entity) -> str:
    table = entity.model.__table__
    columns = ", ".join(f'"{c.name}"' for c in table.columns)
    return (f'select {columns} from "{table.name}" '
            f"where {join_rule(entity)(f'{chr(34)}{table.name}{chr(34)}', 'any(%(ids)s)')}")


@lru_cache(maxsize=128)
def row_type(entity: Entity, sort_keys: int = 0) -> Any:
    """Rows as read by lists and loaders: the model's columns (and a list's sort key)."""
    names = [*entity.columns, *(f"sort_key_{i}" for i in range(sort_keys))]
    cls = namedtuple(f"{entity.type_name}Row", names)  # type: ignore[misc]
    cls.kit_entity = entity  # type: ignore[attr-defined]  # how GraphQL types know their rows
    return cls


async def by_ids(session: AsyncSession, ctx: CallContext, entity: Entity,
                 ids: Sequence[uuid.UUID]) -> list[Any]:
    """Rows of the given ids that the caller may see, in one query, in the order of `ids`
    (None where not visible): what data loaders need."""
    await prepare(session, ctx, (entity,))
    rows = await fetch(session, _by_ids_sql(entity),
                       {**caller_params(ctx, (entity,)), "ids": list(ids)},
                       args_row(row_type(entity)))
    found = {r.id: r for r in rows}
    return [found.get(i) for i in ids]


async def get(session: AsyncSession, ctx: CallContext, entity: Entity, id: uuid.UUID, *,
              include_deleted: bool = False, for_update: bool = False) -> Any:
    """The ORM row of this id if the caller may see it, else None."""
    await prepare(session, ctx, (entity,))
    stmt = visible(entity, ctx, include_deleted=include_deleted).where(entity.model.id == id)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


# -- lists: compiled once per shape, run on the driver --------------------------------------
# A list's SQL depends only on its shape (the filters present, the sort, whether the caller
# reads all, which deleted rows show); values travel as parameters. Each shape is built and
# compiled once, and every request after it sends a prepared statement with its parameters;
# one with custom-field conditions is planned with its values each time instead (`fetch`'s
# `prepare`): one condition matches a single record, the next a third of them.

@dataclass(frozen=True)
class ListShape:
    entity: Entity
    read_all: bool
    deleted: str
    filters: frozenset[str]
    shared: bool = False  # some records are shared with the caller: the rule names them
    custom: tuple[tuple[str, str], ...] = ()  # custom-field conditions: (value column, op)


def sort_key(entity: Entity, sort: Sort) -> SortKey:
    return _sort_key(entity, sort.name)


@lru_cache(maxsize=512)
def _sort_key(entity: Entity, name: str) -> SortKey:
    sort = entity.sort_by_name[name]
    columns = sort.expressions(entity.model)
    kinds = tuple(c.type.python_type for c in columns)
    return SortKey(sort.name, columns, kinds, sort.descending)


def _filtered(shape: ListShape, columns: Sequence[Any]) -> Select[Any]:
    entity, model = shape.entity, shape.entity.model
    stmt = select(*columns).where(record_rule(
        entity, lambda name: getattr(model, name), tenant_id=bindparam("tenant_id"),
        read_all=shape.read_all, owners=bindparam("scope_owners", type_=ARRAY(Uuid)),
        shared=(bindparam(f"{entity.name}_shared", type_=ARRAY(Uuid)) if shape.shared
                else None),
        deleted=shape.deleted, user=bindparam("actor_user_id", type_=Uuid)))
    for name in sorted(shape.filters):
        stmt = stmt.where(entity.filters[name].clause(model, name))
    for i, (column, op) in enumerate(shape.custom):
        stmt = stmt.where(custom_values.condition_sql(model, i, column, op))
    return stmt


@lru_cache(maxsize=1024)
def _page_sql(shape: ListShape, sort_name: str, seek: bool, rendered: RenderSpec | None
              ) -> str:
    key = _sort_key(shape.entity, sort_name)
    table = shape.entity.model.__table__
    if rendered is None:
        columns: list[Any] = [*table.columns,
                              *(c.label(f"sort_key_{i}") for i, c in enumerate(key.columns))]
    else:
        columns = [literal_column(_JSON_MARK).label("json"),
                   *(key_text_sql(c, kind).label(f"k{i}")
                     for i, (c, kind) in enumerate(zip(key.columns, key.kinds, strict=True)))]
    stmt = _filtered(shape, columns)
    if seek:
        marks = [bindparam(f"k{i}", type_=c.type) for i, c in enumerate(key.columns)]
        cols = tuple_(*key.columns)
        stmt = stmt.where(cols < tuple_(*marks) if key.descending else cols > tuple_(*marks))
    stmt = stmt.order_by(*key.order_by()).limit(bindparam("limit", type_=Integer))
    sql = str(stmt.compile(dialect=_DIALECT))
    if rendered is None:
        return sql
    # Put in after compiling: its %(name)s parameters must reach the driver as they are.
    from_clause = f"\nFROM {table.name} \nWHERE"
    if sql.count(from_clause) != 1 or sql.count(_JSON_MARK) != 1:
        raise RuntimeError(f"unexpected statement shape: {sql}")
    return (sql.replace(_JSON_MARK, rendered.json, 1)
            .replace(from_clause, f"\nFROM {table.name} {rendered.joins} \nWHERE", 1))


@lru_cache(maxsize=512)
def _count_sql(shape: ListShape) -> str:
    stmt = select(func.count()).select_from(_filtered(shape, [true()]).subquery())
    return str(stmt.compile(dialect=_DIALECT))


def _shape(ctx: CallContext, entity: Entity, filters: dict[str, Any], deleted: str,
           custom: Sequence[Condition] = ()) -> ListShape:
    present = frozenset(k for k in entity.filters if filters.get(k) is not None)
    read_all = entity.reads_all(ctx)
    shared = (not read_all and entity.owner is not None
              and bool(scopes.loaded(ctx).shared_with(entity.name)))
    return ListShape(entity, read_all, deleted, present, shared, tuple(c.shape for c in custom))


def _params(ctx: CallContext, entity: Entity, filters: dict[str, Any],
            custom: Sequence[Condition] = ()) -> dict[str, Any]:
    params: dict[str, Any] = {"tenant_id": ctx.tenant_id, "actor_user_id": ctx.actor.user_id,
                              "scope_owners": [], **scope_params(entity, ctx)}
    for name, spec in entity.filters.items():
        value = filters.get(name)
        if value is not None:
            params.update(spec.params(name, value, ctx))
    for i, condition in enumerate(custom):
        params.update(custom_values.condition_params(i, condition))
    return params


def _ruled(entity: Entity, filters: dict[str, Any]) -> list[Entity]:
    """The entities whose record rules a list of `entity` with these filters applies: its
    own, and the targets of its link conditions (`LinkedTo`)."""
    out = [entity]
    for name, spec in entity.filters.items():
        link = getattr(spec, "link", None)
        if link is not None and filters.get(name) is not None:
            out.append(link.target)
    return out


# -- sorted by a custom field ----------------------------------------------------------------
# The records holding a value come first, read in order from the field's slice of the values
# index `(tenant_id, field_id, <value>, record_id)` and joined to the entity by primary key;
# then those holding none, by id from the entity's primary key. Two statements, each an
# ordered index scan cut by its LIMIT (tests/modules/kit/test_sort_indexes.py explains them);
# the second runs only when the first did not fill the page. The cursor says which part it is
# in: ("v", value, id) or ("n", "", id).

@lru_cache(maxsize=512)
def field_page_sql(shape: ListShape, column: str, descending: bool, valued: bool, seek: bool,
                   bound: int | None = None) -> str:
    """`bound`: the index of a range condition (min, max, between) on the sorted field itself,
    also put on the sorted values, where their index can search it: the page reads the range
    in order instead of every value from one end of the field."""
    model = shape.entity.model
    table = model.__table__
    if valued:
        v = VALUES.alias("sv")
        key = custom_values.indexed(column, v)
        on = and_(v.c.tenant_id == model.tenant_id, v.c.record_id == model.id,
                  v.c.field_id == bindparam("sort_field", type_=v.c.field_id.type),
                  v.c.position == literal_column("0"))
        stmt = _filtered(shape, [*table.columns, key.label("sort_key_0"),
                                 v.c.record_id.label("sort_key_1")]).join_from(table, v, on)
        cols = tuple_(key, v.c.record_id)
        marks = tuple_(bindparam("k0", type_=v.c[column].type),
                       bindparam("k1", type_=v.c.record_id.type))
        order = [key, v.c.record_id]
        # Numbers are in order of their double first (migration 0016), which is their order
        # (rounding keeps it): conditions on the double, leakproof, can search the index.
        searched = v.c.value_float if column == "value_number" else key
        if column == "value_number":
            order.insert(0, searched)
            if seek:
                mark = cast(bindparam("k0", type_=v.c[column].type), Double)
                stmt = stmt.where(searched <= mark if descending else searched >= mark)
        if bound is not None:
            def given(name: str) -> Any:
                if column == "value_number":
                    return cast(bindparam(name, type_=Numeric), Double)
                return bindparam(name, type_=searched.type)

            low, high = given(f"cf{bound}"), given(f"cf{bound}_max")
            op = shape.custom[bound][1]
            if op in ("min", "between"):
                stmt = stmt.where(searched >= low)
            if op in ("max", "between"):
                stmt = stmt.where(searched <= (low if op == "max" else high))
    else:
        v = VALUES.alias("nv")
        stmt = _filtered(shape, [*table.columns, literal_column("NULL").label("sort_key_0"),
                                 model.id.label("sort_key_1")]).where(~exists(
            select(1).select_from(v).where(
                v.c.tenant_id == model.tenant_id, v.c.record_id == model.id,
                v.c.field_id == bindparam("sort_field", type_=v.c.field_id.type))))
        cols = tuple_(model.id)
        marks = tuple_(bindparam("k1", type_=model.id.type))
        order = [model.id]
    if seek:
        stmt = stmt.where(cols < marks if descending else cols > marks)
    stmt = stmt.order_by(*(c.desc() if descending else c.asc() for c in order))
    stmt = stmt.limit(bindparam("limit", type_=Integer))
    return str(stmt.compile(dialect=_DIALECT))


def _field_cursor(row: Any) -> tuple[Any, ...]:
    value = row.sort_key_0
    return ("n", "", row.sort_key_1) if value is None else ("v", value, row.sort_key_1)


def _field_after(after: str, sort: FieldSort) -> tuple[bool, Any, uuid.UUID]:
    """(in the valued part, value, id) of a cursor of a list sorted by `sort`."""
    from infra.errors import BadRequest
    try:
        raw = base64.urlsafe_b64decode(after + "=" * (-len(after) % 4))
        part, value, id = orjson.loads(raw)
        if part not in ("v", "n") or not isinstance(value, str):
            raise ValueError
        if part == "n":
            return False, None, uuid.UUID(id)
        column = sort.column
        parsed: Any = (Decimal(value) if column == "value_number"
                       else date.fromisoformat(value) if column == "value_date"
                       else value == "True" if column == "value_bool" else value)
        if isinstance(parsed, Decimal) and not parsed.is_finite():
            raise ValueError
        return True, parsed, uuid.UUID(id)
    except (ValueError, TypeError, ArithmeticError, orjson.JSONDecodeError):
        raise BadRequest("the cursor is not valid for this list and sort",
                         field="after") from None


def range_on_sort(custom: Sequence[Condition], sort: FieldSort) -> int | None:
    """The index of a range condition on the field a list is sorted by (`field_page_sql`'s
    `bound`), if there is one."""
    return next((i for i, c in enumerate(custom) if c.field.id == sort.field.id
                 and c.op in ("min", "max", "between")), None)


async def field_page(session: AsyncSession, ctx: CallContext, entity: Entity, *,
                     filters: dict[str, Any], deleted: str, sort: FieldSort, first: int,
                     after: str | None, custom: Sequence[Condition] = ()) -> Page[Any]:
    await prepare(session, ctx, _ruled(entity, filters))
    shape = _shape(ctx, entity, filters, deleted, custom)
    params = _params(ctx, entity, filters, custom)
    params.update(sort_field=sort.field.id, limit=first + 1)
    valued, seek = True, False
    if after:
        valued, value, id = _field_after(after, sort)
        params.update(k0=value, k1=id)
        seek = True
    factory = args_row(row_type(entity, 2))
    rows: list[Any] = []
    bound = range_on_sort(custom, sort)
    if valued:
        rows = await fetch(session, field_page_sql(shape, sort.column, sort.descending, True,
                                                   seek, bound), params, factory,
                           prepare=not custom)
        seek = False
    if len(rows) <= first:
        params["limit"] = first + 1 - len(rows)
        rows += await fetch(session, field_page_sql(shape, sort.column, sort.descending,
                                                    False, seek), params, factory,
                            prepare=not custom)
    return build_page(rows, _field_cursor, first, after)


async def page(session: AsyncSession, ctx: CallContext, entity: Entity, *,
               filters: dict[str, Any], deleted: str, sort: str, first: int,
               after: str | None, rendered: RenderSpec | None = None,
               render_params: dict[str, Any] | None = None,
               custom: Sequence[Condition] = ()) -> Page[Any]:
    """A page of rows (named tuples with the model's columns and the sort key).

    With `rendered` (SQL over the entity's table and joins, from code, never from input) the
    rows are tuples instead: each node's JSON text as the database rendered it, and the sort
    key as text (`pagination.key_text_sql`), parsed only for the cursors asked for."""
    key = _sort_key(entity, sort)
    await prepare(session, ctx, registry.entities() if rendered is not None
                  else _ruled(entity, filters))
    params = _params(ctx, entity, filters, custom)
    params["limit"] = first + 1
    if after:
        for i, value in enumerate(decode_cursor(after, key)):
            params[f"k{i}"] = value
    sql = _page_sql(_shape(ctx, entity, filters, deleted, custom), sort, bool(after), rendered)
    if rendered is None:
        width = len(key.columns)
        rows = await fetch(session, sql, params, args_row(row_type(entity, width)),
                           prepare=not custom)
        result = build_page(rows, lambda r: tuple(r[-width:]), first, after)
    else:
        params.update(render_params if render_params is not None
                      else caller_params(ctx, registry.entities()))
        rows = await fetch(session, sql, params, tuple_row, prepare=not custom)
        result = build_page(rows, lambda r: parse_key(r[1:], key), first, after)
        result.rendered = True
    return result


async def count(session: AsyncSession, ctx: CallContext, entity: Entity, *,
                filters: dict[str, Any], deleted: str, custom: Sequence[Condition] = ()) -> int:
    await prepare(session, ctx, _ruled(entity, filters))
    rows = await fetch(session, _count_sql(_shape(ctx, entity, filters, deleted, custom)),
                       _params(ctx, entity, filters, custom), scalar_row, prepare=not custom)
    return int(rows[0])


@lru_cache(maxsize=256)
def _ids_sql(shape: ListShape) -> str:
    model = shape.entity.model
    stmt = _filtered(shape, [model.id]).order_by(model.id).limit(
        bindparam("limit", type_=Integer))
    return str(stmt.compile(dialect=_DIALECT))


async def ids(session: AsyncSession, ctx: CallContext, entity: Entity, *,
              filters: dict[str, Any], deleted: str, limit: int,
              custom: Sequence[Condition] = ()) -> list[uuid.UUID]:
    """Ids of the records a list with these filters shows the caller (the same record rule
    and conditions, custom-field ones included), at most `limit`, in id order: what bulk
    operations by filter act on."""
    await prepare(session, ctx, _ruled(entity, filters))
    params = {**_params(ctx, entity, filters, custom), "limit": limit}
    return await fetch(session, _ids_sql(_shape(ctx, entity, filters, deleted, custom)),
                       params, scalar_row, prepare=not custom)

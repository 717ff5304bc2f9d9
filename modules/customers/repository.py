"""Every query of the customers domain starts here, from tenant- and owner-scoped statements.

Row-level security is the wall; the explicit `tenant_id` filter keeps plans on the
`(tenant_id, …)` indexes, and the owner rule (a sales user sees only what they own) lives in the
base statement so no query can forget it.
"""

from __future__ import annotations

import uuid
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any, TypeVar

from psycopg.rows import args_row, scalar_row, tuple_row
from sqlalchemy import (
    Integer,
    Select,
    String,
    bindparam,
    false,
    func,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.ext.asyncio import AsyncSession

from infra.db import fetch
from modules.customers.models import Company, Contact
from modules.customers.schemas import phone_search_term
from modules.pagination import (
    Page,
    RenderSpec,
    SortKey,
    build_page,
    decode_cursor,
    key_text_sql,
    parse_key,
)
from tenancy.context import CallContext
from tenancy.permissions import Permission

Customer = TypeVar("Customer", Company, Contact)


def sort_keys(model: type[Company] | type[Contact]) -> dict[str, SortKey]:
    lower_name = func.lower(model.name)
    return {
        "CREATED_AT_DESC": SortKey("CREATED_AT_DESC", (model.created_at, model.id),
                                   (datetime, uuid.UUID), True),
        "CREATED_AT_ASC": SortKey("CREATED_AT_ASC", (model.created_at, model.id),
                                  (datetime, uuid.UUID), False),
        "UPDATED_AT_DESC": SortKey("UPDATED_AT_DESC", (model.updated_at, model.id),
                                   (datetime, uuid.UUID), True),
        "NAME_ASC": SortKey("NAME_ASC", (lower_name, model.id), (str, uuid.UUID), False),
        "NAME_DESC": SortKey("NAME_DESC", (lower_name, model.id), (str, uuid.UUID), True),
    }


SORTS: dict[type[Any], dict[str, SortKey]] = {
    Company: sort_keys(Company), Contact: sort_keys(Contact),
}


def visible(model: type[Customer], ctx: CallContext, *, include_deleted: bool = False
            ) -> Select[Any]:
    """The rows this caller may see: their tenant's, and only their own unless they read all."""
    stmt = select(model).where(model.tenant_id == ctx.tenant_id)
    if not ctx.can(Permission.CUSTOMERS_READ_ALL):
        # Own records only; a caller who is no user (an API key) owns none. Never
        # `owner_id == None`, which SQLAlchemy would turn into "owned by nobody".
        user_id = ctx.actor.user_id
        stmt = stmt.where(model.owner_id == user_id if user_id is not None else false())
    if not include_deleted:
        stmt = stmt.where(model.deleted_at.is_(None))
    return stmt


# -- lists: compiled once per shape, run on the driver --------------------------------------
# A list query's SQL depends only on its shape (which filters are present, the sort, whether the
# caller reads all or only their own); the values travel as parameters. So each shape is built and
# compiled once, and every request after that sends a prepared statement with its parameters.

_DIALECT = postgresql_psycopg.dialect()
# List rows carry their sort key as the database computed it (`SortKey.selected`), for cursors;
# rows loaded by id have none.
_KEY_FIELDS = ("k0", "k1")
ROW_TYPES: dict[type[Any], Any] = {
    model: namedtuple(f"{model.__name__}Row",  # type: ignore[misc]
                      [*(c.key for c in model.__table__.columns), *_KEY_FIELDS],
                      defaults=(None,) * len(_KEY_FIELDS))
    for model in (Company, Contact)
}
_ROW_KEY = attrgetter(*_KEY_FIELDS)
assert all(len(key.columns) == len(_KEY_FIELDS) for keys in SORTS.values() for key in keys.values())
_JSON_MARK = "__rendered_json__"
FILTER_KEYS = ("search", "owner_id", "email", "created_after", "created_before", "company_id")


@dataclass(frozen=True)
class ListShape:
    model: type[Any]
    read_all: bool
    include_deleted: bool
    deleted_only: bool
    filters: frozenset[str]


def _shape(ctx: CallContext, model: type[Any], filters: dict[str, Any]) -> ListShape:
    present = frozenset(k for k in FILTER_KEYS if filters.get(k) is not None
                        and (k != "company_id" or model is Contact))
    deleted_only = bool(filters.get("deleted_only"))
    return ListShape(model, ctx.can(Permission.CUSTOMERS_READ_ALL),
                     bool(filters.get("include_deleted")) or deleted_only, deleted_only, present)


def _filtered(shape: ListShape, columns: Sequence[Any]) -> Select[Any]:
    model = shape.model
    stmt = select(*columns).where(model.tenant_id == bindparam("tenant_id"))
    if not shape.read_all:
        stmt = stmt.where(model.owner_id == bindparam("actor_user_id"))
    if not shape.include_deleted:
        stmt = stmt.where(model.deleted_at.is_(None))
    if shape.deleted_only:
        stmt = stmt.where(model.deleted_at.is_not(None))
    keys = shape.filters
    if "search" in keys:
        pattern = bindparam("pattern", type_=String)
        stmt = stmt.where(or_(model.name.ilike(pattern), model.email.ilike(pattern),
                              model.phone.like(bindparam("phone_pattern", type_=String))))
    if "owner_id" in keys:
        stmt = stmt.where(model.owner_id == bindparam("owner_id"))
    if "email" in keys:
        stmt = stmt.where(func.lower(model.email) == bindparam("email", type_=String))
    if "created_after" in keys:
        stmt = stmt.where(model.created_at >= bindparam("created_after"))
    if "created_before" in keys:
        stmt = stmt.where(model.created_at < bindparam("created_before"))
    if "company_id" in keys:
        stmt = stmt.where(Contact.company_id == bindparam("company_id"))
    return stmt


@lru_cache(maxsize=512)
def _page_sql(shape: ListShape, sort: SortKey, seek: bool, rendered: RenderSpec | None) -> str:
    model = shape.model
    if rendered is None:
        columns = [*model.__table__.columns, *sort.selected()]
    else:
        columns = [literal_column(_JSON_MARK).label("json"),
                   *(key_text_sql(c, kind).label(f"k{i}") for i, (c, kind) in enumerate(
                       zip(sort.columns, sort.kinds, strict=True)))]
    stmt = _filtered(shape, columns)
    if seek:
        marks = [bindparam(f"k{i}", type_=c.type) for i, c in enumerate(sort.columns)]
        key = tuple_(*sort.columns)
        stmt = stmt.where(key < tuple_(*marks) if sort.descending else key > tuple_(*marks))
    stmt = stmt.order_by(*sort.order_by()).limit(bindparam("limit", type_=Integer))
    sql = str(stmt.compile(dialect=_DIALECT))
    # Put in after compiling: its %(name)s parameters must reach the driver as they are.
    if rendered is None:
        return sql
    table = shape.model.__table__.name
    from_clause = f"\nFROM {table} \nWHERE"
    if sql.count(from_clause) != 1:
        raise RuntimeError(f"unexpected statement shape: {sql}")
    return (sql.replace(_JSON_MARK, rendered.json, 1)
            .replace(from_clause, f"\nFROM {table} {rendered.joins} \nWHERE", 1))


@lru_cache(maxsize=512)
def _count_sql(shape: ListShape) -> str:
    stmt = select(func.count()).select_from(_filtered(shape, [shape.model.id]).subquery())
    return str(stmt.compile(dialect=_DIALECT))


def _params(ctx: CallContext, filters: dict[str, Any]) -> dict[str, Any]:
    params = _caller(ctx)
    for key in FILTER_KEYS:
        if filters.get(key) is not None:
            params[key] = filters[key]
    if "search" in params:
        q = params.pop("search")
        params["pattern"] = _contains(q)
        # Phones are stored normalised (E.164): a phone-like term is looked for so too.
        params["phone_pattern"] = _contains(phone_search_term(q, ctx.region))
    if "email" in params:
        params["email"] = params["email"].lower()
    return params


def _contains(text: str) -> str:
    """A LIKE pattern matching `text` anywhere."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def page(session: AsyncSession, ctx: CallContext, model: type[Customer], *,
               filters: dict[str, Any], sort: str, first: int, after: str | None,
               rendered: RenderSpec | None = None) -> Page[Any]:
    """A page of rows (named tuples with the model's columns), newest first by default.

    With `rendered` (SQL over the model's table and joins, from code, never from input)
    the rows are tuples instead: that expression's text (each node rendered by the database)
    and the sort key's values as text (`pagination.key_text_sql`), for cursors."""
    key = SORTS[model][sort]
    params = _params(ctx, filters)
    params["limit"] = first + 1
    if after:
        for i, value in enumerate(decode_cursor(after, key)):
            params[f"k{i}"] = value
    sql = _page_sql(_shape(ctx, model, filters), key, bool(after), rendered)
    if rendered is None:
        rows = await fetch(session, sql, params, args_row(ROW_TYPES[model]))
        result = build_page(rows, _ROW_KEY, first, after)
    else:
        # Plain tuples (json, key text…): a named tuple per row and typed keys cost more than
        # the rest of reading the page; keys are parsed only for the cursors asked for.
        rows = await fetch(session, sql, params, tuple_row)
        result = build_page(rows, lambda r: parse_key(r[1:], key), first, after)
    result.rendered = rendered is not None
    return result


async def count(session: AsyncSession, ctx: CallContext, model: type[Customer], *,
                filters: dict[str, Any]) -> int:
    rows = await fetch(session, _count_sql(_shape(ctx, model, filters)), _params(ctx, filters),
                       scalar_row)
    return int(rows[0])


def _caller(ctx: CallContext) -> dict[str, Any]:
    """The parameters `visible_one_sql` reads."""
    return {"tenant_id": ctx.tenant_id, "actor_user_id": ctx.actor.user_id,
            "read_all": ctx.can(Permission.CUSTOMERS_READ_ALL),
            "see_deleted": ctx.can(Permission.CUSTOMERS_DELETE)}


def visible_one_sql(alias: str, key_sql: str) -> str:
    """When a referenced company or contact (`id = <key_sql>`) is visible to the caller: their
    tenant's, their own unless they read all, deleted ones only to those who may delete. The one
    rule for loaders (`by_ids`) and for references the database renders (graphql_api.rendering);
    parameters from `_caller`."""
    return (f"{alias}.tenant_id = %(tenant_id)s and {alias}.id = {key_sql} "
            f"and (%(read_all)s or {alias}.owner_id = %(actor_user_id)s) "
            f"and (%(see_deleted)s or {alias}.deleted_at is null)")


@lru_cache(maxsize=8)
def _by_ids_sql(model: type[Any]) -> str:
    table = model.__table__
    return (f"select {', '.join(c.name for c in table.columns)} from {table.name} "
            f"where {visible_one_sql(table.name, 'any(%(ids)s)')}")


async def by_ids(session: AsyncSession, ctx: CallContext, model: type[Customer],
                 ids: Sequence[uuid.UUID]) -> list[Any]:
    """Rows (as for lists) of the given ids that the caller may see: one query for a batch."""
    return await fetch(session, _by_ids_sql(model), {**_caller(ctx), "ids": list(ids)},
                       args_row(ROW_TYPES[model]))


async def get(session: AsyncSession, ctx: CallContext, model: type[Customer], id: uuid.UUID, *,
              include_deleted: bool = False, for_update: bool = False) -> Customer | None:
    stmt = visible(model, ctx, include_deleted=include_deleted).where(model.id == id)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def is_member(session: AsyncSession, ctx: CallContext, user_id: uuid.UUID) -> bool:
    from tenancy.models import Membership

    found = await session.scalar(
        select(Membership.user_id).where(Membership.tenant_id == ctx.tenant_id,
                                         Membership.user_id == user_id,
                                         Membership.status == "active"))
    return found is not None

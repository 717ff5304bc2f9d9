"""The one declaration a business entity makes, and the parts it is made of.

A module states what is its own (model, owner column, permissions, sort keys, filters, how its
fields read in events) and the kit derives the rest: the visible statement, keyset pages and
cursors, lookups, writes with audit and events, Relay wiring and database rendering.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Boolean, String, bindparam, func
from sqlalchemy.sql.elements import ColumnElement

from tenancy.audit import ApiForm, declare_api_form
from tenancy.context import CallContext
from tenancy.permissions import Permission

ColumnFn = Callable[[Any], Any]  # model (or an alias of it) -> column expression


@dataclass(frozen=True)
class Sort:
    """An ordering of a list, named as the API's sort enum names it (`NAME_ASC`).

    `keys` are columns of the model or functions of it (`lambda m: func.lower(m.name)`); the
    primary key is appended by the kit, so the order is total and cursors are unique. Every
    key shares one direction, which is what lets `(a, b, id) < (:a, :b, :id)` seek straight
    into a `(tenant_id, a, b, id)` index. The cursor is made of the values the database
    computed for these expressions, never recomputed in Python.
    """

    name: str
    keys: tuple[str | ColumnFn, ...]
    descending: bool = False
    description: str | None = None

    def expressions(self, model: Any) -> tuple[Any, ...]:
        out = [getattr(model, k) if isinstance(k, str) else k(model) for k in self.keys]
        return (*out, model.id)


def standard_sorts(*, name: str | None = "name") -> tuple[Sort, ...]:
    """The orderings most lists offer: by creation (both ways), last update, and name."""
    sorts = [Sort("CREATED_AT_DESC", ("created_at",), True, "Newest first."),
             Sort("CREATED_AT_ASC", ("created_at",), False, "Oldest first."),
             Sort("UPDATED_AT_DESC", ("updated_at",), True, "Most recently changed first.")]
    if name is not None:
        column = name
        sorts += [Sort("NAME_ASC", (lambda m: func.lower(getattr(m, column)),), False,
                       "By name, A to Z (case-insensitive)."),
                  Sort("NAME_DESC", (lambda m: func.lower(getattr(m, column)),), True,
                       "By name, Z to A (case-insensitive).")]
    return tuple(sorts)


class Filter:
    """One condition of a list's filter input. `clause` builds SQL over the model with bind
    parameters named `name` (or `name_<suffix>`); `params` turns the caller's value into them.
    A list's SQL depends only on which filters are present, so it is compiled once per shape.
    """

    def clause(self, model: Any, name: str) -> ColumnElement[bool]:
        raise NotImplementedError

    def params(self, name: str, value: Any, ctx: CallContext) -> dict[str, Any]:
        return {name: value}

    def id_type(self) -> str | None:
        """The GraphQL type whose global ids this condition takes, if it takes ids: the API
        decodes them (one id, or each of a list) before `params` sees them."""
        return None


@dataclass(frozen=True)
class Equals(Filter):
    column: str | ColumnFn

    def clause(self, model: Any, name: str) -> ColumnElement[bool]:
        col = getattr(model, self.column) if isinstance(self.column, str) else self.column(model)
        return col == bindparam(name, type_=col.type)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class EqualsLower(Filter):
    """Case-insensitive equality, on a `lower(column)` index."""

    column: str

    def clause(self, model: Any, name: str) -> ColumnElement[bool]:
        return func.lower(getattr(model, self.column)) == bindparam(name, type_=String)

    def params(self, name: str, value: Any, ctx: CallContext) -> dict[str, Any]:
        return {name: value.lower()}


@dataclass(frozen=True)
class AtLeast(Filter):
    column: str

    def clause(self, model: Any, name: str) -> ColumnElement[bool]:
        col = getattr(model, self.column)
        return col >= bindparam(name, type_=col.type)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Before(Filter):
    column: str

    def clause(self, model: Any, name: str) -> ColumnElement[bool]:
        col = getattr(model, self.column)
        return col < bindparam(name, type_=col.type)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Present(Filter):
    """Whether a nullable column holds a value: `true` lists rows where it does (`revoked:
    true`, the revoked keys), `false` those where it is null. One SQL text for both."""

    column: str

    def clause(self, model: Any, name: str) -> ColumnElement[bool]:
        return getattr(model, self.column).isnot(None) == bindparam(  # type: ignore[no-any-return]
            name, type_=Boolean)


@dataclass(frozen=True)
class Contains(Filter):
    """Part of a text column, case-insensitive; the caller's `%` and `_` match themselves."""

    column: str

    def clause(self, model: Any, name: str) -> ColumnElement[bool]:
        return getattr(model, self.column).ilike(  # type: ignore[no-any-return]
            bindparam(name, type_=String))

    def params(self, name: str, value: Any, ctx: CallContext) -> dict[str, Any]:
        return {name: like_pattern(value)}


def like_pattern(text: str) -> str:
    """`%text%` with LIKE's own wildcards escaped: the caller's `%` and `_` match themselves."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass(frozen=True)
class Field:
    """What the kit needs to know of a column beyond its type.

    `reference`: the GraphQL type its uuid points at (its global id in the API, in inputs and
    filters, in audit rows and events); `enum`: written upper-case, as the API's enum values
    are; `secret`: never in an audit row or event.
    """

    reference: str | None = None
    enum: bool = False
    secret: bool = False


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


@dataclass(eq=False)
class Entity:
    """A business entity declared once.

    name        the audit entity type, the event prefix (`contact.created`) and loader name
    type_name   its GraphQL type, which its global ids name
    model       the ORM model: `TenantOwned` (primary key `(tenant_id, id)`)
    read        the permission to read it at all (the caller's own records if `owner` is set)
    read_all    the permission to read every record of the tenant (owned entities only)
    write       the permission to create and update what one can see
    delete      the permission to soft-delete and restore (needs a `deleted_at` column) and to
                list deleted records; None: the entity is not deletable through the kit
    owner       the owner column, if records are owned: callers without `read_all` see and
                change only their own, and an API key (no user) owns nothing
    sorts       the orderings its lists offer; the first is the default
    filters     the conditions its list filter offers, by input field name
    fields      how columns read in audit rows and events (the rest: camelCase, as is)
    unique      unique indexes by name, with the API field each guards: a write that would
                break one is a CONFLICT on that field, also when concurrent writes both pass
                the service's own checks (the index decides)
    custom_fields  whether the tenant's admins may define fields of their own for it
                (`modules.kit.custom_values`): its writes take `customFields`, its audit rows
                and events carry them, its lists filter and sort by them
    personal    (user column, shared column): records private to the member in the user
                column unless the shared column is true (saved views, segments). Unlike
                `owner` this is no data scope: nobody else sees a private record, a manager
                neither, and an API key (no user) sees only shared ones
    """

    name: str
    type_name: str
    model: Any
    read: Permission
    write: Permission
    read_all: Permission | None = None
    delete: Permission | None = None
    owner: str | None = None
    sorts: tuple[Sort, ...] = field(default_factory=standard_sorts)
    filters: dict[str, Filter] = field(default_factory=dict)
    fields: dict[str, Field] = field(default_factory=dict)
    unique: dict[str, str] = field(default_factory=dict)
    label: str | None = None  # in messages: "no contact with this id"
    custom_fields: bool = False
    personal: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name) or not self.type_name.isidentifier():
            raise ValueError(f"bad entity names: {self.name!r}, {self.type_name!r}")
        if self.owner is not None and self.read_all is None:
            raise ValueError(f"{self.name}: an owned entity needs a read_all permission")
        if self.delete is not None and "deleted_at" not in self.model.__table__.columns:
            raise ValueError(f"{self.name}: soft delete needs a deleted_at column")
        self.sort_by_name = {s.name: s for s in self.sorts}
        self.columns = tuple(c.key for c in self.model.__table__.columns)
        self.secrets = frozenset(k for k, f in self.fields.items() if f.secret)
        from modules.kit import registry

        registry.register(self)
        # How its records read in audit rows and events: the one serialiser in tenancy.audit.
        references = {k: f.reference for k, f in {**_DEFAULT_FIELDS, **self.fields}.items()
                      if f.reference and k in self.columns}
        enums = frozenset(k for k, f in self.fields.items() if f.enum)
        declare_api_form(self.name, ApiForm(references, enums), node_type=self.type_name)

    @property
    def soft_deletes(self) -> bool:
        return self.delete is not None

    @property
    def noun(self) -> str:
        return self.label or self.name.replace("_", " ")

    def reads_all(self, ctx: CallContext) -> bool:
        return self.owner is None or ctx.can(self.read_all)  # type: ignore[arg-type]

    def sees_deleted(self, ctx: CallContext) -> bool:
        return self.delete is not None and ctx.can(self.delete)


_DEFAULT_FIELDS = {"owner_id": Field(reference="User")}

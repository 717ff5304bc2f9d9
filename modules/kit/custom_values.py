"""Custom fields' values, for every entity declared with `custom_fields=True`.

A tenant's admins define fields per entity (`modules.custom_fields`); records hold values in
one typed table, `custom_field_values`: a row per (field, record), a multiple select a row per
chosen option, with a column per kind of value (text and option keys, numbers, dates,
booleans). Every index of that table leads with `(tenant_id, field_id, <value>)`, so:

- a filter by one field (equals, in, range, present/absent) is an EXISTS probe into that
  field's slice of one index (or a scan of the slice, joined back by primary key). Its value
  is compared through leakproof operators only (texts and option keys by `value_key`,
  `lower(value_text)`; numbers by `value_float` first, then exactly): under row-level security
  a condition that is not leakproof is never an index condition, and would read the field's
  every value (migration 0016);
- a keyset-paginated sort by one field reads the field's slice of its index in order, then
  the records that hold no value (by id): two index scans under one LIMIT (`page_sql`);
- a unique field is a partial unique index over its rows (`is_unique`), which decides
  between concurrent writes: the loser gets CONFLICT on the field.

Nothing here creates DDL at run time: the app role owns no table and cannot. Everything reads
through `fetch` (the read lane runs it), and the tenant is in every statement's conditions as
well as under row-level security.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from psycopg.rows import namedtuple_row
from sqlalchemy import (
    Boolean,
    Column,
    Computed,
    Date,
    Double,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    Table,
    Text,
    Uuid,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    func,
    not_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from infra import crypto
from infra.db import fetch
from infra.errors import Conflict, FieldError, ValidationFailed
from infra.validation import Validator
from modules.pii.identity import MASK
from modules.pii.sealed import CUSTOM_VALUE
from tenancy.context import CallContext
from tenancy.permissions import Permission

TYPES = ("text", "number", "decimal", "date", "boolean", "select", "multi_select")
SELECTS = ("select", "multi_select")
MAX_TEXT = 2000
MAX_INTEGER = 2**53 - 1  # what a JSON number holds exactly in every client
MAX_DECIMAL = Decimal("1e18")
DECIMAL_PLACES = 6
MAX_SENT = 200  # values in one write (an entity has at most 100 fields)
MAX_CONDITIONS = 10  # custom-field conditions in one list filter
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")

# The values table as SQL sees it (its ORM model is `modules.custom_fields.models`; the kit
# reads and writes it without importing the module that declares the definitions).
VALUES = Table(
    "custom_field_values", MetaData(),
    Column("tenant_id", Uuid, primary_key=True),
    Column("field_id", Uuid, primary_key=True),
    Column("record_id", Uuid, primary_key=True),
    Column("position", SmallInteger, primary_key=True),
    Column("value_text", Text),
    Column("value_number", Numeric),
    Column("value_date", Date),
    Column("value_bool", Boolean),
    Column("is_unique", Boolean),
    Column("value_sealed", LargeBinary),
    # Kept by PostgreSQL (migration 0016): what conditions compare, by leakproof operators.
    Column("value_key", Text, Computed("lower(value_text)")),
    Column("value_float", Double, Computed("value_number::double precision")),
)

# The column of each type's values, and the expression its index (and sort) is on.
COLUMN = {"text": "value_text", "select": "value_text", "multi_select": "value_text",
          "number": "value_number", "decimal": "value_number", "date": "value_date",
          "boolean": "value_bool"}


def indexed(column: str, table: Any = VALUES) -> Any:
    """What a list sorts this value column by (text: case-insensitive, `value_key`)."""
    return table.c["value_key" if column == "value_text" else column]


@dataclass(frozen=True)
class Definition:
    """A live field of one entity, as values are checked and shown against it."""

    id: uuid.UUID
    key: str
    label: str
    type: str
    required: bool
    unique: bool
    position: int
    options: tuple[tuple[str, str], ...]  # (key, label), in their order
    # Sealed at rest (modules/pii): the value in `value_sealed`, its blind index in
    # `value_text` (exact-match filters); read masked; never sorted or unique.
    sensitive: bool = False

    @property
    def column(self) -> str:
        return COLUMN[self.type]

    def option_label(self, key: str) -> str:
        # A key whose option was removed since reads as itself: nothing stored is lost.
        return next((label for k, label in self.options if k == key), key)


_DEFINITIONS_SQL = """
select id, key, label, type, required, is_unique, position, options, sensitive
from custom_fields
where tenant_id = %(tenant_id)s and entity = %(entity)s and deleted_at is null
order by position, id"""


async def definitions(session: Any, ctx: CallContext, entity: str) -> list[Definition]:
    """The live fields of `entity` in the caller's tenant, in their order."""
    rows = await fetch(session, _DEFINITIONS_SQL, {"tenant_id": ctx.tenant_id,
                                                   "entity": entity}, namedtuple_row)
    return [Definition(r.id, r.key, r.label, r.type, r.required, r.is_unique, r.position,
                       tuple((o["key"], o["label"]) for o in r.options or ()), r.sensitive)
            for r in rows]


# -- validation ------------------------------------------------------------------------------

def check_value(v: Validator, where: str, d: Definition, value: Any) -> Any:
    """The value to store for `d` (None: no value), or None with an error added to `v`.
    Values arrive as JSON: a hostile one (wrong shape, NaN, huge, NUL) is a field error."""
    if value is None or value == [] or value == "":
        return None
    kind = d.type
    if kind == "text":
        if not isinstance(value, str) or len(value) > MAX_TEXT * 4:
            v.fail(where, "must be a text" if not isinstance(value, str)
                   else f"must be at most {MAX_TEXT} characters",
                   "invalid" if not isinstance(value, str) else "too_long")
            return None
        return v.text(where, value, max_len=MAX_TEXT)
    if kind == "number":
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            v.fail(where, "must be a whole number")
            return None
        if abs(value) > MAX_INTEGER:
            v.fail(where, f"must be between -{MAX_INTEGER} and {MAX_INTEGER}", "out_of_range")
            return None
        return Decimal(value)
    if kind == "decimal":
        return _decimal(v, where, value)
    if kind == "date":
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            v.fail(where, "must be a date as YYYY-MM-DD")
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            v.fail(where, "is not a date")
            return None
    if kind == "boolean":
        if not isinstance(value, bool):
            v.fail(where, "must be true or false")
            return None
        return value
    keys = {k for k, _ in d.options}
    if kind == "select":
        if not isinstance(value, str) or value not in keys:
            v.fail(where, "is not one of this field's options", "unknown_option")
            return None
        return value
    # multi_select: a list of option keys, each once, in the options' order
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value) \
            or len(value) > len(keys):
        v.fail(where, "must be a list of this field's option keys")
        return None
    if any(k not in keys for k in value):
        v.fail(where, "is not one of this field's options", "unknown_option")
        return None
    chosen = set(value)
    return [k for k, _ in d.options if k in chosen]


def _decimal(v: Validator, where: str, value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str) or (
            isinstance(value, str) and len(value) > 40):
        v.fail(where, "must be a decimal number, e.g. \"12.50\"")
        return None
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, float) \
            else Decimal(repr(value))
    except InvalidOperation:
        v.fail(where, "must be a decimal number, e.g. \"12.50\"")
        return None
    if not number.is_finite():
        v.fail(where, "must be a finite number")
        return None
    if abs(number) >= MAX_DECIMAL:
        v.fail(where, "must be less than 10^18 in size", "out_of_range")
        return None
    if number.as_tuple().exponent < -DECIMAL_PLACES:  # type: ignore[operator]
        v.fail(where, f"may have at most {DECIMAL_PLACES} decimal places", "out_of_range")
        return None
    return number


def validate(defs: Sequence[Definition], sent: Any, *, creating: bool,
             prefix: str = "customFields") -> tuple[dict[Definition, Any], list[FieldError]]:
    """The values to store, by field, from the caller's `[{key, value}]` (only the fields sent;
    a null value clears one), and the errors. On create every required field needs a value;
    on update a required field cannot be cleared."""
    v = Validator()
    out: dict[Definition, Any] = {}
    by_key = {d.key: d for d in defs}
    if not isinstance(sent, list) or len(sent) > MAX_SENT:
        v.fail(prefix, f"must be a list of at most {MAX_SENT} {{key, value}}")
        return out, v.errors
    for item in sent:
        key = item.get("key") if isinstance(item, dict) else None
        if not isinstance(key, str) or not isinstance(item, dict) or "value" not in item:
            v.fail(prefix, "must be a list of {key, value}")
            continue
        where = f"{prefix}.{key}" if _KEY.fullmatch(key) else prefix
        d = by_key.get(key)
        if d is None:
            v.fail(where, "no such field", "unknown_field")
            continue
        if d in out:
            v.fail(where, "is given twice", "duplicate")
            continue
        errors = len(v.errors)
        value = check_value(v, where, d, item["value"])
        if len(v.errors) > errors:
            continue
        if value is None and d.required:
            v.fail(where, "is required", "required")
            continue
        out[d] = value
    if creating:
        for d in defs:
            if d.required and d not in out and not any(
                    e.field == f"{prefix}.{d.key}" for e in v.errors):
                v.fail(f"{prefix}.{d.key}", "is required", "required")
    return out, v.errors


# -- reading -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Value:
    """A record's value of one field, as the API shows it."""

    field: Definition
    value: Any  # str, int, Decimal, date, bool, or a list of option keys

    def api(self) -> Any:
        """As JSON: decimals as text (exact), dates as YYYY-MM-DD."""
        value = self.value
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, date):
            return value.isoformat()
        return value


_VALUES_SQL = """
select record_id, field_id, position, value_text, value_number, value_date, value_bool
from custom_field_values
where tenant_id = %(tenant_id)s and record_id = any(%(ids)s)
order by record_id, field_id, position"""


async def read(session: Any, ctx: CallContext, entity: str, ids: Sequence[uuid.UUID]
               ) -> list[list[Value]]:
    """Each record's values of the entity's live fields, in the fields' order (fields without a
    value left out): two queries for any number of records (a data loader's batch)."""
    defs = await definitions(session, ctx, entity)
    if not defs or not ids:
        return [[] for _ in ids]
    rows = await fetch(session, _VALUES_SQL, {"tenant_id": ctx.tenant_id, "ids": list(ids)},
                       namedtuple_row)
    by_id = {d.id: d for d in defs}
    held: dict[uuid.UUID, dict[Definition, Any]] = {}
    for r in rows:
        d = by_id.get(r.field_id)
        if d is None:  # a removed field's value: kept for its restore, not shown
            continue
        values = held.setdefault(r.record_id, {})
        value = _stored(d, r)
        if d.type == "multi_select":
            values.setdefault(d, []).append(value)
        else:
            values[d] = value
    out = []
    for record_id in ids:
        values = held.get(record_id, {})
        out.append([Value(d, typed(d, values[d])) for d in defs if d in values])
    return out


def _stored(d: Definition, row: Any) -> Any:
    # A sensitive value is never opened to be shown: revealing it is its own, audited act.
    return MASK if d.sensitive else getattr(row, d.column)


def typed(d: Definition, value: Any) -> Any:
    """A stored (or validated) value as the API gives it: numbers as ints, option keys of a
    multiple select in the options' order."""
    if d.type == "number" and value is not None:
        return int(value)
    if d.type == "multi_select" and value is not None:
        order = [k for k, _ in d.options]
        return sorted(value, key=lambda k: order.index(k) if k in order else len(order))
    return value


def api_form(values: Sequence[Value]) -> dict[str, Any]:
    """A record's values for its audit rows and events: `{key: value}`."""
    return {v.field.key: v.api() for v in values}


# -- writing ---------------------------------------------------------------------------------

async def write(session: AsyncSession, ctx: CallContext, record_id: uuid.UUID,
                changes: dict[Definition, Any], *, prefix: str = "customFields") -> None:
    """Store these values of one record (None clears). A unique field whose value another
    record of the entity holds is a CONFLICT on it, decided by the unique index, so two
    concurrent writes cannot both pass. Inside the caller's savepoint."""
    if not changes:
        return
    await session.execute(VALUES.delete().where(
        VALUES.c.tenant_id == ctx.tenant_id, VALUES.c.record_id == record_id,
        VALUES.c.field_id.in_([d.id for d in changes])))
    for d, value in changes.items():
        if value is None:
            continue
        items = value if d.type == "multi_select" else [value]
        rows = [{"tenant_id": ctx.tenant_id, "field_id": d.id, "record_id": record_id,
                 "position": i, "value_text": None, "value_number": None, "value_date": None,
                 "value_bool": None, "value_sealed": None, "is_unique": d.unique,
                 **_sealed(ctx, d, record_id, i, item)}
                for i, item in enumerate(items)]
        try:
            await session.execute(VALUES.insert(), rows)
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""
            if constraint.startswith("custom_field_values_unique"):
                raise Conflict(f"another record has this {d.label}",
                               field=f"{prefix}.{d.key}") from None
            raise


def blind_index(ctx: CallContext, d: Definition, value: str) -> str:
    """A sensitive field's value as its exact-match filter finds it (case-insensitive, as
    text filters are): hex of an HMAC per tenant and field, in `value_text`."""
    return crypto.keyring().blind_index(value.lower(), f"custom_field.{d.id}",
                                        ctx.tenant_id).hex()


def _sealed(ctx: CallContext, d: Definition, record_id: uuid.UUID, position: int, item: Any
            ) -> dict[str, Any]:
    if not d.sensitive:
        return {d.column: item}
    return {"value_text": blind_index(ctx, d, item),
            "value_sealed": CUSTOM_VALUE.seal(item, ctx.tenant_id, d.id, record_id, position)}


async def reveal(session: AsyncSession, ctx: CallContext, d: Definition,
                 record_id: uuid.UUID) -> str | None:
    """A sensitive field's value in clear (the caller checks the permission and audits)."""
    sealed = await session.scalar(select(VALUES.c.value_sealed).where(
        VALUES.c.tenant_id == ctx.tenant_id, VALUES.c.field_id == d.id,
        VALUES.c.record_id == record_id, VALUES.c.position == 0))
    return None if sealed is None else CUSTOM_VALUE.open(sealed, ctx.tenant_id, d.id,
                                                         record_id, 0)


# -- lists: filters and sorts ----------------------------------------------------------------

OPS = ("in", "keys", "eq", "min", "max", "between", "present", "absent")


@dataclass(frozen=True)
class Condition:
    """One field's condition of a list filter. Its SQL depends on (column, op) only: the
    field and the values are parameters (`cf<i>_field`, `cf<i>`, `cf<i>_max`).

    Option keys (`keys`) are compared as they are (they are lower-case by definition); a text
    (`eq`, `in`) is lower-cased by PostgreSQL's rules, as `value_key` is; a range on one field
    (`between`) is one probe, not two."""

    field: Definition
    op: str
    value: Any

    @property
    def shape(self) -> tuple[str, str]:
        # A whole number (at most 2**53) is exact as a double: `value_float` alone decides.
        column = self.field.column
        if self.field.type == "number" and self.op not in ("present", "absent"):
            column = "value_float"
        return (column, self.op)


def condition_sql(model: Any, i: int, column: str, op: str) -> ColumnElement[bool]:
    """SQL of the i-th condition over the entity's table `model`: each comparison with the
    field's values leakproof, so that it can search an index under row-level security."""
    v = VALUES.alias(f"cf{i}")
    base = [v.c.tenant_id == model.tenant_id, v.c.record_id == model.id,
            v.c.field_id == bindparam(f"cf{i}_field", type_=Uuid)]
    given = bindparam(f"cf{i}", type_=v.c[column].type)
    if column == "value_text":
        key = v.c.value_key
        if op == "keys":
            base.append(key == any_(bindparam(f"cf{i}", type_=ARRAY(Text))))
        elif op == "eq":
            base.append(key == func.lower(given))
        elif op == "in":  # the list's text form lower-cased (quotes and commas are kept)
            base.append(key == any_(cast(func.lower(cast(
                bindparam(f"cf{i}", type_=ARRAY(Text)), Text)), ARRAY(Text))))
    elif column in ("value_number", "value_float") and op not in ("absent", "present"):
        # A double first (an index condition; rounding keeps the order, so it admits every
        # match), then a decimal's exact value on the rows it found (a whole number's double
        # is exact: nothing to check, and no second guess for the planner to multiply in).
        as_float, exact = v.c.value_float, v.c.value_number
        given = bindparam(f"cf{i}", type_=Numeric)
        high = given if op == "max" else bindparam(f"cf{i}_max", type_=Numeric)
        checks: list[Any] = []
        if op == "in":
            given = bindparam(f"cf{i}", type_=ARRAY(Numeric))
            base.append(as_float == any_(cast(given, ARRAY(Double))))
            checks.append(exact == any_(given))
        if op in ("min", "between"):
            base.append(as_float >= cast(given, Double))
            checks.append(exact >= given)
        if op in ("max", "between"):
            base.append(as_float <= cast(high, Double))
            checks.append(exact <= high)
        if column == "value_number":
            base += checks
    else:
        col = v.c[column]
        if op == "in":
            base.append(col == any_(bindparam(f"cf{i}", type_=ARRAY(col.type))))
        if op in ("min", "between"):
            base.append(col >= given)
        if op in ("max", "between"):
            base.append(col <= (given if op == "max"
                                else bindparam(f"cf{i}_max", type_=col.type)))
    clause = exists(select(1).select_from(v).where(and_(*base)))
    return not_(clause) if op == "absent" else clause


def condition_params(i: int, c: Condition) -> dict[str, Any]:
    params: dict[str, Any] = {f"cf{i}_field": c.field.id}
    if c.op in ("in", "keys"):
        params[f"cf{i}"] = list(c.value)
    elif c.op == "between":
        params[f"cf{i}"], params[f"cf{i}_max"] = c.value
    elif c.op in ("min", "max", "eq"):
        params[f"cf{i}"] = c.value
    return params


def conditions(defs: Sequence[Definition], sent: Any, prefix: str = "filter.customFields",
               *, ctx: CallContext | None = None) -> list[Condition]:
    """A list filter's custom-field conditions from `[{key, equals | in | min/max |
    present}]`, each value checked against its field's type. VALIDATION otherwise."""
    v = Validator()
    out: list[Condition] = []
    by_key = {d.key: d for d in defs}
    if len(sent or ()) > MAX_CONDITIONS:  # each set of conditions is a statement compiled once
        raise ValidationFailed.single(prefix, f"at most {MAX_CONDITIONS} conditions",
                                      "too_many")
    for n, item in enumerate(sent or ()):
        where = f"{prefix}[{n}]"
        d = by_key.get(item.get("key")) if isinstance(item.get("key"), str) else None
        if d is None:
            v.fail(f"{where}.key", "no such field", "unknown_field")
            continue
        given = [k for k in ("equals", "in", "min", "max", "present")
                 if item.get(k) is not None]
        if not given or (len(given) > 1 and set(given) != {"min", "max"}):
            v.fail(where, "give one of equals, in, min and max, or present")
            continue
        probe = d if d.type != "multi_select" else Definition(
            d.id, d.key, d.label, "select", False, False, d.position, d.options)
        # A sensitive field: an exact match through the blind index, for those who may read
        # its values; for anyone else it would be an oracle ("does anyone hold this value?").
        if d.sensitive and given != ["present"] and (
                ctx is None or not ctx.can(Permission.PII_READ) or given[0] not in ("equals",
                                                                                   "in")):
            v.fail(where, "a sensitive field is filtered by exact value only, by those who "
                   "may read it", "not_filterable")
            continue
        if given == ["present"]:
            out.append(Condition(d, "present" if item["present"] else "absent", None))
        elif given[0] in ("equals", "in"):
            raw = [item["equals"]] if given[0] == "equals" else item["in"]
            if not isinstance(raw, list) or not 1 <= len(raw) <= 100:
                v.fail(f"{where}.in", "must be a list of 1 to 100 values")
                continue
            errors = len(v.errors)
            values = [check_value(v, f"{where}.{given[0]}", probe, x) for x in raw]
            if len(v.errors) == errors and all(x is not None for x in values):
                if d.sensitive and ctx is not None:
                    values = [blind_index(ctx, d, x) for x in values]
                out.append(Condition(d, *_in(d, values)))
            elif len(v.errors) == errors:
                v.fail(f"{where}.{given[0]}", "must not be empty")
        else:
            if d.type not in ("number", "decimal", "date"):
                v.fail(where, "min and max apply to numbers, decimals and dates")
                continue
            bounds = {}
            for op in given:
                errors = len(v.errors)
                value = check_value(v, f"{where}.{op}", probe, item[op])
                if len(v.errors) == errors and value is not None:
                    bounds[op] = value
            if len(bounds) == 2:
                out.append(Condition(d, "between", (bounds["min"], bounds["max"])))
            elif bounds:
                op, value = next(iter(bounds.items()))
                out.append(Condition(d, op, value))
    if v.errors:
        raise ValidationFailed(v.errors)
    return out


def _in(d: Definition, values: list[Any]) -> tuple[str, Any]:
    """The op and value of "one of these values" of field `d`."""
    if d.type in SELECTS:
        return "keys", values
    if d.column == "value_text" and len(values) == 1:
        return "eq", values[0]
    return "in", values


@dataclass(frozen=True)
class FieldSort:
    """A list sorted by one field's values (records without one last, either way), then id."""

    field: Definition
    descending: bool

    @property
    def column(self) -> str:
        return self.field.column


def field_sort(defs: Sequence[Definition], key: Any, descending: bool,
               where: str = "sortBy.customField") -> FieldSort:
    d = next((d for d in defs if d.key == key), None)
    if d is None:
        raise ValidationFailed.single(where, "no such field", "unknown_field")
    if d.type == "multi_select":
        raise ValidationFailed.single(where, "a multiple select cannot sort a list",
                                      "not_sortable")
    if d.sensitive:
        raise ValidationFailed.single(where, "a sensitive field cannot sort a list: its "
                                      "values are sealed", "not_sortable")
    return FieldSort(d, descending)

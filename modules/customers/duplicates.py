"""Duplicate check (查重) while a contact or company is typed in, and duplicate groups among
the records a caller may see.

**The check** looks across the whole tenant, past the caller's data scope: its point is to
stop two reps chasing one customer, and the other rep's customer is exactly the one the caller
cannot see. So what it answers about a record depends on whether the caller may see it:

- a record the caller may see (the kit's record rule: their data scope and shares) comes with
  its id, so the page can link to it and show it (loaded through the data loaders, which apply
  the record rule again);
- any other comes as its category (someone else's, or the unowned pool) and the attribute
  that matched, nothing else: no id, no name, no owner, and one entry however many such
  records match, so counting them tells nothing either. The owner's name is withheld on
  purpose: "this mobile number is 李娜's customer" is itself the relationship the data scope
  keeps from a rep (a rep trying numbers would learn a colleague's book); "someone else has
  it" is enough to stop a second chase, and a manager (who sees it) can say whose it is.

The answer costs one statement whatever it finds (the visibility is decided in Python on the
rows read), so its time does not tell a hidden match from none; invalid input (a half-typed
phone number) simply matches nothing, the same for everyone.

**Match points** (`POINTS`) are the one place that says what matches what: each names the
attribute, the records it finds, how the probe's value is normalised, and the SQL condition
(index-backed: migration 0014). Several phones or emails per contact add a point here (or
change a point's condition to read their table), nothing else.

**Groups** (`groups`): records sharing a normalised email or phone, contacts of one company
with the same or a similar name (pg_trgm similarity of the name keys), companies with the same
name key; only among the records the caller may see (the record rule first), keyset-paged by
(attribute, key).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from psycopg.rows import namedtuple_row
from sqlalchemy import ARRAY, Uuid, bindparam, literal_column, text
from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.ext.asyncio import AsyncSession

from infra.db import fetch
from infra.errors import BadRequest, FieldError, ValidationFailed
from infra.validation import normalise_email, normalise_phone
from modules.customers.entities import COMPANY, CONTACT
from modules.kit import repository as kit_repository
from modules.kit import scopes
from modules.kit.entity import Entity
from tenancy.audit import record_change
from tenancy.context import CallContext
from tenancy.permissions import Permission

MINE, POOL, OTHERS = "MINE", "POOL", "OTHERS"
PHONE, EMAIL, NAME, COMPANY_NAME = "PHONE", "EMAIL", "NAME", "COMPANY_NAME"
KINDS = {"contact": CONTACT, "company": COMPANY}
MAX_INPUT = 320  # the longest field probed (an email)
MAX_POINTS = 20  # phones or emails probed at once (a record holds at most as many)
CANDIDATES = 20  # rows read per point: enough to show, never a table's worth
SIMILAR_NAMES = 0.5  # pg_trgm similarity of two contacts' name keys within one company
GROUP_SIZE = 20  # records listed per group (`size` says how many there are)


@dataclass(frozen=True)
class Probe:
    """What the form holds so far; any field may be missing."""

    kind: str  # "contact" or "company": what is being created or edited
    name: str | None = None
    company_name: str | None = None  # a contact's company as typed (a company with it exists)
    company_id: uuid.UUID | None = None  # a contact's company as chosen
    phone: str | None = None
    email: str | None = None
    phones: tuple[str, ...] = ()  # every number typed (the form's rows), with `phone`
    emails: tuple[str, ...] = ()
    exclude_id: uuid.UUID | None = None  # the record being edited


def _phone(value: str | None, region: str) -> str | None:
    if not value:
        return None
    try:
        return normalise_phone(value, region)
    except ValueError:
        return None  # half-typed: matches nothing, for everyone alike


def _email(value: str | None) -> str | None:
    if not value or "@" not in value:
        return None
    try:
        return normalise_email(value)
    except ValueError:
        return None


def _phones(p: Probe, region: str) -> tuple[str, ...] | None:
    found = (_phone(v, region) for v in (p.phone, *p.phones))
    return tuple(dict.fromkeys(v for v in found if v)) or None


def _emails(p: Probe, region: str) -> tuple[str, ...] | None:
    found = (_email(v) for v in (p.email, *p.emails))
    return tuple(dict.fromkeys(v for v in found if v)) or None


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


@dataclass(frozen=True)
class MatchPoint:
    """One way a probe can match a record. `value` normalises the probe's side (None: not
    applicable); `condition` is SQL over the record `r` with the value as `%(v)s`, served by an
    index led by tenant_id."""

    attribute: str
    kinds: tuple[str, ...]  # the probe kinds it applies to
    entity: Entity  # the records it finds
    value: Callable[[Probe, str], Any]
    condition: str


POINTS: tuple[MatchPoint, ...] = (
    # Every number and email typed, against the records' primaries (the `phone` / `email`
    # columns `modules.customers.points` mirrors; their other points are not indexed yet: a
    # point for them goes here).
    MatchPoint(PHONE, ("contact",), CONTACT, _phones, "r.phone = any(%(v)s)"),
    MatchPoint(EMAIL, ("contact",), CONTACT, _emails, "r.email = any(%(v)s)"),
    # The same person twice at one company: the same name key there.
    MatchPoint(NAME, ("contact",), CONTACT,
               lambda p, region: (p.company_id, _text(p.name)) if p.company_id and _text(
                   p.name) else None,
               "r.company_id = (%(v)s::text[])[1]::uuid "
               "and r.name_key = customer_name_key((%(v)s::text[])[2])"),
    MatchPoint(COMPANY_NAME, ("contact",), COMPANY, lambda p, region: _text(p.company_name),
               "r.name_key = customer_company_key(%(v)s)"),
    MatchPoint(COMPANY_NAME, ("company",), COMPANY, lambda p, region: _text(p.name),
               "r.name_key = customer_company_key(%(v)s)"),
    MatchPoint(PHONE, ("company",), COMPANY, _phones, "r.phone = any(%(v)s)"),
    MatchPoint(EMAIL, ("company",), COMPANY, _emails, "r.email = any(%(v)s)"),
)


@dataclass(frozen=True)
class DuplicateMatch:
    attribute: str  # PHONE, EMAIL, NAME, COMPANY_NAME
    category: str  # MINE, POOL (nobody owns it) or OTHERS (someone else's)
    entity: str  # "contact" or "company"
    record_id: uuid.UUID | None  # only for a record the caller may see


def _point_sql(i: int, point: MatchPoint) -> str:
    table = point.entity.model.__table__.name
    condition = point.condition.replace("%(v)s", f"%(v{i})s")
    return (f"(select {i} as point, r.id, r.owner_id from {table} r "
            f"where r.tenant_id = %(tenant_id)s and r.deleted_at is null and ({condition}) "
            f"order by r.id limit {CANDIDATES})")


def _value_param(value: Any) -> Any:
    return [str(v) for v in value] if isinstance(value, tuple) else value


def _sees(ctx: CallContext, entity: Entity, owner_id: uuid.UUID | None, id: uuid.UUID) -> bool:
    if entity.reads_all(ctx):
        return True
    found = scopes.loaded(ctx)
    return (owner_id is not None and owner_id in found.owners) or id in found.shared_with(
        entity.name)


async def check(session: AsyncSession, ctx: CallContext, probe: Probe) -> list[DuplicateMatch]:
    """The records `probe` would duplicate: visible ones one by one (own first), the others
    one entry per (attribute, category). For callers who may write records of the kind."""
    entity = KINDS[probe.kind]
    ctx.require(entity.write)
    for name in ("name", "company_name", "phone", "email"):
        value = getattr(probe, name)
        if value is not None and len(value) > MAX_INPUT:
            raise ValidationFailed.single(name, f"at most {MAX_INPUT} characters", "too_long")
    for name in ("phones", "emails"):
        values = getattr(probe, name)
        if len(values) > MAX_POINTS or any(len(v) > MAX_INPUT for v in values):
            raise ValidationFailed.single(
                name, f"at most {MAX_POINTS}, of at most {MAX_INPUT} characters each",
                "too_long")
    points = [(i, p, p.value(probe, ctx.region)) for i, p in enumerate(POINTS)
              if probe.kind in p.kinds]
    points = [(i, p, v) for i, p, v in points if v is not None]
    if not points:
        return []
    await kit_repository.prepare(session, ctx, [p.entity for _, p, _ in points])
    sql = "\nunion all\n".join(_point_sql(i, p) for i, p, _ in points)
    params = {"tenant_id": ctx.tenant_id, **{f"v{i}": _value_param(v) for i, _, v in points}}
    rows = await fetch(session, sql, params, namedtuple_row)
    seen: set[tuple[Any, ...]] = set()
    out: list[DuplicateMatch] = []
    me = ctx.actor.user_id
    for row in rows:
        point = POINTS[row.point]
        category = (POOL if row.owner_id is None else MINE if row.owner_id == me
                    else OTHERS)
        visible = _sees(ctx, point.entity, row.owner_id, row.id)
        if visible and row.id == probe.exclude_id and point.entity is entity:
            continue  # the record being edited (only one the caller may see is excluded)
        key = ((point.attribute, point.entity.name, row.id) if visible
               else (point.attribute, point.entity.name, category))
        if key in seen:
            continue
        seen.add(key)
        out.append(DuplicateMatch(point.attribute, category, point.entity.name,
                                  row.id if visible else None))
    order = {MINE: 0, POOL: 1, OTHERS: 2}
    out.sort(key=lambda m: (order[m.category], m.record_id is None))
    return out


# -- groups among the records the caller may see ---------------------------------------------

_DIALECT = postgresql_psycopg.dialect()


@dataclass(frozen=True)
class DuplicateGroup:
    attribute: str  # EMAIL, PHONE, NAME (contacts of one company), COMPANY_NAME
    key: str  # the shared value (a NAME group: "<company id>:<its first record's id>")
    size: int
    record_ids: list[uuid.UUID]  # at most GROUP_SIZE, oldest first


# Each attribute of a kind: its groups as one ordered, limited scan of the attribute's covering
# index (migration 0014), so a page stops reading as soon as it has its groups, and sorts
# nothing. `{rule}` is the record rule over `r` (and `s`, the pair's other contact).
# Oldest first (ids are UUIDv7), said explicitly: the order array_agg meets rows in is the plan's,
# and a plan other than the index's walk (a heap fetch, a hash aggregate) gave the newest first,
# so the merge screen took the newer record for the survivor. A group is small: its sort costs
# nothing.
_IDS = f"(array_agg(r.id order by r.id))[1:{GROUP_SIZE}]"


def _same(column: str) -> tuple[str, str, str]:
    """(SQL of the groups, the key's SQL, the seek condition)."""
    return (f"""select %(a)s as attribute, r.{column}::text as key, count(*) as size,
                       {_IDS} as ids
                from {{table}} r where {{rule}} and r.{column} is not null {{seek}}
                group by r.{column} having count(*) > 1
                order by r.{column} limit %(limit)s""",
            f"r.{column}", f"and r.{column} > %(k1)s")


# Contacts of one company with the same name key, or a similar one (pg_trgm similarity of the
# keys at least SIMILAR_NAMES) sharing its first character (the surname, for a Chinese name: a
# cheap test that spares most similarity computations). A group is a contact and those after
# it (by id) that pair with it.
_PAIRS = f"""select %(a)s as attribute, r.company_id::text || ':' || r.id::text as key,
                    count(*) + 1 as size,
                    (array[r.id] || array_agg(s.id order by s.id))[1:{GROUP_SIZE}] as ids
             from contacts r join contacts s on s.tenant_id = r.tenant_id
                 and s.company_id = r.company_id and s.id > r.id
             where {{rule}} and {{rule_s}} and r.company_id is not null
               and s.company_id is not null {{seek}}
               and (r.name_key = s.name_key
                    or (left(r.name_key, 1) = left(s.name_key, 1)
                        and similarity(r.name_key, s.name_key) >= {SIMILAR_NAMES}))
             group by r.company_id, r.id
             order by r.company_id, r.id limit %(limit)s"""
_PAIRS_SEEK = "and (r.company_id, r.id) > (%(k1)s::uuid, %(k2)s::uuid)"

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "contact": (EMAIL, NAME, PHONE), "company": (COMPANY_NAME, EMAIL, PHONE)}


def _rule_sql(entity: Entity, alias: str, read_all: bool, shared: bool) -> str:
    rule = kit_repository.record_rule(
        entity, lambda name: literal_column(f'{alias}."{name}"'),
        tenant_id=bindparam("tenant_id"), read_all=read_all,
        owners=bindparam("scope_owners", type_=ARRAY(Uuid)),
        shared=bindparam(f"{entity.name}_shared", type_=ARRAY(Uuid)) if shared else None,
        deleted=kit_repository.LIVE)
    return str(rule.compile(dialect=_DIALECT))


@lru_cache(maxsize=64)
def _groups_sql(kind: str, read_all: bool, shared: bool, after_attribute: str | None) -> str:
    """The page's statement: each attribute at or after the cursor's, in order, each scan
    limited to the page; the cursor's own attribute seeks past its key."""
    entity = KINDS[kind]
    table = entity.model.__table__.name
    rule = _rule_sql(entity, "r", read_all, shared)
    parts = []
    for attribute in ATTRIBUTES[kind]:
        if after_attribute is not None and attribute < after_attribute:
            continue
        here = attribute == after_attribute
        if attribute == NAME:
            sql = _PAIRS.format(rule=rule, rule_s=_rule_sql(entity, "s", read_all, shared),
                                seek=_PAIRS_SEEK if here else "")
        else:
            column = {EMAIL: "email", PHONE: "phone", COMPANY_NAME: "name_key"}[attribute]
            template, _, seek = _same(column)
            sql = template.format(table=table, rule=rule, seek=seek if here else "")
        parts.append("(" + sql.replace("%(a)s", f"'{attribute}'") + ")")
    return (f"select * from ({' union all '.join(parts)}) g "
            "order by g.attribute, g.key limit %(limit)s")


def _decode(after: str) -> tuple[str, str]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)))
        if (not isinstance(values, list) or len(values) != 2
                or not all(isinstance(v, str) for v in values) or values[0] not in (
                    EMAIL, PHONE, NAME, COMPANY_NAME)):
            raise ValueError
        if values[0] == NAME:
            company, first = values[1].split(":")
            uuid.UUID(company), uuid.UUID(first)
        return values[0], values[1]
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise BadRequest("the cursor is not valid for this list", field="after") from None


def encode_cursor(group: DuplicateGroup) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([group.attribute, group.key])).decode(
        ).rstrip("=")


async def groups(session: AsyncSession, ctx: CallContext, *, kind: str, first: int,
                 after: str | None) -> tuple[list[DuplicateGroup], bool]:
    """A page of duplicate groups among the live records of `kind` the caller may see, and
    whether there are more. For those who may write them (a group is there to be merged)."""
    entity = KINDS[kind]
    ctx.require(entity.read)
    ctx.require(entity.write)
    await kit_repository.prepare(session, ctx, (entity,))
    read_all = entity.reads_all(ctx)
    params: dict[str, Any] = {"tenant_id": ctx.tenant_id, "limit": first + 1,
                              **kit_repository.scope_params(entity, ctx)}
    params.setdefault("scope_owners", [])
    shared = bool(params.get(f"{entity.name}_shared"))
    after_attribute = None
    if after:
        after_attribute, key = _decode(after)
        if after_attribute == NAME:
            params["k1"], params["k2"] = key.split(":")
        else:
            params["k1"] = key
    sql = _groups_sql(kind, read_all, shared, after_attribute)
    rows = await fetch(session, sql, params, namedtuple_row)
    found = [DuplicateGroup(r.attribute, r.key, r.size, list(r.ids)) for r in rows[:first]]
    return found, len(rows) > first


# -- the tenant's policy: warn (the default) or block -----------------------------------------

POLICIES = ("warn", "block")
_BLOCKED = {"phone": "phone number", "email": "email address"}


async def policy(session: AsyncSession, ctx: CallContext) -> str:
    rows = await fetch(session, "select duplicate_policy from tenants where id = %(t)s",
                       {"t": ctx.tenant_id}, namedtuple_row)
    return str(rows[0].duplicate_policy) if rows else "warn"


async def set_policy(session: AsyncSession, ctx: CallContext, value: str) -> str:
    """The tenant's policy, set by those who manage the tenant; audited (`tenant.updated`)."""
    ctx.require(Permission.TENANT_MANAGE)
    if value not in POLICIES:
        raise ValidationFailed.single("policy", f"is one of {', '.join(POLICIES)}", "invalid")
    before = await policy(session, ctx)
    if before == value:
        return value
    await session.execute(text("update tenants set duplicate_policy = :p where id = :t"),
                          {"p": value, "t": ctx.tenant_id})
    await record_change(session, ctx, entity_type="tenant", entity_id=ctx.tenant_id,
                        action="updated", before={"duplicate_policy": before},
                        after={"duplicate_policy": value})
    return value


async def refuse_duplicates(session: AsyncSession, ctx: CallContext, entity: Entity,
                            values: dict[str, Any], *, row: Any) -> None:
    """Under the policy `block`: a phone number or email being written (each point, as stored:
    normalised) that another live record of the entity holds as its own is VALIDATION on it
    (`phones.<i>.number`, `emails.<i>.email`, as the points' own errors), whoever's that record
    is (the message says no more than the check would). Each value is locked for the
    transaction (an advisory lock on tenant, entity, field and value), so of two concurrent
    writes of one number the second waits and is refused."""
    sent: list[tuple[str, str, str]] = []  # (column, value, field)
    for column, key, points in (("phone", "number", "phones"), ("email", "email", "emails")):
        if values.get(points):
            sent += [(column, p[key], f"{points}.{i}.{key}")
                     for i, p in enumerate(values[points])]
        elif values.get(column):
            sent.append((column, values[column], column))
    if not sent or await policy(session, ctx) != "block":
        return
    table = entity.model.__table__.name
    errors = []
    for column, value, field in sent:
        await session.execute(text("select pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                              {"k": f"{ctx.tenant_id}:{entity.name}:{column}:{value}"})
        held = await session.scalar(text(
            f"select exists (select 1 from {table} where tenant_id = :t and {column} = :v "
            "and deleted_at is null and id is distinct from :id)"),
            {"t": ctx.tenant_id, "v": value, "id": getattr(row, "id", None)})
        if held:
            errors.append(FieldError(field, f"another {entity.noun} has this "
                                     f"{_BLOCKED[column]}", "taken"))
    if errors:
        raise ValidationFailed(errors)


groups.reads_only = True  # type: ignore[attr-defined]
policy.reads_only = True  # type: ignore[attr-defined]
check.reads_only = True  # type: ignore[attr-defined]

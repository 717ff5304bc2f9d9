"""Merging duplicate contacts (or companies) into one survivor (合并).

The caller names the survivor, the sources (one to MAX_MERGE - 1 more records of the same
kind), and per field which record's value the survivor keeps (by default its own); custom
fields likewise, by key. In one transaction:

1. every record involved is locked and checked as a single write would be: visible to the
   caller (NOT_FOUND otherwise: another tenant's, outside their data scope), writable by them
   (FORBIDDEN for a read-only share), live (CONFLICT for a deleted one);
2. the survivor takes the chosen values (the owner and company rules of an ordinary write
   apply to them) and custom-field values;
3. every registered merge mover (`modules.kit.merge`) moves what hung on the sources:
   interactions and survey answers, tags, shares, a company's contacts, and later deals and
   orders;
4. the sources are soft-deleted, `merged_into` the survivor, each with an audit row holding
   everything it held (`merged_away`, event `contact.merged_away`), and the survivor's audit
   row holds its before and after, the sources' ids and what moved (`merged`, event
   `contact.merged`).

Merging needs the write permission only (as editing both records would): deleting the sources
is the merge's own consequence, audited as such, and restorable by whoever may restore.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from infra.errors import AppError, FieldError, ValidationFailed
from infra.global_ids import to_global_id
from modules.customers.entities import COMPANY, CONTACT
from modules.customers.service import companies, contacts
from modules.kit import custom_values
from modules.kit.merge import MergeMover, movers_of, register_mover
from modules.kit.service import EntityService
from tenancy.audit import record_change
from tenancy.context import CallContext

MAX_MERGE = 10  # records in one merge, the survivor included
FIELDS = {
    "contact": ("name", "phones", "emails", "gender", "birthday", "title", "address", "notes",
                "company_id", "owner_id"),
    "company": ("name", "domain", "industry", "phones", "emails", "address", "notes",
                "owner_id"),
}
ALIASES = {"phone": "phones", "email": "emails"}  # a record's primary goes with its list
_MIRRORED = {"phones": "phone", "emails": "email"}  # modules.customers.points
_SERVICES: dict[str, EntityService[Any]] = {"contact": contacts, "company": companies}
MERGED, MERGED_AWAY = "merged", "merged_away"


def _refused(exc: AppError, where: str) -> AppError:
    """The same refusal, naming which of the merge's records it is about."""
    return type(exc)(exc.message, field=where)


async def merge(session: AsyncSession, ctx: CallContext, *, kind: str,
                survivor_id: uuid.UUID, source_ids: Sequence[uuid.UUID],
                keep: dict[str, uuid.UUID] | None = None,
                keep_custom: dict[str, uuid.UUID] | None = None) -> Any:
    """Merge `source_ids` into `survivor_id`; `keep`: field (column name) -> the record whose
    value the survivor keeps; `keep_custom`: custom field key -> the record. The survivor."""
    service = _SERVICES[kind]
    entity = service.entity
    ctx.require(entity.read)
    ctx.require(entity.write)
    keep = {ALIASES.get(k, k): v for k, v in (keep or {}).items()}
    keep_custom = dict(keep_custom or {})
    sources = list(source_ids)
    ids = [survivor_id, *sources]
    errors = []
    if not sources:
        errors.append(FieldError("sourceIds", "names at least one record to merge", "required"))
    if len(ids) > MAX_MERGE:
        errors.append(FieldError("sourceIds", f"at most {MAX_MERGE - 1} records at once",
                                 "too_many"))
    if survivor_id in sources:
        errors.append(FieldError("sourceIds", "holds the survivor: a record cannot be merged "
                                 "with itself", "same"))
    if len(set(sources)) != len(sources):
        errors.append(FieldError("sourceIds", "names a record twice", "duplicate"))
    for name, record_id in keep.items():
        if name not in FIELDS[kind]:
            errors.append(FieldError(f"keep.{name}", "is not a field merges choose", "invalid"))
        elif record_id not in ids:
            errors.append(FieldError(f"keep.{name}", "names a record not in this merge",
                                     "invalid"))
    for key, record_id in keep_custom.items():
        if record_id not in ids:
            errors.append(FieldError(f"keepCustomFields.{key}",
                                     "names a record not in this merge", "invalid"))
    if errors:
        raise ValidationFailed(errors)

    rows: dict[uuid.UUID, Any] = {}
    where = {survivor_id: "survivorId", **{s: f"sourceIds.{i}" for i, s in enumerate(sources)}}
    for record_id in sorted(ids):  # one lock order for every merge: no deadlock between two
        try:
            rows[record_id] = await service.live(session, ctx, record_id)
        except AppError as exc:
            raise _refused(exc, where[record_id]) from None
    survivor = rows[survivor_id]
    tags = await _tag_ids(session, ctx, kind, ids)
    befores = {i: {**await service.full_snapshot(session, ctx, rows[i]), "tag_ids": tags[i]}
               for i in ids}

    chosen = {**keep, **{_MIRRORED[k]: v for k, v in keep.items() if k in _MIRRORED}}
    changes = {name: getattr(rows[record_id], name) for name, record_id in chosen.items()
               if getattr(rows[record_id], name) != getattr(survivor, name)}
    custom_changes = await _custom_changes(session, ctx, kind, survivor_id, keep_custom, ids)

    moved: dict[str, int] = {}
    for mover in movers_of(entity.name):
        moved[mover.name] = await mover.move(session, ctx, sources, survivor_id)

    now = await service._now(session)
    for source in sources:
        row = rows[source]
        row.deleted_at = now
        row.merged_into = survivor_id
    await service.flush(session)
    # The chosen values, checked as an ordinary write checks them (owner, company; under the
    # policy `block`, a phone or email no other live record holds: the sources are gone now).
    if changes:
        await service.check(session, ctx, changes, row=survivor)
    for name, value in changes.items():
        setattr(survivor, name, value)
    survivor.updated_at = now
    await service.flush(session)
    await custom_values.write(session, ctx, survivor_id, custom_changes)

    for source in sources:
        await service.record(session, ctx, rows[source], MERGED_AWAY, befores[source],
                             {**befores[source], **service.snapshot(rows[source])})
    merged_from = [to_global_id(entity.type_name, s) for s in sources]
    after = {**await service.full_snapshot(session, ctx, survivor),
             "tag_ids": (await _tag_ids(session, ctx, kind, [survivor_id]))[survivor_id],
             "merged_from": merged_from, "moved": moved}
    before = befores[survivor_id]
    await record_change(session, ctx, entity_type=entity.name, entity_id=survivor_id,
                        action=MERGED, before=before, after=after)
    return survivor


_TAGS = {"contact": ("contact_tags", "contact_id"), "company": ("company_tags", "company_id")}


async def _tag_ids(session: AsyncSession, ctx: CallContext, kind: str,
                   ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Each record's tags (global ids), for the audit rows: what a source held goes with it."""
    table, key = _TAGS[kind]
    rows = await session.execute(text(
        f"select {key}, tag_id from {table} where tenant_id = :t and {key} = any(:ids) "
        f"order by tag_id"), {"t": ctx.tenant_id, "ids": list(ids)})
    out: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    for record_id, tag_id in rows:
        out[record_id].append(to_global_id("Tag", tag_id))
    return out


async def _custom_changes(session: AsyncSession, ctx: CallContext, kind: str,
                          survivor_id: uuid.UUID, keep_custom: dict[str, uuid.UUID],
                          ids: list[uuid.UUID]) -> dict[custom_values.Definition, Any]:
    """The custom-field values the survivor takes from another record. A value taken from a
    source leaves the source (a unique field's value can be held once); the source's audit
    row keeps it."""
    if not keep_custom:
        return {}
    defs = {d.key: d for d in await custom_values.definitions(session, ctx, kind)}
    unknown = [k for k in keep_custom if k not in defs]
    if unknown:
        raise ValidationFailed([FieldError(f"keepCustomFields.{k}", "no such field",
                                           "not_found") for k in unknown])
    # A sensitive value is read masked and sealed to its own record (modules/pii): moving it
    # would write the mask over the survivor's value and delete the source's. The survivor keeps
    # its own, as for the ID number and personal notes.
    sealed = [k for k, r in keep_custom.items() if defs[k].sensitive and r != survivor_id]
    if sealed:
        raise ValidationFailed([FieldError(
            f"keepCustomFields.{k}", "is sensitive: a merge keeps the survivor's own value",
            "not_applicable") for k in sealed])
    held = dict(zip(ids, await custom_values.read(session, ctx, kind, ids), strict=True))

    def value_of(record_id: uuid.UUID, key: str) -> Any:
        return next((v.value for v in held[record_id] if v.field.key == key), None)

    out: dict[custom_values.Definition, Any] = {}
    for key, record_id in keep_custom.items():
        if record_id == survivor_id:
            continue
        value = value_of(record_id, key)
        if value == value_of(survivor_id, key):
            continue
        out[defs[key]] = value
        await session.execute(
            text("delete from custom_field_values where tenant_id = :t and record_id = :r "
                 "and field_id = :f"),
            {"t": ctx.tenant_id, "r": record_id, "f": defs[key].id})
    return out


# -- what moves with a merge: the customers' own references ------------------------------------

def _relink(table: str, owner_key: str) -> Any:
    """Links (tags): the survivor gets each source's link it lacks; the sources' go."""

    async def move(session: AsyncSession, ctx: CallContext, sources: Sequence[uuid.UUID],
                   survivor: uuid.UUID) -> int:
        params = {"t": ctx.tenant_id, "s": list(sources), "v": survivor}
        await session.execute(text(
            f"insert into {table} (tenant_id, {owner_key}, tag_id) "
            f"select distinct tenant_id, :v, tag_id from {table} "
            f"where tenant_id = :t and {owner_key} = any(:s) on conflict do nothing"), params)
        result: Any = await session.execute(text(
            f"delete from {table} where tenant_id = :t and {owner_key} = any(:s)"), params)
        return int(result.rowcount or 0)

    return move


def _reshare(entity_name: str) -> Any:
    """Shares of a source become the survivor's, unless the same member or department has
    one on the survivor already (the survivor's stays)."""

    async def move(session: AsyncSession, ctx: CallContext, sources: Sequence[uuid.UUID],
                   survivor: uuid.UUID) -> int:
        params = {"t": ctx.tenant_id, "s": list(sources), "v": survivor, "e": entity_name}
        result: Any = await session.execute(text("""
            update record_shares rs set record_id = :v, updated_at = now()
            where rs.tenant_id = :t and rs.entity_type = :e and rs.record_id = any(:s)
              and rs.id = (select min(o.id::text)::uuid from record_shares o
                           where o.tenant_id = rs.tenant_id and o.entity_type = rs.entity_type
                             and o.record_id = any(:s)
                             and o.user_id is not distinct from rs.user_id
                             and o.department_id is not distinct from rs.department_id)
              and not exists (select 1 from record_shares o
                              where o.tenant_id = rs.tenant_id and o.entity_type = :e
                                and o.record_id = :v
                                and o.user_id is not distinct from rs.user_id
                                and o.department_id is not distinct from rs.department_id)"""),
            params)
        await session.execute(text(
            "delete from record_shares where tenant_id = :t and entity_type = :e "
            "and record_id = any(:s)"), params)
        return int(result.rowcount or 0)

    return move


async def _company_contacts(session: AsyncSession, ctx: CallContext,
                            sources: Sequence[uuid.UUID], survivor: uuid.UUID) -> int:
    """A merged company's contacts (deleted ones too) work at the survivor now."""
    result: Any = await session.execute(text(
        "update contacts set company_id = :v, updated_at = now() "
        "where tenant_id = :t and company_id = any(:s)"),
        {"t": ctx.tenant_id, "s": list(sources), "v": survivor})
    return int(result.rowcount or 0)


for _entity in (CONTACT, COMPANY):
    register_mover(MergeMover("tags", _entity.name, _relink(*_TAGS[_entity.name])))
    register_mover(MergeMover("shares", _entity.name, _reshare(_entity.name)))
register_mover(MergeMover("contacts", COMPANY.name, _company_contacts))

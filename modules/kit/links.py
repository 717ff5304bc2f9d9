"""To-many relations between declared entities, through a tenant-owned join table.

A `Link` is declared once, next to its target (tags declare `contact_tags`), and gives:
- each owner's list of targets, for a per-request data loader: one query per batch of owners,
  only targets the caller may see, never deleted ones (`linked`);
- a list filter for the owner's entity: owners linked to any of some targets (`LinkedTo`);
- attach and detach (`LinkService`): idempotent, checked against both entities' permissions
  and record rules, and audited and evented on the owner (`contact.tagged`), with the ids of
  its targets before and after.

The join table has the primary key `(tenant_id, <owner key>, <target key>)`, composite foreign
keys to both tables, and an index `(tenant_id, <target key>, <owner key>)` for `LinkedTo`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from psycopg.rows import tuple_row
from sqlalchemy import (
    Boolean,
    Uuid,
    and_,
    any_,
    bindparam,
    delete,
    exists,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from infra.db import fetch
from infra.errors import FieldError, ValidationFailed
from modules.kit import registry, repository
from modules.kit.entity import Entity, Filter, camel
from modules.kit.repository import (
    _DIALECT,
    LIVE,
    prepare,
    record_rule,
    row_type,
    scope_params,
)
from tenancy.context import CallContext


@dataclass(eq=False)
class Link:
    """Records of the entity named `owner` carry any number (at most `limit`) of `target`
    records, through the join table `model` (see the module docstring for its keys).

    name        its data loader's name (`loaders.contact_tags`); unique among entities and links
    owner       the owner entity's name: a module can declare links to an entity without
                importing that entity's module (which may import it back for `LinkedTo`)
    field       how the targets' ids read in the API: the mutations' argument, audit rows and
                events (`tagIds`)
    actions     the audit actions (and event suffixes) of attach and detach
    order       the target's sort (by name in `target.sorts`) that owners' lists follow
    limit       live targets one owner may carry: the owner's list is a plain list, bounded here
    """

    name: str
    model: Any
    owner: str
    owner_key: str
    target: Entity
    target_key: str
    field: str
    actions: tuple[str, str] = ("linked", "unlinked")
    order: str = "NAME_ASC"
    limit: int = 50

    def __post_init__(self) -> None:
        if self.order not in self.target.sort_by_name:
            raise ValueError(f"{self.name}: {self.target.name} has no sort {self.order}")
        registry.register_link(self)

    @property
    def owner_entity(self) -> Entity:
        found = registry.by_name(self.owner)
        if found is None:
            raise LookupError(f"{self.name}: no entity {self.owner!r} is declared")
        return found

    def owner_column(self, table: Any = None) -> Any:
        return getattr(table if table is not None else self.model, self.owner_key)

    def target_column(self, table: Any = None) -> Any:
        return getattr(table if table is not None else self.model, self.target_key)


def _visible_target(link: Link, target: Any, link_table: Any, prefix: str
                    ) -> ColumnElement[bool]:
    """The target row `target` (an alias) linked by `link_table`'s row, if the caller may see
    it and it is live; parameters `tenant_id`, `<prefix>_read`, `<prefix>_read_all`,
    `scope_owners` and `<prefix>_shared` (`_target_params`)."""
    entity = link.target
    return and_(
        bindparam(f"{prefix}_read", type_=Boolean),
        target.id == link.target_column(link_table),
        record_rule(entity, lambda name: getattr(target, name),
                    tenant_id=bindparam("tenant_id"),
                    read_all=bindparam(f"{prefix}_read_all", type_=Boolean),
                    owners=bindparam("scope_owners", type_=ARRAY(Uuid)),
                    shared=bindparam(f"{prefix}_shared", type_=ARRAY(Uuid)), deleted=LIVE))


def _target_params(link: Link, ctx: CallContext, prefix: str) -> dict[str, Any]:
    """The target's rule's parameters (its visibility loaded first where it reads it)."""
    target = link.target
    # `scope_owners` only from `scope_params` (when the target's rule reads it): it is the
    # caller's, shared with the owner's own rule, which a default here would overwrite.
    return {f"{prefix}_read": ctx.can(target.read), f"{prefix}_read_all": target.reads_all(ctx),
            **scope_params(target, ctx, prefix)}


# -- owners' lists, for data loaders ------------------------------------------------------

@lru_cache(maxsize=64)
def _linked_sql(link: Link) -> str:
    target = aliased(link.target.model, name="t")
    table = link.model
    sort = link.target.sort_by_name[link.order]
    keys = sort.expressions(target)
    stmt = (select(link.owner_column(), *(getattr(target, c) for c in link.target.columns))
            .join(target, _visible_target(link, target, table, "target"))
            .where(table.tenant_id == bindparam("tenant_id"),
                   link.owner_column() == any_(bindparam("ids", type_=ARRAY(Uuid))))
            .order_by(link.owner_column(),
                      *(k.desc() if sort.descending else k.asc() for k in keys)))
    return str(stmt.compile(dialect=_DIALECT))


async def linked(session: Any, ctx: CallContext, link: Link, owner_ids: Sequence[uuid.UUID]
                 ) -> list[list[Any]]:
    """For each owner id, its live targets the caller may see (rows as lists and loaders read
    them), in the link's order: one query for the whole batch."""
    await prepare(session, ctx, (link.target,))
    params = {"tenant_id": ctx.tenant_id, "actor_user_id": ctx.actor.user_id,
              "scope_owners": [], "ids": list(owner_ids), **_target_params(link, ctx, "target")}
    make = row_type(link.target)
    found: dict[uuid.UUID, list[Any]] = {}
    for row in await fetch(session, _linked_sql(link), params, tuple_row):
        found.setdefault(row[0], []).append(make(*row[1:]))
    return [found.get(i, []) for i in owner_ids]


# -- the owner's list filter ---------------------------------------------------------------

@dataclass(frozen=True)
class LinkedTo(Filter):
    """Owners linked to at least one of the given targets (live, and visible to the caller);
    an `EXISTS` on the join table's primary key, or its `(tenant_id, target, owner)` index."""

    link: Link
    most: int = 100  # ids one condition may name

    def id_type(self) -> str | None:
        return self.link.target.type_name

    def clause(self, model: Any, name: str) -> ColumnElement[bool]:
        link, table = self.link, self.link.model
        target = aliased(link.target.model, name=f"{name}_target")
        return exists(
            select(true()).select_from(table)
            .join(target, _visible_target(link, target, table, name))
            .where(table.tenant_id == model.tenant_id, link.owner_column() == model.id,
                   link.target_column() == any_(bindparam(name, type_=ARRAY(Uuid)))))

    def params(self, name: str, value: Any, ctx: CallContext) -> dict[str, Any]:
        ids = list(dict.fromkeys(value))
        if len(ids) > self.most:
            raise ValidationFailed.single(f"filter.{camel(name)}",
                                          f"names at most {self.most} ids", "too_many")
        return {name: ids, **_target_params(self.link, ctx, name)}


# -- attach and detach ---------------------------------------------------------------------

class LinkService:
    """Attach and detach for one link. Both need the owner entity's write permission and the
    target's read permission, act only on an owner the caller may edit (locked for the rest of
    the transaction, so concurrent changes to one owner's links take turns), and answer the
    owner. Idempotent: what is already so changes nothing and writes no audit row."""

    def __init__(self, link: Link) -> None:
        self.link = link

    def _require(self, ctx: CallContext) -> None:
        ctx.require(self.link.owner_entity.write)
        ctx.require(self.link.target.read)

    async def _owner(self, session: AsyncSession, ctx: CallContext, owner_id: uuid.UUID) -> Any:
        """The owner, locked: NOT_FOUND if the caller may not see it, CONFLICT if deleted."""
        return await registry.service_of(self.link.owner_entity).live(session, ctx, owner_id)

    async def _stored(self, session: AsyncSession, ctx: CallContext, owner_id: uuid.UUID
                      ) -> dict[uuid.UUID, bool]:
        """The owner's links as stored (by target id, in id order): whether each target is
        live (a deleted target's link stays, hidden, and comes back with a restore)."""
        link, target = self.link, self.link.target.model
        live = target.deleted_at.is_(None) if self.link.target.soft_deletes else true()
        rows = await session.execute(
            select(link.target_column(), live)
            .join(target, and_(target.tenant_id == link.model.tenant_id,
                               target.id == link.target_column()))
            .where(link.model.tenant_id == ctx.tenant_id, link.owner_column() == owner_id)
            .order_by(link.target_column()))
        return {target_id: bool(is_live) for target_id, is_live in rows}

    async def _record(self, session: AsyncSession, ctx: CallContext, owner: Any,
                      action: str, before: Sequence[uuid.UUID], after: Sequence[uuid.UUID]
                      ) -> None:
        """The owner's audit row and event, as its own writes have them: the targets the API
        shows before and after (live ones; links to deleted targets stay hidden)."""
        from graphql_api.relay import to_global_id  # the one encoding of global ids

        type_name, field = self.link.target.type_name, self.link.field
        await registry.service_of(self.link.owner_entity).record(
            session, ctx, owner, action,
            {field: [to_global_id(type_name, i) for i in before]},
            {field: [to_global_id(type_name, i) for i in after]})

    async def attach(self, session: AsyncSession, ctx: CallContext, owner_id: uuid.UUID,
                     target_ids: Sequence[uuid.UUID]) -> Any:
        """Links these targets (live, visible to the caller) to the owner."""
        self._require(ctx)
        link, entity = self.link, self.link.target
        ids = list(dict.fromkeys(target_ids))
        if len(ids) > link.limit:
            raise ValidationFailed.single(link.field, f"at most {link.limit} at once",
                                          "too_many")
        owner = await self._owner(session, ctx, owner_id)
        await prepare(session, ctx, (entity,))
        visible = set(await session.scalars(
            repository.visible(entity, ctx).with_only_columns(entity.model.id)
            .where(entity.model.id.in_(ids))))
        if missing := [i for i in ids if i not in visible]:
            from graphql_api.relay import to_global_id

            raise ValidationFailed([FieldError(
                link.field, f"no {entity.noun} with id {to_global_id(entity.type_name, i)}",
                "not_found") for i in missing])
        stored = await self._stored(session, ctx, owner_id)
        new = [i for i in ids if i not in stored]
        if not new:
            return owner
        # Links to deleted targets count: they come back with a restore.
        if len(stored) + len(new) > link.limit:
            raise ValidationFailed.single(
                link.field, f"a {link.owner_entity.noun} carries at most {link.limit} "
                "(links to deleted ones included: they come back when restored)", "too_many")
        await session.execute(
            insert(link.model).values([{"tenant_id": ctx.tenant_id, link.owner_key: owner_id,
                                        link.target_key: i} for i in new])
            .on_conflict_do_nothing())
        shown = [i for i, live in stored.items() if live]
        await self._record(session, ctx, owner, link.actions[0], shown, sorted([*shown, *new]))
        return owner

    async def detach(self, session: AsyncSession, ctx: CallContext, owner_id: uuid.UUID,
                     target_ids: Sequence[uuid.UUID]) -> Any:
        """Unlinks these targets from the owner; ids it does not carry are ignored (so another
        tenant's ids, or made-up ones, are answered like any target not linked)."""
        self._require(ctx)
        link = self.link
        owner = await self._owner(session, ctx, owner_id)
        stored = await self._stored(session, ctx, owner_id)
        gone = [i for i in dict.fromkeys(target_ids) if i in stored]
        if not gone:
            return owner
        await session.execute(
            delete(link.model).where(link.model.tenant_id == ctx.tenant_id,
                                     link.owner_column() == owner_id,
                                     link.target_column().in_(gone)))
        shown = [i for i, live in stored.items() if live]
        await self._record(session, ctx, owner, link.actions[1], shown,
                           [i for i in shown if i not in gone])
        return owner


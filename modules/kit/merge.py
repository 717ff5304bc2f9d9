"""Merge movers: what else points at a record, and how it moves to a merge's survivor.

A merge of duplicates (`modules.customers.merge`) keeps one record and soft-deletes the
others; everything that hung on the others (interactions, tags, shares, and later deals and
orders) must hang on the survivor afterwards. Each module that holds such references registers
a mover here, at import, next to its own tables; the merge runs every mover of the entity in
its transaction. A module added later (deals, orders) adds one `register_mover` call and
nothing else changes:

    register_mover(MergeMover("deals", "contact", move_deals_of_contacts))

A mover runs as the merging caller, inside the merge's transaction, after every record involved
was locked and checked: it moves every row of the sources whoever may see it (an interaction
logged by a colleague moves with its customer), and answers how many it moved (shown in the
survivor's audit row). It must be idempotent for rows already on the survivor (a link the
survivor holds too is dropped from the source, not duplicated).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tenancy.context import CallContext

Move = Callable[[AsyncSession, CallContext, Sequence[uuid.UUID], uuid.UUID], Awaitable[int]]


@dataclass(frozen=True)
class MergeMover:
    name: str  # what it moves, as the audit row names it ("interactions", "tags")
    entity: str  # the merged entity's name ("contact", "company")
    move: Move  # (session, ctx, source ids, survivor id) -> rows moved


_MOVERS: dict[tuple[str, str], MergeMover] = {}


def register_mover(mover: MergeMover) -> None:
    """Register (or, on a re-import, replace) the mover `mover.name` of `mover.entity`."""
    _MOVERS[(mover.entity, mover.name)] = mover


def movers_of(entity: str) -> list[MergeMover]:
    """The movers of `entity`'s merges, in the order registered."""
    return [m for (e, _), m in _MOVERS.items() if e == entity]

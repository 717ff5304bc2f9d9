"""One timeline per customer: its interactions, survey answers and the changes to its record
(from the audit log), newest first, in keyset pages over (time, kind, id).

Each source is a branch: a query of its own, under its own record rule, that seeks past the
cursor on its own `(tenant_id, <customer>, <time> desc, id desc)` index and stops at a page
and one row; one statement unites the branches and keeps the newest. Deals and orders add a
branch each (`_BRANCHES`), nothing else changes. What a page names is then loaded in batches,
one query per kind (data loaders), never one per entry.

A company's timeline includes the interactions and answers logged on its contacts; its
changes are those of the company record itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import args_row
from sqlalchemy.ext.asyncio import AsyncSession

from infra.db import fetch
from infra.errors import BadRequest
from infra.pagination import Page, SortKey, build_page, decode_cursor
from modules.interactions.entities import INTERACTION, SURVEY_RESPONSE
from modules.interactions.service import CustomerRef, resolve_customer
from modules.kit import repository as kit_repository
from tenancy.context import CallContext

INTERACTION_KIND, SURVEY_KIND, CHANGE_KIND = "interaction", "survey", "change"
KINDS = (INTERACTION_KIND, SURVEY_KIND, CHANGE_KIND)
_CURSOR = SortKey("TIMELINE", (), (datetime, str, uuid.UUID), True)


@dataclass(frozen=True)
class Change:
    """An audit row of the customer's record, as the timeline shows it."""

    id: uuid.UUID
    occurred_at: datetime
    actor_type: str
    actor_id: uuid.UUID | None
    actor_label: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    id: uuid.UUID
    change: Change | None = None  # a change's audit row, read with the page


def _seek(kind: str, time: str, cursor: Entry | None, params: dict[str, Any]) -> str:
    """Rows of a branch whose kind is `kind` that come after the cursor in
    (time desc, kind desc, id desc): a condition on (time, id) alone, which the branch's index
    serves."""
    if cursor is None:
        return ""
    params["c_at"], params["c_id"] = cursor.at, cursor.id
    if kind < cursor.kind:
        return f" and {time} <= %(c_at)s"
    if kind > cursor.kind:
        return f" and {time} < %(c_at)s"
    return f" and ({time}, id) < (%(c_at)s, %(c_id)s)"


def _owned(entity: Any, ctx: CallContext) -> str:
    """The kit's record rule for the owner: the owners the caller's data scope reaches and
    the records shared with them (parameters from `kit_repository.scope_params`)."""
    if entity.reads_all(ctx):
        return "true"
    return (f"(owner_id = any(%(scope_owners)s::uuid[]) "
            f"or id = any(%({entity.name}_shared)s::uuid[]))")


def _customer(customer: CustomerRef) -> str:
    if customer.kind == "contact":
        return "contact_id = %(customer_id)s"
    return ("(company_id = %(customer_id)s or contact_id in (select id from contacts "
            "where tenant_id = %(tenant_id)s and company_id = %(customer_id)s))")


def _interactions(ctx: CallContext, customer: CustomerRef, cursor: Entry | None,
                  params: dict[str, Any]) -> str | None:
    if not ctx.can(INTERACTION.read):
        return None
    return (f"select occurred_at as at, '{INTERACTION_KIND}'::text as kind, id from interactions "
            f"where tenant_id = %(tenant_id)s and deleted_at is null "
            f"and {_owned(INTERACTION, ctx)} and {_customer(customer)}"
            f"{_seek(INTERACTION_KIND, 'occurred_at', cursor, params)} "
            "order by occurred_at desc, id desc limit %(limit)s")


def _surveys(ctx: CallContext, customer: CustomerRef, cursor: Entry | None,
             params: dict[str, Any]) -> str | None:
    if not ctx.can(SURVEY_RESPONSE.read):
        return None
    return (f"select responded_at as at, '{SURVEY_KIND}'::text as kind, id "
            f"from survey_responses where tenant_id = %(tenant_id)s and deleted_at is null "
            f"and {_owned(SURVEY_RESPONSE, ctx)} and {_customer(customer)}"
            f"{_seek(SURVEY_KIND, 'responded_at', cursor, params)} "
            "order by responded_at desc, id desc limit %(limit)s")


def _changes(ctx: CallContext, customer: CustomerRef, cursor: Entry | None,
             params: dict[str, Any]) -> str | None:
    """The record's own history: shown to whoever may see the record (its images hold what
    the record's reader reads anyway: the kit leaves secrets out of them), not only to
    readers of the whole audit log."""
    params["entity_type"] = customer.kind
    return (f"select occurred_at as at, '{CHANGE_KIND}'::text as kind, id from audit_log "
            "where tenant_id = %(tenant_id)s and entity_type = %(entity_type)s "
            f"and entity_id = %(customer_id)s{_seek(CHANGE_KIND, 'occurred_at', cursor, params)}"
            " order by occurred_at desc, id desc limit %(limit)s")


Branch = Callable[[CallContext, CustomerRef, Entry | None, dict[str, Any]], str | None]
_BRANCHES: dict[str, Branch] = {INTERACTION_KIND: _interactions, SURVEY_KIND: _surveys,
                                CHANGE_KIND: _changes}


def decode(after: str | None) -> Entry | None:
    if not after:
        return None
    at, kind, id = decode_cursor(after, _CURSOR)
    if kind not in KINDS:
        raise BadRequest("the cursor is not valid for this list and sort", field="after")
    return Entry(at, kind, id)


async def timeline(session: AsyncSession, ctx: CallContext, customer: CustomerRef, *,
                   first: int, after: str | None, kinds: Sequence[str] | None = None
                   ) -> Page[Entry]:
    """A page of the customer's timeline, newest first. NOT_FOUND for a customer the caller
    may not see; each source under its own record rule (a sales user sees the interactions
    and answers they logged)."""
    await resolve_customer(session, ctx, customer)
    cursor = decode(after)
    await kit_repository.prepare(session, ctx, (INTERACTION, SURVEY_RESPONSE))
    params: dict[str, Any] = {"tenant_id": ctx.tenant_id, "actor_user_id": ctx.actor.user_id,
                              "customer_id": customer.id, "limit": first + 1,
                              "scope_owners": [],
                              **kit_repository.scope_params(INTERACTION, ctx),
                              **kit_repository.scope_params(SURVEY_RESPONSE, ctx)}
    wanted = [k for k in KINDS if not kinds or k in kinds]
    branches = [sql for k in wanted if (sql := _BRANCHES[k](ctx, customer, cursor, params))]
    if not branches or first == 0:
        return build_page([], _key, first, after)
    union = " union all ".join(f"({sql})" for sql in branches)
    rows = await fetch(session, f"select at, kind, id from ({union}) as entries "
                                'order by at desc, kind collate "C" desc, id desc limit %(limit)s',
                       params, args_row(Entry))
    changed = [r.id for r in rows[:first] if r.kind == CHANGE_KIND]
    if changed:
        # The page's changes in one query: rows the branch above just admitted.
        found = {c.id: c for c in await fetch(
            session, _CHANGES_SQL, {"tenant_id": ctx.tenant_id, "ids": changed},
            args_row(Change))}
        rows = [Entry(r.at, r.kind, r.id, found.get(r.id)) for r in rows]
    return build_page(rows, _key, first, after)


def _key(entry: Entry) -> tuple[Any, ...]:
    return (entry.at, entry.kind, entry.id)


_CHANGES_SQL = ("select id, occurred_at, actor_type, actor_id, actor_label, action, before, "
                "after from audit_log where tenant_id = %(tenant_id)s and id = any(%(ids)s)")


"""What a caller's data scope and the records shared with them let them see: computed once per
request, in one query, the first time a record rule needs it, and read by `record_rule` in all
its forms (lists, counts, lookups, loaders, rendered joins) as parameters.

A role's data scope (`roles.data_scope`) names the owners whose records its members see:

own              their own records
subordinates     theirs and those of everyone who reports to them, directly or not
                 (`memberships.superior_id`, followed down the chain)
department       theirs and those of every member of their department (the one they belong
                 to, and those they manage)
department_tree  the same, with every department under those, at any depth
all              every record (the `<area>:read_all` permissions, kept in step with it)

Records shared with them (`record_shares`) come on top: with them directly, or with their
department or one above it (a share with 销售部 reaches its 华东组 too). A read-only share lets
them read, not change.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from infra.db import fetch
from tenancy.context import CallContext

# The parts of the one visibility query; the owners' part depends on the scope. A caller whose
# scope the authenticator read (`Actor.data_scope`, with the role) sends the query of that
# scope only: small, planned in no time. Otherwise the scope is read with it (`_ANY_SCOPE`).
_MINE = """(select department_id from memberships
            where tenant_id = %(tenant_id)s and user_id = %(user_id)s
            union all
            select department_id from department_managers
            where tenant_id = %(tenant_id)s and user_id = %(user_id)s)"""
_TREE = f"""(with recursive tree(id) as (
                select department_id from {_MINE} mine where department_id is not null
                union
                select d.id from departments d join tree on d.parent_id = tree.id
                where d.tenant_id = %(tenant_id)s)
            select id from tree)"""
_OWNERS = {
    "own": "array[%(user_id)s::uuid]",
    "subordinates": """array(
        with recursive reports(id) as (
            select %(user_id)s::uuid
            union
            select m.user_id from memberships m join reports on m.superior_id = reports.id
            where m.tenant_id = %(tenant_id)s)
        select id from reports)""",
    "department": f"""array(
        select user_id from memberships
        where tenant_id = %(tenant_id)s and department_id in {_MINE}
        union select %(user_id)s::uuid)""",
    "department_tree": f"""array(
        select user_id from memberships
        where tenant_id = %(tenant_id)s and department_id in {_TREE}
        union select %(user_id)s::uuid)""",
    "all": "array(select user_id from memberships where tenant_id = %(tenant_id)s)",
}
_SHARES = """(select coalesce(json_agg(json_build_array(rs.entity_type, rs.access, rs.record_id)),
                             '[]')::text
     from record_shares rs
     where rs.tenant_id = %(tenant_id)s
       and (rs.user_id = %(user_id)s or rs.department_id = any(array(
            with recursive above(id) as (  -- their department and those above it
                select department_id from memberships
                where tenant_id = %(tenant_id)s and user_id = %(user_id)s
                  and department_id is not null
                union
                select d.parent_id from departments d join above on d.id = above.id
                where d.tenant_id = %(tenant_id)s and d.parent_id is not null)
            select id from above))))"""
SCOPED_SQL = {scope: f"select %(scope)s::text as scope, {owners} as owners, {_SHARES} as shares"
              for scope, owners in _OWNERS.items()}
_ROLE_SCOPE = """(select r.data_scope from memberships m
                  join roles r on r.tenant_id = m.tenant_id and r.id = m.role_id
                  where m.tenant_id = %(tenant_id)s and m.user_id = %(user_id)s
                    and m.status = 'active')"""
_ANY_SCOPE = (f"select {_ROLE_SCOPE} as scope, case {_ROLE_SCOPE} "
              + " ".join(f"when '{scope}' then {owners}" for scope, owners in _OWNERS.items())
              + f" else array[]::uuid[] end as owners, {_SHARES} as shares")


def visibility_sql(scope: str | None) -> str:
    return SCOPED_SQL.get(scope or "", _ANY_SCOPE)


def with_the_caller(user_sql: str, scope_sql: str) -> str:
    """Select-list columns `scope_owners` and `scope_shares` computing the visibility of the
    user `user_sql` whose role's scope is `scope_sql` (SQL over the statement's own rows), null
    for the scope `all`: the session's authentication reads them with the caller, so a
    request pays no round trip of its own for them (`tenancy.auth.SESSION_SQL`)."""
    def bind(sql: str) -> str:
        return sql.replace("%(user_id)s", user_sql)

    owners = " ".join(f"when '{scope}' then {bind(sql)}" for scope, sql in _OWNERS.items()
                      if scope != "all")
    return (f"case {scope_sql} {owners} end as scope_owners, "
            f"case when {scope_sql} = 'all' then null else {bind(_SHARES)} end as scope_shares")


def from_columns(scope: str, owners: Any, shares: str | None) -> Visibility | None:
    """The visibility read by `with_the_caller` (None for the scope `all`)."""
    if shares is None:
        return None
    return _visibility(scope, owners, shares)


@dataclass(frozen=True)
class Visibility:
    """The owners whose records the caller sees, and the records shared with them."""

    scope: str
    owners: tuple[uuid.UUID, ...]
    # entity name -> ids shared for reading (read-only and read-write), and for writing
    shared: dict[str, tuple[uuid.UUID, ...]] = field(default_factory=dict)
    writable: dict[str, frozenset[uuid.UUID]] = field(default_factory=dict)

    def shared_with(self, entity_name: str) -> tuple[uuid.UUID, ...]:
        return self.shared.get(entity_name, ())

    def may_write(self, entity_name: str, owner_id: uuid.UUID | None, id: uuid.UUID) -> bool:
        return ((owner_id is not None and owner_id in self.owners)
                or id in self.writable.get(entity_name, frozenset()))


NOBODY = Visibility("own", ())  # an API key or the system: acts for no user, owns nothing


async def load_visibility(session: Any, ctx: CallContext) -> Visibility:
    """The caller's visibility, computed on first use in this request (one query), then
    reused by every rule until a write in the request makes it stale."""
    found: Visibility | None = ctx.visibility
    if found is not None:
        return found
    user_id = ctx.actor.user_id
    if user_id is None:
        ctx.visibility = NOBODY
        return NOBODY
    scope = ctx.actor.data_scope
    rows = await fetch(session, visibility_sql(scope),
                       {"tenant_id": ctx.tenant_id, "user_id": user_id, "scope": scope})
    row = rows[0]
    found = _visibility(row.scope or "own", row.owners, row.shares)
    ctx.visibility = found
    return found


def _visibility(scope: str, owners: Any, shares_json: str) -> Visibility:
    shares = json.loads(shares_json)
    shared: dict[str, list[uuid.UUID]] = {}
    writable: dict[str, set[uuid.UUID]] = {}
    for entity_type, access, record_id in shares:
        rid = uuid.UUID(str(record_id))
        shared.setdefault(entity_type, []).append(rid)
        if access == "write":
            writable.setdefault(entity_type, set()).add(rid)
    return Visibility(
        scope, tuple(owners or ()),
        {k: tuple(dict.fromkeys(v)) for k, v in shared.items()},
        {k: frozenset(v) for k, v in writable.items()})


def loaded(ctx: CallContext) -> Visibility:
    """The visibility a rule reads: loaded by the kit's entry points before any rule is built
    (`load_visibility`); a rule built without it is a bug, and fails rather than guess."""
    found: Visibility | None = ctx.visibility
    if found is None:
        if ctx.actor.user_id is None:
            return NOBODY
        raise RuntimeError("record rule used before load_visibility(session, ctx)")
    return found

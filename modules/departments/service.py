"""Department rules: the tree stays a tree, members belong to one department and report to one
superior (the chain never loops), managers are active members; roles' data scopes; and records
shared with a member or a department.

Lists, lookups, loaders, create and update (name, parent, position), audit rows and events are
the kit's, from `entities.py`. Who sees which owned records is the kit's record rule
(`modules/kit/scopes.py`), which reads what this module keeps.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, exists, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from infra.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from infra.validation import Validator
from modules.departments.entities import DEPARTMENT
from modules.departments.models import Department, DepartmentManager, RecordShare
from modules.kit import EntityService, registry
from modules.kit import repository as kit_repository
from tenancy import directory
from tenancy.audit import record_change
from tenancy.context import CallContext
from tenancy.models import ApiKey, Membership, Role
from tenancy.permissions import (
    DATA_SCOPES,
    READ_ALL_PERMISSIONS,
    Permission,
)

MAX_NAME = 100
MAX_POSITION = 1_000_000
MAX_MANAGERS = 20
MAX_IDS = 200  # members assigned in one call
MAX_SHARES_PER_RECORD = 200
SHARE_ACCESS = ("read", "write")

# Moves in the tree and changes of reporting lines take turns within a tenant, so two
# concurrent moves cannot each pass the cycle check and make a loop together.
_TREE_LOCK = text("select pg_advisory_xact_lock(hashtextextended('crm.org:' || :t, 0))")


def _gid(type_name: str, id: uuid.UUID | None) -> str | None:
    from graphql_api.relay import to_global_id  # the one encoding of global ids

    return to_global_id(type_name, id) if id is not None else None


async def _lock_tree(session: AsyncSession, ctx: CallContext) -> None:
    await session.execute(_TREE_LOCK, {"t": str(ctx.tenant_id)})


class DepartmentService(EntityService[Department]):
    entity = DEPARTMENT

    def validate(self, ctx: CallContext, data: dict[str, Any], *, row: Department | None
                 ) -> dict[str, Any]:
        v = Validator()
        out: dict[str, Any] = {}
        if "name" in data or row is None:
            name = v.text("name", data.get("name"), max_len=MAX_NAME, required=True)
            if name is not None and ("\n" in name or "\t" in name):
                v.fail("name", "must be a single line")
            out["name"] = name
        if "parent_id" in data:
            out["parent_id"] = data["parent_id"]
        if "position" in data or row is None:
            position = data.get("position")
            if position is None:
                position = 0
            if (not isinstance(position, int) or isinstance(position, bool)
                    or not 0 <= position <= MAX_POSITION):
                v.fail("position", f"is a whole number from 0 to {MAX_POSITION}", "out_of_range")
            out["position"] = position
        if v.errors:
            raise ValidationFailed(v.errors)
        return out

    async def check(self, session: AsyncSession, ctx: CallContext, values: dict[str, Any], *,
                    row: Department | None) -> None:
        """A parent exists in the tenant; a department never moves under itself or one of
        its own descendants (CONFLICT: the tree would loop). Names are unique among siblings
        (the index `departments_sibling_name_key` decides between concurrent writes)."""
        parent_id = values.get("parent_id")
        if parent_id is not None:
            await _lock_tree(session, ctx)
            if await kit_repository.get(session, ctx, DEPARTMENT, parent_id) is None:
                raise ValidationFailed.single("parentId", "no such department", "not_found")
            if row is not None and row.id in await self.ancestors(session, ctx, parent_id):
                raise Conflict("a department cannot move under itself or one of its own "
                               "sub-departments", field="parentId")
        name = values.get("name", row.name if row is not None else None)
        parent = values.get("parent_id", row.parent_id if row is not None else None)
        if "name" in values or "parent_id" in values:
            stmt = select(Department.id).where(
                Department.tenant_id == ctx.tenant_id,
                func.lower(Department.name) == func.lower(name),
                Department.parent_id.is_(None) if parent is None
                else Department.parent_id == parent)
            if row is not None:
                stmt = stmt.where(Department.id != row.id)
            if await session.scalar(stmt.limit(1)) is not None:
                raise Conflict("a department with this name is already there", field="name")

    async def ancestors(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID
                        ) -> list[uuid.UUID]:
        """This department and those above it, nearest first."""
        rows = await session.execute(text("""
            with recursive up(id, parent_id, depth) as (
                select id, parent_id, 0 from departments where tenant_id = :t and id = :id
                union
                select d.id, d.parent_id, up.depth + 1 from departments d
                join up on d.id = up.parent_id where d.tenant_id = :t and up.depth < 1000)
            select id from up order by depth"""), {"t": ctx.tenant_id, "id": id})
        return [r[0] for r in rows]

    async def remove(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID
                     ) -> Department:
        """Deletes an empty department: one with sub-departments or members is refused
        (CONFLICT): move them first. Its managers' posts and the shares made with it go
        with it."""
        ctx.require(self.entity.write)
        row = await self.editable(session, ctx, id)
        await _lock_tree(session, ctx)
        if await session.scalar(select(exists().where(
                Department.tenant_id == ctx.tenant_id, Department.parent_id == id))):
            raise Conflict("this department has sub-departments: move or delete them first",
                           field="id", reason="has_children")
        if await session.scalar(select(exists().where(
                Membership.tenant_id == ctx.tenant_id, Membership.department_id == id))):
            raise Conflict("this department has members: move them first", field="id",
                           reason="has_members")
        before = {**self.snapshot(row), "manager_ids": await self.manager_ids(session, ctx, id)}
        await session.execute(delete(DepartmentManager).where(
            DepartmentManager.tenant_id == ctx.tenant_id, DepartmentManager.department_id == id))
        await session.execute(delete(RecordShare).where(
            RecordShare.tenant_id == ctx.tenant_id, RecordShare.department_id == id))
        await session.delete(row)
        await session.flush()
        await self.record(session, ctx, row, "deleted", self._form(before), None)
        return row

    def _form(self, values: dict[str, Any]) -> dict[str, Any]:
        if "manager_ids" in values:
            values = {**values, "manager_ids": [_gid("User", i) for i in values["manager_ids"]]}
        return values

    async def manager_ids(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID
                          ) -> list[uuid.UUID]:
        return list(await session.scalars(
            select(DepartmentManager.user_id).where(
                DepartmentManager.tenant_id == ctx.tenant_id,
                DepartmentManager.department_id == id)
            .order_by(DepartmentManager.user_id)))

    async def set_managers(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID,
                           user_ids: Sequence[uuid.UUID]) -> Department:
        """The department's managers become exactly these active members (idempotent).
        Managers see their department's records under the department scopes."""
        ctx.require(self.entity.write)
        ids = list(dict.fromkeys(user_ids))
        if len(ids) > MAX_MANAGERS:
            raise ValidationFailed.single("managerIds", f"at most {MAX_MANAGERS}", "too_many")
        row = await self.editable(session, ctx, id)
        await _members_exist(session, ctx, ids, "managerIds")
        current = await self.manager_ids(session, ctx, id)
        if set(current) == set(ids):
            return row
        await session.execute(delete(DepartmentManager).where(
            DepartmentManager.tenant_id == ctx.tenant_id, DepartmentManager.department_id == id))
        if ids:
            await session.execute(insert(DepartmentManager).values([
                {"tenant_id": ctx.tenant_id, "department_id": id, "user_id": u} for u in ids]))
        row.updated_at = await self._now(session)
        await session.flush()
        await self.record(session, ctx, row, "managers_set",
                          self._form({"manager_ids": current}),
                          self._form({"manager_ids": sorted(ids)}))
        return row


async def _members_exist(session: AsyncSession, ctx: CallContext, ids: Sequence[uuid.UUID],
                         field: str) -> None:
    """Each id is an active member of the caller's tenant (VALIDATION naming those that are
    not: another tenant's users are not members here)."""
    missing = [i for i in ids if not await directory.is_active_member(session, ctx, i)]
    if missing:
        raise ValidationFailed([FieldError(field, f"{_gid('User', i)} is not an active member",
                                           "not_found") for i in missing])


departments = DepartmentService()


async def managers_by_department(session: AsyncSession, ctx: CallContext,
                                 ids: Sequence[uuid.UUID]) -> list[list[uuid.UUID]]:
    """Each department's managers' user ids, for a batch of departments: one query."""
    ctx.require(DEPARTMENT.read)
    found: dict[uuid.UUID, list[uuid.UUID]] = {}
    for dept, user in await session.execute(
            select(DepartmentManager.department_id, DepartmentManager.user_id).where(
                DepartmentManager.tenant_id == ctx.tenant_id,
                DepartmentManager.department_id.in_(list(ids)))
            .order_by(DepartmentManager.department_id, DepartmentManager.user_id)):
        found.setdefault(dept, []).append(user)
    return [found.get(i, []) for i in ids]


async def member_counts(session: AsyncSession, ctx: CallContext, ids: Sequence[uuid.UUID]
                        ) -> list[int]:
    """Each department's member count, for a batch of departments: one query."""
    ctx.require(DEPARTMENT.read)
    found = dict((await session.execute(
        select(Membership.department_id, func.count()).where(
            Membership.tenant_id == ctx.tenant_id, Membership.department_id.in_(list(ids)))
        .group_by(Membership.department_id))).tuples().all())
    return [int(found.get(i, 0)) for i in ids]


# -- members: their department and superior ------------------------------------------------

async def assign_members(session: AsyncSession, ctx: CallContext, *,
                         department_id: uuid.UUID | None, member_ids: Sequence[uuid.UUID]
                         ) -> list[Any]:
    """These members join the department (None: no department). One audit row and event per
    member whose department changes (`membership.updated`)."""
    from tenancy.service import member_service

    ctx.require(Permission.USERS_MANAGE)
    ids = list(dict.fromkeys(member_ids))
    if not ids:
        raise ValidationFailed.single("memberIds", "names at least one member", "required")
    if len(ids) > MAX_IDS:
        raise ValidationFailed.single("memberIds", f"at most {MAX_IDS} at once", "too_many")
    if department_id is not None and await kit_repository.get(
            session, ctx, DEPARTMENT, department_id) is None:
        raise ValidationFailed.single("departmentId", "no such department", "not_found")
    out = []
    for member_id in ids:
        member = await member_service.editable(session, ctx, member_id)
        if member.department_id == department_id:
            out.append(member)
            continue
        before = member_service.snapshot(member)
        await session.execute(update(Membership).where(
            Membership.tenant_id == ctx.tenant_id, Membership.user_id == member_id)
            .values(department_id=department_id, updated_at=func.now()))
        await session.refresh(member)
        await member_service.record(session, ctx, member, "updated", before,
                                    member_service.snapshot(member))
        out.append(member)
    return out


async def set_superior(session: AsyncSession, ctx: CallContext, member_id: uuid.UUID,
                       superior_id: uuid.UUID | None) -> Any:
    """Whom the member reports to (None: nobody). The chain never loops: a member's superior
    is never the member, nor anyone who reports to them (CONFLICT)."""
    from tenancy.service import member_service

    ctx.require(Permission.USERS_MANAGE)
    member = await member_service.editable(session, ctx, member_id)
    if superior_id is not None:
        await _lock_tree(session, ctx)
        await _members_exist(session, ctx, [superior_id], "superiorId")
        chain = await session.execute(text("""
            with recursive up(id, depth) as (
                select cast(:s as uuid), 0
                union
                select m.superior_id, up.depth + 1 from memberships m join up on m.user_id = up.id
                where m.tenant_id = :t and m.superior_id is not null and up.depth < 1000)
            select 1 from up where id = :m limit 1"""),
            {"s": superior_id, "t": ctx.tenant_id, "m": member_id})
        if chain.first() is not None:
            raise Conflict("a member cannot report to themselves or to someone who reports "
                           "to them", field="superiorId")
    if member.superior_id == superior_id:
        return member
    before = member_service.snapshot(member)
    await session.execute(update(Membership).where(
        Membership.tenant_id == ctx.tenant_id, Membership.user_id == member_id)
        .values(superior_id=superior_id, updated_at=func.now()))
    await session.refresh(member)
    await member_service.record(session, ctx, member, "updated", before,
                                member_service.snapshot(member))
    return member


# -- roles' data scopes --------------------------------------------------------------------

async def list_roles(session: AsyncSession, ctx: CallContext) -> list[Role]:
    ctx.require(Permission.MEMBERS_READ)
    return list(await session.scalars(select(Role).where(Role.tenant_id == ctx.tenant_id)
                                      .order_by(Role.is_builtin.desc(), Role.key).limit(100)))


async def set_role_data_scope(session: AsyncSession, ctx: CallContext, role_key: str,
                              scope: str) -> Role:
    """Which owned records the role's members read and change. `all` grants the
    `<area>:read_all` permissions of the areas the role reads; any other scope takes them
    away, so `ctx.can(CUSTOMERS_READ_ALL)` keeps meaning "sees every customer". The owner
    role always sees everything; a role held by API keys keeps `all` (a key acts for no user:
    under any other scope it would see nothing)."""
    ctx.require(Permission.USERS_MANAGE)
    if scope not in DATA_SCOPES:
        raise ValidationFailed.single("scope", f"is one of {', '.join(DATA_SCOPES)}", "invalid")
    role = await session.scalar(select(Role).where(
        Role.tenant_id == ctx.tenant_id, Role.key == role_key).with_for_update())
    if role is None:
        raise NotFound("no such role", field="role")
    if not frozenset(role.permissions) <= ctx.actor.permissions:
        raise Forbidden("you cannot change a role holding permissions you lack", field="role")
    if role.key == "owner":
        raise Conflict("the owner role always sees every record", field="role")
    if role.data_scope == scope:
        return role
    if scope != "all" and await session.scalar(select(exists().where(
            ApiKey.tenant_id == ctx.tenant_id, ApiKey.role_id == role.id,
            ApiKey.revoked_at.is_(None)))):
        raise Conflict("API keys hold this role: a key acts for no user, so it needs the "
                       "scope all; revoke them or give them another role first", field="scope")
    granted = set(role.permissions)
    read_all = {p.value for p in READ_ALL_PERMISSIONS
                if p.value.removesuffix("_all") in granted}
    permissions = sorted(granted | read_all) if scope == "all" else sorted(granted - read_all)
    before = {"data_scope": role.data_scope.upper(), "permissions": sorted(role.permissions)}
    role.data_scope, role.permissions = scope, permissions
    role.updated_at = func.now()
    await session.flush()
    await record_change(session, ctx, entity_type="role", entity_id=role.id, action="updated",
                        before=before, after={"data_scope": scope.upper(),
                                              "permissions": permissions})
    await session.refresh(role)
    return role


# -- shares --------------------------------------------------------------------------------

def _shareable(type_name: str) -> Any:
    entity = registry.by_type(type_name)
    if entity is None or entity.owner is None:
        raise ValidationFailed.single("recordId", "names a record that can be shared (a contact "
                                      "or a company)", "not_shareable")
    return entity


async def share_record(session: AsyncSession, ctx: CallContext, *, type_name: str,
                       record_id: uuid.UUID, user_id: uuid.UUID | None,
                       department_id: uuid.UUID | None, access: str) -> RecordShare:
    """Shares a record the caller may change with one member or one department (and those
    under it), to read or to read and write; sharing again with the same changes the access.
    Audited and evented on the record (`contact.shared`)."""
    entity = _shareable(type_name)
    ctx.require(entity.write)
    if access not in SHARE_ACCESS:
        raise ValidationFailed.single("access", "is READ or WRITE", "invalid")
    if (user_id is None) == (department_id is None):
        raise ValidationFailed.single("userId", "name either a member or a department",
                                      "required")
    service = registry.service_of(entity)
    row = await service.live(session, ctx, record_id)
    if user_id is not None:
        await _members_exist(session, ctx, [user_id], "userId")
    elif await kit_repository.get(session, ctx, DEPARTMENT, department_id) is None:  # type: ignore[arg-type]
        raise ValidationFailed.single("departmentId", "no such department", "not_found")
    target = (RecordShare.user_id == user_id if user_id is not None
              else RecordShare.department_id == department_id)
    share = await session.scalar(select(RecordShare).where(
        RecordShare.tenant_id == ctx.tenant_id, RecordShare.entity_type == entity.name,
        RecordShare.record_id == record_id, target).with_for_update())
    if share is not None and share.access == access:
        return share
    if share is None:
        count = await session.scalar(select(func.count()).select_from(RecordShare).where(
            RecordShare.tenant_id == ctx.tenant_id, RecordShare.entity_type == entity.name,
            RecordShare.record_id == record_id))
        if (count or 0) >= MAX_SHARES_PER_RECORD:
            raise ValidationFailed.single("recordId", f"a record is shared at most "
                                          f"{MAX_SHARES_PER_RECORD} times", "too_many")
        from infra.db import new_id

        share = RecordShare(tenant_id=ctx.tenant_id, id=new_id(), entity_type=entity.name,
                            record_id=record_id, user_id=user_id, department_id=department_id,
                            access=access, created_by=ctx.actor.user_id)
        session.add(share)
        before = None
    else:
        before = _share_form(share)
        share.access = access
    await session.flush()
    await service.record(session, ctx, row, "shared", before, _share_form(share))
    return share


async def unshare_record(session: AsyncSession, ctx: CallContext, share_id: uuid.UUID
                         ) -> RecordShare:
    """Ends a share (of a record the caller may change); audited on the record."""
    share = await session.scalar(select(RecordShare).where(
        RecordShare.tenant_id == ctx.tenant_id, RecordShare.id == share_id).with_for_update())
    if share is None:
        raise NotFound("no share with this id", field="id")
    entity = registry.by_name(share.entity_type)
    assert entity is not None
    ctx.require(entity.write)
    service = registry.service_of(entity)
    row = await service.editable(session, ctx, share.record_id)
    before = _share_form(share)
    await session.delete(share)
    await session.flush()
    await service.record(session, ctx, row, "unshared", before, None)
    return share


def _share_form(share: RecordShare) -> dict[str, Any]:
    return {"share_id": _gid("Share", share.id), "user_id": _gid("User", share.user_id),
            "department_id": _gid("Department", share.department_id),
            "access": share.access.upper()}


async def shares_of(session: AsyncSession, ctx: CallContext, *, type_name: str,
                    record_id: uuid.UUID) -> list[RecordShare]:
    """Who a record the caller can see is shared with (at most MAX_SHARES_PER_RECORD)."""
    entity = _shareable(type_name)
    await registry.service_of(entity).get(session, ctx, record_id)  # NOT_FOUND if not visible
    return list(await session.scalars(select(RecordShare).where(
        RecordShare.tenant_id == ctx.tenant_id, RecordShare.entity_type == entity.name,
        RecordShare.record_id == record_id).order_by(RecordShare.created_at, RecordShare.id)
        .limit(MAX_SHARES_PER_RECORD)))

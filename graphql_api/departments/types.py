"""GraphQL types of departments, data scopes and shares; every field declared, none auto-mapped."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from graphql_api.kit import node, sort_enum
from graphql_api.loaders import loaded_by
from graphql_api.relay import Node, to_global_id
from graphql_api.tenancy.types import UserType
from modules.departments import service
from modules.departments.entities import DEPARTMENT
from tenancy.models import Role

DepartmentSort = sort_enum(DEPARTMENT, "DepartmentSort",
                           description="Orderings of department lists; by position unless told.")


@node(DEPARTMENT, description="A department of the tenant's organisation: a tree.")
class DepartmentType(Node):
    name: str = strawberry.field(description="Unique among its siblings, whatever its case.")
    position: int = strawberry.field(description="Its order among its siblings.")
    created_at: datetime
    updated_at: datetime
    @strawberry.field(description="The department it is part of; null for a top one.")
    @loaded_by("department", "parent_id")
    async def parent(self, info: Info) -> DepartmentType | None:
        if self.parent_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.department.load(self.parent_id)  # type: ignore[attr-defined,no-any-return]

    @strawberry.field(description="Its managers (at most 20): they see its records under the "
                      "department scopes.")
    async def managers(self, info: Info) -> list[UserType]:
        ids = await _batched(info, "managers", service.managers_by_department).load(self.id)  # type: ignore[arg-type]
        users = await info.context.loaders.user.load_many(ids)
        return [u for u in users if u is not None]

    @strawberry.field(description="How many members it has (not counting those under it).")
    async def member_count(self, info: Info) -> int:
        return await _batched(info, "member_counts",  # type: ignore[no-any-return]
                              service.member_counts).load(self.id)  # type: ignore[arg-type]


def _batched(info: Info, name: str, fn: Callable[..., Awaitable[list[Any]]]
             ) -> DataLoader[uuid.UUID, Any]:
    """A per-request loader of this module's own (one query per batch of departments)."""
    loaders = info.context.loaders
    key = f"_departments_{name}"
    loader = loaders.__dict__.get(key)
    if loader is None:
        async def load(ids: Sequence[uuid.UUID]) -> list[Any]:
            return await info.context.read(fn, ids)  # type: ignore[no-any-return]

        loader = DataLoader[uuid.UUID, Any](load_fn=load)
        setattr(loaders, key, loader)
    return loader  # type: ignore[no-any-return]


@strawberry.input(description="A department's fields; on update, only those sent change.")
class DepartmentInput:
    name: str | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="null: a top department.")
    position: int | None = strawberry.field(
        default=strawberry.UNSET, description="Its order among its siblings (0 first).")


@strawberry.input(description="Narrows a department list; all given conditions must hold.")
class DepartmentFilter:
    search: str | None = strawberry.field(default=None, description="Part of the name.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Direct sub-departments of this one.")


@strawberry.enum(description="Which owned records (customers, and later deals and orders) a "
                 "role's members read and change.")
class DataScope(Enum):
    OWN = "own"
    SUBORDINATES = "subordinates"
    DEPARTMENT = "department"
    DEPARTMENT_TREE = "department_tree"
    ALL = "all"


@strawberry.type(name="Role", description="A role of the tenant and its data scope.")
class RoleType:
    key: str
    name: str
    is_builtin: bool
    permissions: list[str]
    data_scope: DataScope

    @staticmethod
    def of(role: Role) -> RoleType:
        return RoleType(key=role.key, name=role.name, is_builtin=role.is_builtin,
                        permissions=sorted(role.permissions),
                        data_scope=DataScope(role.data_scope))


@strawberry.enum(description="What a share lets its holder do with the record.")
class ShareAccess(Enum):
    READ = "read"
    WRITE = "write"


@strawberry.type(name="Share", description="A record shared with a member or a department.")
class ShareType:
    id: strawberry.ID
    access: ShareAccess
    created_at: datetime
    user_id: strawberry.Private[uuid.UUID | None]
    department_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The member it is shared with, or null.")
    async def user(self, info: Info) -> UserType | None:
        if self.user_id is None:
            return None
        return await info.context.loaders.user.load(self.user_id)  # type: ignore[no-any-return]

    @strawberry.field(description="The department (and those under it) it is shared with, "
                      "or null.")
    async def department(self, info: Info) -> DepartmentType | None:
        if self.department_id is None:
            return None
        return await info.context.loaders.department.load(self.department_id)  # type: ignore[no-any-return]

    @staticmethod
    def of(share: object) -> ShareType:
        return ShareType(id=strawberry.ID(to_global_id("Share", share.id)),  # type: ignore[attr-defined]
                         access=ShareAccess(share.access),  # type: ignore[attr-defined]
                         created_at=share.created_at,  # type: ignore[attr-defined]
                         user_id=share.user_id,  # type: ignore[attr-defined]
                         department_id=share.department_id)  # type: ignore[attr-defined]

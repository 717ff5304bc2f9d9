"""Department mutations: the kit's create and update, and the module's own verbs (delete an
empty department, managers, members, reporting lines); roles' data scopes; shares."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphql_api.departments.queries import record_of
from graphql_api.departments.types import (
    DataScope,
    DepartmentInput,
    DepartmentType,
    RoleType,
    ShareAccess,
    ShareType,
)
from graphql_api.kit import crud_mutations
from graphql_api.permissions import needs
from graphql_api.relay import decode_id
from graphql_api.tenancy.types import MemberType
from modules.departments import service
from tenancy.permissions import Permission

DepartmentCrud = crud_mutations(service.departments, DepartmentType, DepartmentInput)
ADMIN = needs(Permission.USERS_MANAGE)


@strawberry.type
class DepartmentMutations(DepartmentCrud):  # type: ignore[misc,valid-type]
    @strawberry.mutation(extensions=ADMIN, description=(
        "Delete an empty department: one with sub-departments or members is refused "
        "(CONFLICT); move them first."))
    async def remove_department(self, info: Info, id: strawberry.ID) -> DepartmentType:
        return await info.context.write(  # type: ignore[no-any-return]
            service.departments.remove, decode_id(id, "Department"))

    @strawberry.mutation(extensions=ADMIN, description=(
        "The department's managers become exactly these members (idempotent)."))
    async def set_department_managers(self, info: Info, id: strawberry.ID,
                                      user_ids: list[strawberry.ID]) -> DepartmentType:
        ids = [decode_id(u, "User", "userIds") for u in user_ids]
        return await info.context.write(  # type: ignore[no-any-return]
            service.departments.set_managers, decode_id(id, "Department"), ids)

    @strawberry.mutation(extensions=ADMIN, description=(
        "These members join the department (null: none). At most 200 at once."))
    async def assign_members_to_department(
            self, info: Info, department_id: strawberry.ID | None,
            member_ids: list[strawberry.ID]) -> list[MemberType]:
        department = (decode_id(department_id, "Department", "departmentId")
                      if department_id is not None else None)
        ids = [decode_id(m, "Member", "memberIds") for m in member_ids]
        return await info.context.write(  # type: ignore[no-any-return]
            service.assign_members, department_id=department, member_ids=ids)

    @strawberry.mutation(extensions=ADMIN, description=(
        "Whom the member reports to (null: nobody); a loop in the chain is refused "
        "(CONFLICT). Their superior and those above see their records under the scope "
        "SUBORDINATES."))
    async def set_member_superior(self, info: Info, member_id: strawberry.ID,
                                  superior_id: strawberry.ID | None) -> MemberType:
        superior = (decode_id(superior_id, "User", "superiorId")
                    if superior_id is not None else None)
        return await info.context.write(  # type: ignore[no-any-return]
            service.set_superior, decode_id(member_id, "Member", "memberId"), superior)

    @strawberry.mutation(extensions=ADMIN, description=(
        "Which owned records the role's members read and change. ALL grants "
        "`customers:read_all`; any other scope takes it away. Audited."))
    async def set_role_data_scope(self, info: Info, role: str, scope: DataScope) -> RoleType:
        found = await info.context.write(service.set_role_data_scope, role, scope.value)
        return RoleType.of(found)

    @strawberry.mutation(extensions=needs(Permission.CUSTOMERS_WRITE), description=(
        "Share a contact or company you may change with a member or a department (and the "
        "departments under it): READ, or WRITE too. Sharing again changes the access."))
    async def share_record(self, info: Info, record_id: strawberry.ID, access: ShareAccess,
                           user_id: strawberry.ID | None = None,
                           department_id: strawberry.ID | None = None) -> ShareType:
        type_name, id = record_of(record_id)
        share = await info.context.write(
            service.share_record, type_name=type_name, record_id=id,
            user_id=decode_id(user_id, "User", "userId") if user_id is not None else None,
            department_id=(decode_id(department_id, "Department", "departmentId")
                           if department_id is not None else None),
            access=access.value)
        return ShareType.of(share)

    @strawberry.mutation(extensions=needs(Permission.CUSTOMERS_WRITE),
                         description="End a share (of a record you may change).")
    async def unshare_record(self, info: Info, id: strawberry.ID) -> ShareType:
        share = await info.context.write(service.unshare_record, decode_id(id, "Share"))
        return ShareType.of(share)



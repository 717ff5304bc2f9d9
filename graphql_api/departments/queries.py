"""Department queries, from the kit (lists, lookups); roles with their data scopes; and who a
record is shared with."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphql_api.departments.types import (
    DepartmentFilter,
    DepartmentSort,
    DepartmentType,
    RoleType,
    ShareType,
)
from graphql_api.kit import get_field, list_field
from graphql_api.permissions import needs
from graphql_api.relay import from_global_id
from infra.errors import ValidationFailed
from modules.departments import service
from tenancy.permissions import Permission


def record_of(global_id: str, field: str = "recordId") -> tuple[str, object]:
    """A shareable record's type and id from its global id (VALIDATION when malformed)."""
    try:
        return from_global_id(global_id)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed.single(field, "is not a valid ID", "invalid_id") from None


@strawberry.type
class DepartmentQueries:
    departments = list_field(service.departments, DepartmentType, filter=DepartmentFilter,
                             sort=DepartmentSort,
                             description="The tenant's departments, by position unless sorted.")
    department = get_field(service.departments, DepartmentType)

    @strawberry.field(extensions=needs(Permission.MEMBERS_READ),
                      description="The tenant's roles, built-in first, with their data scopes.")
    async def roles(self, info: Info) -> list[RoleType]:
        return [RoleType.of(r) for r in await info.context.read(service.list_roles)]

    @strawberry.field(extensions=needs(), description=(
        "Who a contact or company the caller can see is shared with (at most 200)."))
    async def shares(self, info: Info, record_id: strawberry.ID) -> list[ShareType]:
        type_name, id = record_of(record_id)
        found = await info.context.read(service.shares_of, type_name=type_name, record_id=id)
        return [ShareType.of(s) for s in found]

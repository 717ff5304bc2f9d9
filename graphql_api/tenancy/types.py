"""GraphQL types of tenancy: users, the viewer, API keys, the audit log and domain events."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graphql_api.kit import node, reference, sort_enum
from graphql_api.loaders import loaded_by
from graphql_api.relay import Node, to_global_id
from graphql_api.rendering import global_id_sql, renders
from tenancy.audit import AuditEntry, OutboxEvent, node_type
from tenancy.directory import UserRow, member_user_sql, owner_user_sql
from tenancy.entities import API_KEY, MEMBER
from tenancy.models import User

if TYPE_CHECKING:
    from graphql_api.departments.types import DepartmentType


@renders(User, id=global_id_sql("User"))
@strawberry.type(name="User")
class UserType(Node):
    name: str
    email: str

    @strawberry.field  # type: ignore[misc]
    def id(self) -> strawberry.ID:  # type: ignore[override]
        return strawberry.ID(to_global_id("User", self.id))  # type: ignore[arg-type]

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, User | UserRow)


# For `graphql_api.kit.reference`: how a reference to a user loads and renders.
UserType.__kit_loader__ = "user"  # type: ignore[attr-defined]
UserType.__kit_join__ = member_user_sql  # type: ignore[attr-defined]


@node(MEMBER, description="A user of the current tenant and their role.")
class MemberType(Node):
    status: str = strawberry.field(description="`active`, or `disabled` (cannot sign in here).")
    created_at: datetime = strawberry.field(description="When they joined the tenant.")
    updated_at: datetime

    @strawberry.field(description="The user: their name and email.")
    def user(self) -> UserType:
        return UserRow(self.id, self.name, self.email)  # type: ignore[attr-defined,return-value]

    @strawberry.field(description="The key of their role (`sales`).")
    @loaded_by("role_key", "role_id")
    async def role(self, info: Info) -> str:
        return await info.context.loaders.role_key.load(self.role_id) or ""  # type: ignore[attr-defined,no-any-return]

    # -- their place in the organisation (modules/departments) ---------------------------
    superior = reference(UserType, "superior_id", join=owner_user_sql,
                         description="Whom they report to, or null.")

    @strawberry.field(description="Their department, or null.")
    @loaded_by("department", "department_id")
    async def department(self, info: Info) -> Annotated[
            DepartmentType, strawberry.lazy("graphql_api.departments.types")] | None:
        if self.department_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.department.load(self.department_id)  # type: ignore[attr-defined,no-any-return]


MemberSort = sort_enum(MEMBER, "MemberSort", description="Orderings of member lists; by name "
                       "unless told.")


@strawberry.input(description="Narrows a list of members; all given conditions must hold.")
class MemberFilter:
    search: str | None = strawberry.field(default=None,
                                          description="Part of the name or email.")
    role: str | None = strawberry.field(default=None, description="A role's key (`sales`).")
    status: str | None = strawberry.field(default=None, description="`active` or `disabled`.")
    department_id: strawberry.ID | None = strawberry.field(
        default=None, description="Members of this department (not those under it).")
    superior_id: strawberry.ID | None = strawberry.field(
        default=None, description="Members who report directly to this user.")


@strawberry.input(description="A new member: an existing login (by email) joins with its own "
                  "name and password; a new one is made.")
class AddMemberInput:
    email: str
    role: str = strawberry.field(description="A role's key (`sales`).")
    name: str | None = strawberry.field(default=None,
                                        description="For a new login; else its own.")
    password: str | None = strawberry.field(
        default=None, description="For a new login: its first password (they may change it).")


@strawberry.input(description="A member's role or status; only the fields sent change.")
class UpdateMemberInput:
    role: str | None = strawberry.UNSET
    status: str | None = strawberry.field(default=strawberry.UNSET,
                                          description="`active` or `disabled`.")


@strawberry.type(name="Tenant")
class TenantType:
    name: str
    slug: str
    status: str
    default_region: str
    locale: str

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Tenant", self.id))  # type: ignore[arg-type]


@strawberry.type
class TenantChoiceType:
    id: strawberry.ID
    slug: str
    name: str


@strawberry.type(description="The caller: who they are, in which tenant, with which rights.")
class Viewer:
    kind: str
    label: str
    role: str
    permissions: list[str]
    user: UserType | None
    tenant: TenantType


@strawberry.type
class LoginPayload:
    user_id: strawberry.ID
    tenant: TenantChoiceType | None = strawberry.field(
        description="The tenant the new session is in; null when a tenant must be chosen.")
    tenants: list[TenantChoiceType]


@node(API_KEY, description=(
    "A key for the API (`Authorization: Bearer <key>`), acting with its role's permissions "
    "for no user. Its secret is shown once, when it is issued."))
class ApiKeyType(Node):
    name: str
    display_prefix: str = strawberry.field(description="The first characters of its secret, "
                                           "to tell keys apart.")
    created_at: datetime
    last_used_at: datetime | None = strawberry.field(
        description="When it was last used, to within a few minutes.")
    expires_at: datetime | None
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked; it works no more from then.")

    @strawberry.field(description="The key of the role whose permissions it holds.")
    @loaded_by("role_key", "role_id")
    async def role(self, info: Info) -> str:
        return await info.context.loaders.role_key.load(self.role_id) or ""  # type: ignore[attr-defined,no-any-return]


ApiKeySort = sort_enum(API_KEY, "ApiKeySort", description="Orderings of API key lists.")


@strawberry.input(description="Narrows a list of API keys; all given conditions must hold.")
class ApiKeyFilter:
    search: str | None = strawberry.field(default=None, description="Part of the name.")
    revoked: bool | None = strawberry.field(
        default=None, description="true: only revoked keys; false: only working ones.")


@strawberry.type
class CreatedApiKey:
    api_key: ApiKeyType
    secret: str = strawberry.field(description="The key itself. Shown this once, never again.")


@strawberry.type(name="AuditEntry")
class AuditEntryType:
    occurred_at: datetime
    actor_type: str
    actor_label: str
    action: str
    entity_type: str
    before: JSON | None
    after: JSON | None
    request_id: str | None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("AuditEntry", self.id))  # type: ignore[arg-type]

    @strawberry.field
    def actor_id(self) -> strawberry.ID | None:
        entry: AuditEntry = self  # type: ignore[assignment]
        if entry.actor_id is None:
            return None
        kind = "User" if entry.actor_type == "user" else "ApiKey"
        return strawberry.ID(to_global_id(kind, entry.actor_id))

    @strawberry.field
    def entity_id(self) -> strawberry.ID | None:
        entry: AuditEntry = self  # type: ignore[assignment]
        if entry.entity_id is None:
            return None
        return strawberry.ID(to_global_id(node_type(entry.entity_type), entry.entity_id))

    @strawberry.field
    def client_ip(self) -> str | None:
        value = self.client_ip
        return str(value) if value is not None else None


@strawberry.type(name="Event", description="A domain event from the outbox (`contact.created`, …).")
class EventType:
    event_type: str
    aggregate_type: str
    payload: JSON
    occurred_at: datetime
    published_at: datetime | None
    request_id: str | None

    @strawberry.field
    def id(self) -> strawberry.ID:
        event: OutboxEvent = self  # type: ignore[assignment]
        return strawberry.ID(to_global_id("Event", event.id))

    @strawberry.field
    def aggregate_id(self) -> strawberry.ID | None:
        event: OutboxEvent = self  # type: ignore[assignment]
        if event.aggregate_id is None:
            return None
        return strawberry.ID(to_global_id(node_type(event.aggregate_type), event.aggregate_id))


@strawberry.input
class AuditFilter:
    entity_type: str | None = None
    entity_id: strawberry.ID | None = None
    action: str | None = None
    actor_id: strawberry.ID | None = None
    request_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

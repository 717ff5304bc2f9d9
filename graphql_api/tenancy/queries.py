"""Tenancy queries: the viewer, members, API keys, the audit log and the event feed."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.kit import get_field, list_field
from graphql_api.permissions import needs
from graphql_api.relay import Connection, from_global_id
from graphql_api.tenancy.types import (
    ApiKeyFilter,
    ApiKeySort,
    ApiKeyType,
    AuditEntryType,
    AuditFilter,
    EventType,
    MemberFilter,
    MemberSort,
    MemberType,
    TenantType,
    Viewer,
)
from infra.errors import ValidationFailed
from tenancy import directory
from tenancy.permissions import Permission
from tenancy.service import api_key_service, member_service


def _audit_filters(f: AuditFilter | None) -> dict[str, Any]:
    if f is None:
        return {}
    values = {k: v for k, v in vars(f).items() if v is not None}
    for key in ("entity_id", "actor_id"):
        if key in values:
            try:
                values[key] = from_global_id(values[key])[1]
            except (ValueError, UnicodeDecodeError):
                raise ValidationFailed.single(f"filter.{key}", "is not a valid ID") from None
    return values


@strawberry.type
class TenancyQueries:
    @strawberry.field(extensions=needs())
    async def me(self, info: Info) -> Viewer:
        context = info.context
        actor = context.ctx.actor
        tenant = await context.read(directory.current_tenant)
        user = await context.loaders.user.load(actor.id) if actor.kind == "user" else None
        return Viewer(kind=actor.kind, label=actor.label, role=actor.role,
                      permissions=sorted(actor.permissions), user=user,
                      tenant=tenant)  # type: ignore[arg-type]

    members = list_field(member_service, MemberType, filter=MemberFilter, sort=MemberSort,
                         description="Members of the current tenant, by name unless sorted.")
    member = get_field(member_service, MemberType, description="A member, by id.")

    api_keys = list_field(api_key_service, ApiKeyType, filter=ApiKeyFilter, sort=ApiKeySort,
                          description="API keys, newest first unless sorted (never their "
                          "secrets).")
    api_key = get_field(api_key_service, ApiKeyType)

    @strawberry.field(extensions=needs(Permission.AUDIT_READ),
                      description="Who changed what, newest first.")
    async def audit_log(self, info: Info, first: int | None = None, after: str | None = None,
                        filter: AuditFilter | None = None) -> Connection[AuditEntryType]:
        context = info.context
        size = context.page_size(first)
        filters = _audit_filters(filter)
        page = await context.read(directory.audit_log, filters=filters, first=size, after=after)
        return Connection(page=page, counter=lambda: context.read(directory.count_audit_log,
                                                                  filters=filters))

    @strawberry.field(extensions=needs(Permission.AUDIT_READ),
                      description="Domain events (the outbox), newest first.")
    async def events(self, info: Info, first: int | None = None, after: str | None = None,
                     type: str | None = None) -> Connection[EventType]:
        context = info.context
        size = context.page_size(first)
        page = await context.read(directory.events, event_type=type, first=size, after=after)
        return Connection(page=page, counter=lambda: context.read(directory.count_events,
                                                                  event_type=type))


__all__ = ["TenancyQueries", "TenantType"]

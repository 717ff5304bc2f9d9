"""The signed-in user's tenants and moving the web session between them (no password asked:
the session already proves who they are; see `tenancy.auth.switch_tenant`)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphql_api.permissions import needs
from graphql_api.relay import to_global_id
from graphql_api.tenancy.types import TenantChoiceType
from tenancy import auth
from tenancy.auth import TenantChoice


def tenant_choice(t: TenantChoice) -> TenantChoiceType:
    return TenantChoiceType(id=strawberry.ID(to_global_id("Tenant", t.id)), slug=t.slug,
                            name=t.name)


@strawberry.type
class SessionQueries:
    @strawberry.field(extensions=needs(), description=(
        "The tenants the signed-in user is an active member of (the current one included), "
        "by name: where `switchTenant` can take them. Empty for an API key."))
    async def my_tenants(self, info: Info) -> list[TenantChoiceType]:
        tenants = await info.context.read(auth.my_tenants)
        return [tenant_choice(t) for t in tenants]


@strawberry.type
class SessionMutations:
    @strawberry.mutation(extensions=needs(), description=(
        "Move the web session to another tenant of the signed-in user (its slug) without "
        "asking the password again: a new session there, the current one ended. NOT_A_MEMBER "
        "unless the user is an active member of that active tenant; refusals are throttled "
        "like failed logins. Web sessions only (BAD_REQUEST for an API key)."))
    async def switch_tenant(self, info: Info, tenant: str) -> TenantChoiceType:
        context = info.context
        result = await auth.switch_tenant(
            context.uow, context.cookies, context.ctx, session_id=context.session_id,
            tenant_slug=tenant, user_agent=context.request.headers.get("user-agent"),
            throttle=context.throttle)
        context.set_cookie = result.cookie
        return tenant_choice(result.tenant)

"""Tenancy mutations: logging in and out, API keys."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphql_api.permissions import needs
from graphql_api.relay import decode_id, to_global_id
from graphql_api.tenancy.queries import api_key_type
from graphql_api.tenancy.types import ApiKeyType, CreatedApiKey, LoginPayload, TenantChoiceType
from tenancy import auth
from tenancy import service as tenancy_service
from tenancy.auth import TenantChoice
from tenancy.permissions import Permission


def _choice(t: TenantChoice) -> TenantChoiceType:
    return TenantChoiceType(id=strawberry.ID(to_global_id("Tenant", t.id)), slug=t.slug,
                            name=t.name)


@strawberry.type
class TenancyMutations:
    @strawberry.mutation(description=(
        "Check email and password and set the session cookie. A user in several tenants gets "
        "the list back (and no session) until they name one with `tenant` (its slug). Part of "
        "the request's transaction: beside a mutation that fails, no session is opened."))
    async def login(self, info: Info, email: str, password: str,
                    tenant: str | None = None) -> LoginPayload:
        context = info.context
        request = context.request
        result = await auth.login(
            context.db, context.uow, context.cookies, email=email, password=password,
            tenant_slug=tenant, client_ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"), request_id=context.request_id,
            throttle=context.throttle)
        if result.cookie:
            context.set_cookie = result.cookie
        return LoginPayload(user_id=strawberry.ID(to_global_id("User", result.user_id)),
                            tenant=_choice(result.chosen) if result.chosen else None,
                            tenants=[_choice(t) for t in result.tenants])

    @strawberry.mutation(extensions=needs(), description="End the current web session.")
    async def logout(self, info: Info) -> bool:
        context = info.context
        if context.session_id is not None:
            await context.write(auth.logout, context.session_id)
        context.set_cookie = ""
        return True

    @strawberry.mutation(extensions=needs(Permission.API_KEYS_MANAGE))
    async def create_api_key(self, info: Info, name: str, role: str) -> CreatedApiKey:
        issued = await info.context.write(tenancy_service.create_api_key, name=name,
                                          role_key=role)
        return CreatedApiKey(api_key=api_key_type(issued.api_key, issued.role_key),
                             secret=issued.secret)

    @strawberry.mutation(extensions=needs(Permission.API_KEYS_MANAGE))
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKeyType:
        revoked = await info.context.write(tenancy_service.revoke_api_key,
                                           decode_id(id, "ApiKey"))
        return api_key_type(revoked.api_key, revoked.role_key)

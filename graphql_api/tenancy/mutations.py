"""Tenancy mutations: logging in and out, members, API keys."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphql_api.permissions import needs
from graphql_api.relay import decode_id, to_global_id
from graphql_api.tenancy.types import (
    AddMemberInput,
    ApiKeyType,
    CreatedApiKey,
    LoginPayload,
    MemberType,
    TenantChoiceType,
    UpdateMemberInput,
)
from tenancy import auth
from tenancy.auth import TenantChoice
from tenancy.permissions import Permission
from tenancy.service import api_key_service, member_service


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

    @strawberry.mutation(extensions=needs(Permission.API_KEYS_MANAGE), description=(
        "Issue an API key with one of the tenant's roles (by key, e.g. `manager`): never one "
        "with a permission its issuer lacks, nor a role limited to its holder's own records."))
    async def create_api_key(self, info: Info, name: str, role: str) -> CreatedApiKey:
        key = await info.context.write(api_key_service.create, {"name": name, "role": role})
        return CreatedApiKey(api_key=key, secret=key.secret)

    @strawberry.mutation(extensions=needs(Permission.API_KEYS_MANAGE), description=(
        "Stop a key working (idempotent). Other servers may accept it for a few seconds "
        "more (their cache of keys)."))
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKeyType:
        return await info.context.write(  # type: ignore[no-any-return]
            api_key_service.revoke, decode_id(id, "ApiKey"))

    @strawberry.mutation(extensions=needs(Permission.USERS_MANAGE), description=(
        "Add a member with a role: never one holding a permission the caller lacks."))
    async def add_member(self, info: Info, input: AddMemberInput) -> MemberType:
        return await info.context.write(  # type: ignore[no-any-return]
            member_service.create, _sent(input))

    @strawberry.mutation(extensions=needs(Permission.USERS_MANAGE), description=(
        "Change a member's role or status (`disabled` ends their sessions here). The tenant "
        "keeps an active owner; nobody disables themselves."))
    async def update_member(self, info: Info, id: strawberry.ID, input: UpdateMemberInput
                            ) -> MemberType:
        return await info.context.write(  # type: ignore[no-any-return]
            member_service.update, decode_id(id, "Member"), _sent(input))


def _sent(data: object) -> dict[str, object]:
    return {k: v for k, v in vars(data).items() if v is not strawberry.UNSET}

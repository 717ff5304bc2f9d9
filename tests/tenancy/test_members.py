"""Members: one login in several tenants, added as the application role (under RLS)."""

from __future__ import annotations

import pytest

from infra.db import Database
from infra.errors import Conflict
from tenancy import service
from tenancy.context import system_context
from tests.conftest import LOGIN, GraphQLClient, Servers, run
from tests.factories import PASSWORD, TenantFactory


def test_an_existing_user_of_another_tenant_can_be_added_and_then_chooses_a_tenant(
    servers: Servers, tenants: TenantFactory, gql: GraphQLClient
) -> None:
    first, second = tenants.make(), tenants.make()
    owner = first.members["owner"]

    async def add() -> None:
        database = Database(servers.app_url, pool_size=1, max_overflow=0)
        try:
            async with database.scoped(second.id) as session:
                user = await service.add_member(session, system_context(second.id),
                                                email=owner.email.upper(), name="ignored",
                                                password=None, role_key="manager")
                assert user.id == owner.user_id
            with pytest.raises(Conflict):
                async with database.scoped(second.id) as session:
                    await service.add_member(session, system_context(second.id),
                                             email=owner.email, name="x", password=None,
                                             role_key="viewer")
        finally:
            await database.dispose()

    run(add())
    # One login, two tenants: the password stayed theirs, and they must pick one.
    answer = gql.data(LOGIN, {"email": owner.email, "password": PASSWORD})["login"]
    assert answer["tenant"] is None
    assert {t["slug"] for t in answer["tenants"]} == {first.slug, second.slug}

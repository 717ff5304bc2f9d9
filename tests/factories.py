"""Test data made through the product's own services (so it is audited and valid)."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infra.db import Database
from tenancy import service as tenancy
from tenancy.context import system_context

if TYPE_CHECKING:
    from tests.conftest import Servers

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


@dataclass
class Member:
    user_id: uuid.UUID
    email: str
    role: str
    password: str = PASSWORD


@dataclass
class TenantData:
    id: uuid.UUID
    slug: str
    keys: dict[str, str] = field(default_factory=dict)  # role -> API key
    members: dict[str, Member] = field(default_factory=dict)  # name -> member


class TenantFactory:
    """Owns an event loop and an owner-role database handle for setting up tenants."""

    def __init__(self, servers: Servers) -> None:
        self.loop = asyncio.new_event_loop()
        self.db = Database(servers.owner_url, pool_size=2, max_overflow=0)

    def close(self) -> None:
        self.loop.run_until_complete(self.db.dispose())
        self.loop.close()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def make(self, *, members: dict[str, str] | None = None, region: str = "CN") -> TenantData:
        """A tenant with an API key per built-in role and the given extra members
        (name -> role); its owner is the member called "owner"."""
        return self.run(self._make(members or {}, region))  # type: ignore[no-any-return]

    async def _make(self, members: dict[str, str], region: str) -> TenantData:
        n = next(_counter)
        suffix = uuid.uuid4().hex[:8]
        slug = f"t{n}-{suffix}"
        owner_email = f"owner-{suffix}@example.com"
        async with self.db.sessions() as session, session.begin():
            new = await tenancy.create_tenant(session, name=f"Tenant {n} 测试公司", slug=slug,
                                              admin_email=owner_email, admin_password=PASSWORD,
                                              default_region=region)
            tenant = TenantData(new.tenant.id, slug)
            tenant.members["owner"] = Member(new.admin.id, owner_email, "owner")
            for name, role in members.items():
                email = f"{name}-{suffix}@example.com"
                user = await tenancy.add_member(session, new.ctx, email=email, name=name,
                                                password=PASSWORD, role_key=role)
                tenant.members[name] = Member(user.id, email, role)
        async with self.db.scoped(tenant.id) as session:
            ctx = system_context(tenant.id)
            # No sales key: a key acts for no user, and sales see only their own records.
            for role in ("owner", "admin", "manager", "viewer"):
                issued = await tenancy.create_api_key(session, ctx, name=f"{role} key",
                                                      role_key=role)
                tenant.keys[role] = issued.secret
        return tenant

    def add_member(self, tenant: TenantData, *, email: str, name: str, role: str) -> Member:
        async def go() -> Member:
            async with self.db.scoped(tenant.id) as session:
                user = await tenancy.add_member(session, system_context(tenant.id), email=email,
                                                name=name, password=PASSWORD, role_key=role)
            return Member(user.id, email, role)

        member: Member = self.run(go())
        tenant.members[name] = member
        return member

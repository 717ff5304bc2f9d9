"""Who calls in the kit's contract (tests/modules/kit/contract.py): tenants with members and
API keys, over HTTP and as `CallContext`s for calling services directly.

Members sign in without passwords (a session row, as `login` writes it, and its signed cookie):
argon2 would cost about a second a member, for every entity's contract.
"""

from __future__ import annotations

import base64
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

from graphql_api.csrf import CSRF_HEADER
from infra.db import Database, UnitOfWork, new_id, set_scope
from tenancy import service as tenancy
from tenancy.auth import SESSION_COOKIE
from tenancy.context import Actor, CallContext, system_context
from tenancy.models import WebSession
from tenancy.permissions import BUILTIN_ROLES, Permission
from tests.conftest import LiveServer, Servers
from tests.factories import TenantFactory

_counter = itertools.count(1)


def decode_global_id(global_id: str) -> tuple[str, uuid.UUID]:
    """`Type:<hex>`, base64url without padding: read here, not with the product's decoder."""
    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    type_name, _, value = raw.partition(":")
    return type_name, uuid.UUID(value)


def global_id(type_name: str, id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{id.hex}".encode()).decode().rstrip("=")


# -- who calls -------------------------------------------------------------------------------

@dataclass
class Caller:
    """One actor of a tenant: over HTTP (its API key or its session cookie) and, for calling
    services directly, as a `CallContext` of the same actor."""

    label: str
    http: httpx.Client
    ctx: CallContext

    @property
    def role(self) -> str:
        return self.ctx.actor.role

    def can(self, permission: Permission | None) -> bool:
        return permission is not None and self.ctx.can(permission)

    def post(self, query: str, variables: dict[str, Any] | None = None, *,
             request_id: str | None = None) -> dict[str, Any]:
        headers = {"X-Request-ID": request_id} if request_id else {}
        response = self.http.post("/graphql", json={"query": query,
                                                    "variables": variables or {}},
                                  headers=headers)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def data(self, query: str, variables: dict[str, Any] | None = None, *,
             request_id: str | None = None) -> dict[str, Any]:
        body = self.post(query, variables, request_id=request_id)
        assert "errors" not in body, (self.label, body["errors"])
        return body["data"]  # type: ignore[no-any-return]

    def error(self, query: str, variables: dict[str, Any] | None = None, *,
              request_id: str | None = None) -> dict[str, Any]:
        """The extensions of the one error of a request that must fail."""
        body = self.post(query, variables, request_id=request_id)
        assert body.get("errors"), (self.label, query, body)
        assert len(body["errors"]) == 1, body["errors"]
        return body["errors"][0]["extensions"]  # type: ignore[no-any-return]


@dataclass
class Tenant:
    id: uuid.UUID
    callers: dict[str, Caller] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Caller:
        return self.callers[name]


# Members of the contract's main tenant (name -> built-in role); every one gets a session.
MEMBERS = {"manager": "manager", "sales": "sales", "sales 2": "sales", "viewer": "viewer"}


class World:
    """Tenants for one entity's contract: A (its members and keys), B (the other tenant) and S
    (the rows the sorts are walked over), and the application's database for service calls."""

    def __init__(self, servers: Servers, live_server: LiveServer, tenants: TenantFactory
                 ) -> None:
        self.tenants = tenants
        self.owner_db = tenants.db
        self.url = live_server.url
        self.cookies = live_server.app.state.graphql.cookies  # type: ignore[attr-defined]
        self.plans = live_server.app.state.graphql.plans  # type: ignore[attr-defined]
        self.owner_dsn = servers.owner_dsn
        self.clients: list[httpx.Client] = []
        self.app_db: Database = tenants.run(self._app_db(servers.app_url))
        self.a = self._tenant(MEMBERS, keys=("owner", "manager", "viewer"))
        self.b = self._tenant({}, keys=("owner",))
        self.s = self._tenant({}, keys=("owner",))

    @staticmethod
    async def _app_db(url: str) -> Database:
        return Database(url, pool_size=2, max_overflow=0, read_pool_size=1)

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.tenants.run(self.app_db.dispose())

    def _client(self, headers: dict[str, str] | None = None,
                cookies: dict[str, str] | None = None) -> httpx.Client:
        # The web app's CSRF header: cookie-authenticated writes are refused without it.
        headers = {CSRF_HEADER: "tests", **(headers or {})}
        client = httpx.Client(base_url=self.url, timeout=30, headers=headers, cookies=cookies)
        self.clients.append(client)
        return client

    def _tenant(self, members: dict[str, str], *, keys: tuple[str, ...]) -> Tenant:
        tenant: Tenant = self.tenants.run(self._make_tenant(members, keys))
        return tenant

    async def _make_tenant(self, members: dict[str, str], keys: tuple[str, ...]) -> Tenant:
        n, suffix = next(_counter), uuid.uuid4().hex[:8]
        people: dict[str, tuple[uuid.UUID, str, str]] = {}
        async with self.owner_db.sessions() as session, session.begin():
            new = await tenancy.create_tenant(
                session, name=f"契约 {n} 测试公司", slug=f"contract-{n}-{suffix}",
                admin_email=f"owner-{suffix}@example.com", admin_password=None)
            people["owner"] = (new.admin.id, new.admin.email, "owner")
            for name, role in members.items():
                email = f"{name.replace(' ', '-')}-{suffix}@example.com"
                user = await tenancy.add_member(session, new.ctx, email=email, name=name,
                                                password=None, role_key=role)
                people[name] = (user.id, email, role)
        tenant = Tenant(new.tenant.id)
        async with self.owner_db.scoped(tenant.id) as session:
            for role in keys:
                issued = await tenancy.create_api_key(session, system_context(tenant.id),
                                                      name=f"{role} key", role_key=role)
                actor = Actor("api_key", issued.api_key.id, tenant.id, role,
                              frozenset(BUILTIN_ROLES[role][1]), f"api key {role} key")
                tenant.callers[f"{role} key"] = Caller(
                    f"{role} key", self._client({"Authorization": f"Bearer {issued.secret}"}),
                    CallContext(actor))
            # Signed in without a password: a session row, as `login` writes it.
            for name, (user_id, email, role) in people.items():
                web = WebSession(tenant_id=tenant.id, id=new_id(), user_id=user_id,
                                 expires_at=datetime.now(UTC) + timedelta(hours=1))
                session.add(web)
                actor = Actor("user", user_id, tenant.id, role,
                              frozenset(BUILTIN_ROLES[role][1]), email)
                tenant.callers[name] = Caller(
                    name, self._client(cookies={
                        SESSION_COOKIE: self.cookies.dump(tenant.id, web.id)}),
                    CallContext(actor))
        return tenant

    def call(self, caller: Caller, method: Callable[..., Any], *args: Any, **kwargs: Any
             ) -> Any:
        """A service method called directly, as `caller`, in a transaction of the
        application's role scoped to the caller's tenant, rolled back afterwards."""

        async def go() -> Any:
            uow = UnitOfWork(self.app_db)
            uow.scope(caller.ctx.tenant_id)
            try:
                return await uow.run(_detached(method), caller.ctx, *args, **kwargs)
            finally:
                await uow.rollback()

        return self.tenants.run(go())

    def call_without_rls(self, caller: Caller, method: Callable[..., Any], *args: Any,
                         **kwargs: Any) -> Any:
        """The same, on the owner's connection with row-level security off: only the kit's
        own conditions stand between the caller and other tenants' rows."""

        async def go() -> Any:
            async with self.owner_db.sessions() as session:
                try:
                    # An owner subject to RLS fails here, rather than passing vacuously.
                    await session.execute(text("set local row_security = off"))
                    await set_scope(session, caller.ctx.tenant_id)
                    return await _detached(method)(session, caller.ctx, *args, **kwargs)
                finally:
                    await session.rollback()

        return self.tenants.run(go())

    def sql(self, query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """As the owner (no RLS in the way): what the tests compare the API with."""
        with psycopg.connect(self.owner_dsn) as conn:
            return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def _detached(method: Callable[..., Any]) -> Callable[..., Any]:
    """The method, its rows kept readable after the rollback that follows."""

    async def call(session: Any, *args: Any, **kwargs: Any) -> Any:
        result = await method(session, *args, **kwargs)
        if hasattr(session, "expunge_all"):
            session.expunge_all()
        return result

    return call

"""The per-request GraphQL context: the unit of work, the caller, and this request's loaders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from infra.db import Database, UnitOfWork
from infra.errors import Unauthenticated
from infra.pagination import page_size
from infra.settings import Settings
from tenancy.auth import SessionCookies
from tenancy.context import CallContext
from tenancy.throttle import LoginThrottle

if TYPE_CHECKING:
    from graphql_api.loaders import Loaders

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class GraphQLContext:
    request: Request
    settings: Settings
    db: Database
    cookies: SessionCookies
    uow: UnitOfWork
    call: CallContext | None
    session_id: Any = None  # the web session's id when authenticated by cookie
    set_cookie: str | None = None  # a new session cookie value; "" clears it
    request_id: str = ""
    throttle: LoginThrottle | None = None  # failed logins (tenancy/throttle.py)
    _loaders: Loaders | None = None

    @property
    def ctx(self) -> CallContext:
        """The authenticated caller; anonymous callers get UNAUTHENTICATED."""
        if self.call is None:
            raise Unauthenticated("authentication required: an API key or a session cookie")
        return self.call

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from graphql_api.loaders import Loaders

            self._loaders = Loaders(self)
        return self._loaders

    def page_size(self, first: int | None) -> int:
        """The size of the page a list returns: `first`, within MAX_PAGE_SIZE, or the default.
        Every list of the API sizes its pages here."""
        settings = self.settings
        return page_size(first, default=settings.default_page_size,
                         maximum=settings.max_page_size)

    async def read(
        self,
        fn: Callable[Concatenate[AsyncSession, CallContext, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Call a service with the request's session and the caller."""
        ctx = self.ctx

        def call(session: AsyncSession) -> Awaitable[T]:
            return fn(session, ctx, *args, **kwargs)

        call.reads_only = getattr(fn, "reads_only", False)  # type: ignore[attr-defined]
        return await self.uow.run(call)

    async def write(
        self,
        fn: Callable[Concatenate[AsyncSession, CallContext, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Call a writing service inside a savepoint: if it fails, none of its writes remain.
        The request's data loaders start afresh after it: what they cached may have changed."""
        ctx = self.ctx
        try:
            return await self.uow.run_atomic(lambda s: fn(s, ctx, *args, **kwargs))
        finally:
            self._loaders = None
            ctx.visibility = None  # a write may have changed scopes, departments or shares

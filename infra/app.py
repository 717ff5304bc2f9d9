"""The ASGI application: `/graphql`, `/healthz`, request ids and structured access logs."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
import structlog
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graphql_api.endpoint import GraphQLEndpoint
from graphql_api.schema import build_schema
from infra import crypto
from infra.db import Database, verify_application_role
from infra.first_load import FirstAnswers
from infra.settings import Settings
from infra.ssr import FirstFrames
from infra.web import WebApp
from infra.web_build import DIST
from tenancy.throttle import LoginThrottle
from workers.broker import build_broker
from workers.outbox import relay_through

log = structlog.get_logger("http")


async def _warm(web: WebApp) -> None:
    """What the first page after a start would otherwise wait for (WebApp.warm); a failure
    there costs only that, and is said."""
    try:
        await web.warm()
    except Exception as exc:  # noqa: BLE001
        log.warning("warming up failed", error=type(exc).__name__)


class RequestIdMiddleware:
    """Gives every request an id (or keeps a sane incoming `X-Request-ID`), binds it to the logs
    and returns it in the response headers."""

    state: Any

    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((value.decode("latin-1") for name, value in scope["headers"]
                         if name == b"x-request-id"), "")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else \
            os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"].append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.access_log:
                log.info("request", method=scope["method"], path=scope["path"], status=status,
                         ms=round((time.perf_counter() - started) * 1000, 2))


def create_app(settings: Settings, *, app_database_url: str, redis_url: str,
               access_log: bool = True) -> RequestIdMiddleware:
    crypto.install(crypto.load_keyring(settings))  # production without keys stops here
    db = Database(app_database_url, pool_size=settings.db_pool_size,
                  max_overflow=settings.db_pool_overflow,
                  read_pool_size=settings.db_read_pool_size)
    redis = aioredis.Redis.from_url(redis_url)
    throttle = LoginThrottle(redis, per_email=settings.login_max_failures_per_email,
                             per_address=settings.login_max_failures_per_address,
                             window_seconds=settings.login_failure_window_seconds,
                             key_prefix=settings.redis_key_prefix)
    graphql = GraphQLEndpoint(build_schema(settings), db, settings, throttle)
    # Requests that commit outbox events send a relay through this app's broker, after commit.
    broker = build_broker(settings, redis_url)

    async def healthz(request: Request) -> Response:
        checks: dict[str, Any] = {}
        try:
            async with db.engine.connect() as conn:
                await conn.execute(text("select 1"))
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - report any failure as unhealthy
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            await redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"error: {type(exc).__name__}"
        healthy = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if healthy else "unhealthy", **checks},
                            status_code=200 if healthy else 503)

    first_frames = (FirstFrames(DIST, timeout=settings.first_frame_timeout_ms / 1000)
                    if settings.first_frames else None)

    web = WebApp(first_answers=FirstAnswers(graphql, DIST), first_frames=first_frames)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await verify_application_role(db.engine)
        # The renderer of first frames starts now rather than on the first page (not in tests:
        # they make many apps, most of which never draw a page).
        warming = asyncio.ensure_future(_warm(web)) if settings.env != "test" else None
        yield
        if warming is not None:
            warming.cancel()
        if first_frames is not None:
            await first_frames.close()
        await db.dispose()
        await redis.aclose()
        broker.client.close()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            # the web app at `/`, last: it answers every other path
            *web.routes(),
        ],
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.graphql = graphql
    app.state.settings = settings
    app.state.broker = broker
    app.state.web = web

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql":
            relay_through(broker)  # this request's context only
            await graphql(scope, receive, send)  # the hot path, straight to the endpoint
        else:
            await app(scope, receive, send)

    outer = RequestIdMiddleware(dispatch, access_log=access_log)
    outer.state = app.state  # the app's state (db, graphql, settings) for tests and tools
    return outer

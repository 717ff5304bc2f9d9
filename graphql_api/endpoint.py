"""The `/graphql` endpoint: one request, one transaction, committed before the response is sent.

Authentication happens inside the request's transaction: the credential names the tenant, the
transaction is scoped to it, and the credential is checked with row-level security in force.

HTTP follows the GraphQL-over-HTTP spec: a client that asks for
`application/graphql-response+json` (Accept) gets it, with 4xx for a request that never executed
(400 for a body, document or variables it could not run, 401 and 403 when refused); everyone else
gets `application/json`, and 200 for anything GraphQL answered, as before.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

import orjson
import strawberry
import structlog
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from graphql_api.compiled import Plan, PlanCache
from graphql_api.context import GraphQLContext
from graphql_api.csrf import csrf_refusal
from graphql_api.errors import error_payload, format_error
from graphql_api.graphiql import graphiql_html
from graphql_api.unstorable import unstorable_variables
from infra.db import Database, NeedsTransaction, UnitOfWork
from infra.errors import AppError, BadRequest, PayloadTooLarge, Unauthenticated, ValidationFailed
from infra.settings import Settings
from tenancy import api_keys
from tenancy.auth import (
    SESSION_COOKIE,
    Authenticated,
    SessionCookies,
    api_key_cache,
    authenticate_api_key,
    authenticate_session,
    touch_api_key,
)
from tenancy.context import CallContext
from tenancy.throttle import LoginThrottle

log = structlog.get_logger("graphql")


JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
_GRAPHQL_RESPONSE_UTF8 = f"{GRAPHQL_RESPONSE}; charset=utf-8"
# A request that never executed, under GRAPHQL_RESPONSE: its status by its error's code.
_REQUEST_ERROR_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "RATE_LIMITED": 429,
                         "PAYLOAD_TOO_LARGE": 413}


def json_response(payload: dict[str, Any], status: int = 200, media_type: str = JSON
                  ) -> Response:
    return Response(orjson.dumps(payload), status_code=status,
                    media_type=_GRAPHQL_RESPONSE_UTF8 if media_type == GRAPHQL_RESPONSE else JSON)


def graphql_response(payload: dict[str, Any], media_type: str) -> Response:
    """A GraphQL result: 200, except under GRAPHQL_RESPONSE when it has no `data` (the request
    never executed: the document or variables were refused), which is a 4xx."""
    status = 200
    if media_type == GRAPHQL_RESPONSE and "data" not in payload:
        code = payload["errors"][0].get("extensions", {}).get("code")
        status = _REQUEST_ERROR_STATUS.get(code, 400)
    return json_response(payload, status, media_type)


@lru_cache(maxsize=256)
def response_media_type(accept: str) -> str:
    """GRAPHQL_RESPONSE when the Accept header asks for it at least as much as for JSON
    (`application/json`, `application/*`, `*/*`); JSON otherwise, and for anything else asked
    (JSON is what every client before the spec's media type understands)."""
    wanted = {GRAPHQL_RESPONSE: 0.0, JSON: 0.0}
    for item in accept.split(","):
        media, *parameters = item.split(";")
        media = media.strip().lower()
        kind = GRAPHQL_RESPONSE if media == GRAPHQL_RESPONSE else \
            JSON if media in (JSON, "application/*", "*/*") else None
        if kind is None:
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        wanted[kind] = max(wanted[kind], quality)
    best = wanted[GRAPHQL_RESPONSE]
    return GRAPHQL_RESPONSE if best > 0 and best >= wanted[JSON] else JSON


@lru_cache(maxsize=1024)
def client_address(host: str) -> str | None:
    """The client's IP address in PostgreSQL's `inet` form, or None when the host is not one
    (a trusted proxy's X-Forwarded-For may say `unknown`, `_hidden`, anything)."""
    try:
        # An IPv6 zone (`fe80::1%eth0`) means nothing beyond the proxy; inet has none.
        return str(ipaddress.ip_address(host.partition("%")[0]))
    except ValueError:
        return None


class GraphQLEndpoint:
    def __init__(self, schema: strawberry.Schema, db: Database, settings: Settings,
                 throttle: LoginThrottle | None = None) -> None:
        self.schema = schema
        self.db = db
        self.settings = settings
        self.throttle = throttle
        self.cookies = SessionCookies(settings.secret_key, settings.session_max_age_seconds)
        self.plans = PlanCache(schema) if settings.graphql_compiled_plans else None
        api_key_cache.ttl = settings.api_key_cache_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As a bare ASGI app: the hot route skips the router and Starlette's middleware."""
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        request_id: str = request.state.request_id
        accept = request.headers.get("accept")
        media_type = response_media_type(accept) if accept else JSON
        if request.method not in ("GET", "POST"):
            return json_response({"errors": [error_payload(
                "use POST with a JSON body", "BAD_REQUEST")]}, 405, media_type)
        if request.method == "GET":
            if self.settings.is_production:
                return json_response({"errors": [error_payload(
                    "use POST with a JSON body", "BAD_REQUEST")]}, 405, media_type)
            return HTMLResponse(graphiql_html())
        _keep_only_an_ip_address(request.scope)
        try:
            body = await self._body(request)
        except ValidationFailed as exc:  # text the database cannot hold, in the variables
            return graphql_response({"errors": [{"message": exc.message,
                                                 "extensions": exc.extensions()}]}, media_type)
        except AppError as exc:
            status = 413 if isinstance(exc, PayloadTooLarge) else 400
            return json_response({"errors": [error_payload(exc.message, exc.code)]}, status,
                                 media_type)
        if (refusal := csrf_refusal(request)) is not None:
            return refusal

        plan = self.plans.get(body["query"], body.get("operationName")) if self.plans else None
        if plan is not None and plan.read_lane:
            response = await self._read_lane(request, body, plan, media_type)
            if response is not None:
                return response
            # Still on the lane: it failed for a reason the normal path will report, so go
            # straight there. Taken off it: the plan needs a transaction, so run it in one.
            plan = None if plan.read_lane else plan

        uow = UnitOfWork(self.db)
        context = GraphQLContext(request=request, settings=self.settings, db=self.db,
                                 cookies=self.cookies, uow=uow, call=None, throttle=self.throttle,
                                 request_id=request_id)
        try:
            try:
                await self._authenticate(request, context)
            except AppError as exc:
                await uow.rollback()
                return json_response({"errors": [error_payload(exc.message, exc.code)]}, 401,
                                     media_type)
            payload = await self._execute(body, context, plan)
            if payload.get("data") is not None:
                await uow.commit()
            # else: an error reached the root (every mutation returns a non-null type), so the
            # caller cannot tell which writes happened: none did; the finally rolls back.
        finally:
            await uow.rollback()  # no-op after a commit; frees the connection on any failure
        response = graphql_response(payload, media_type)
        # A new session only for a request that committed (a login beside a failing mutation
        # gets none); dropping a stale cookie always.
        if context.set_cookie == "" or (context.set_cookie and payload.get("data") is not None):
            self._set_cookie(response, context.set_cookie)
        return response

    async def answer_for_page(self, request: Request,
                              operations: list[tuple[str, dict[str, Any]]]
                              ) -> list[dict[str, Any]] | None:
        """The `data` of the app's own queries, run for the HTML of a page (infra/first_load.py)
        as its session cookie's user, exactly as `/graphql` would run them: None for no valid
        session, any error, or a document that is not a query (nothing here ever writes)."""
        if not request.cookies.get(SESSION_COOKIE) or request.headers.get("authorization"):
            return None
        uow = UnitOfWork(self.db)
        context = GraphQLContext(request=request, settings=self.settings, db=self.db,
                                 cookies=self.cookies, uow=uow, call=None, throttle=self.throttle,
                                 request_id=request.state.request_id)
        answers = []
        try:
            await self._authenticate(request, context)
            if context.call is None:
                return None
            for query, variables in operations:
                if not query.lstrip().startswith("query"):
                    return None
                plan = self.plans.get(query, None) if self.plans else None
                payload = await self._execute({"query": query, "variables": variables}, context,
                                              plan)
                if payload.get("errors") or payload.get("data") is None:
                    return None
                answers.append(payload["data"])
            await uow.commit()  # what authentication touched (a session's last use)
        except Exception as exc:  # noqa: BLE001 - the page then asks itself, and sees the error
            log.warning("first answers failed", error=type(exc).__name__)
            return None
        finally:
            await uow.rollback()
        return answers

    async def _read_lane(self, request: Request, body: dict[str, Any], plan: Plan,
                         media_type: str) -> Response | None:
        """A compiled query on the read lane: no ORM, no BEGIN or COMMIT, one round trip per
        statement (see `UnitOfWork`). None when the request must be answered the usual way:
        the plan abandoned (errors are reported by the normal path, which runs it again; plans
        only read) or met work that needs a transaction (then it never takes this lane again).
        """
        uow = UnitOfWork(self.db, read_only=True)
        context = GraphQLContext(request=request, settings=self.settings, db=self.db,
                                 cookies=self.cookies, uow=uow, call=None, throttle=self.throttle,
                                 request_id=request.state.request_id)
        authenticated = False
        try:
            await self._authenticate(request, context)
            authenticated = True
            data = await plan.execute(context, body.get("variables"))
        except NeedsTransaction:
            if authenticated:
                plan.read_lane = False
            return None
        except Exception:  # noqa: BLE001 - Abandon, a domain error, a 401: answered as usual
            self.plans.abandoned += 1  # type: ignore[union-attr]
            return None
        finally:
            await uow.rollback()  # returns the connection; its statements have committed
        self.plans.hits += 1  # type: ignore[union-attr]
        response = json_response({"data": data}, 200, media_type)
        if context.set_cookie is not None:
            self._set_cookie(response, context.set_cookie)
        return response

    async def _execute(self, body: dict[str, Any], context: GraphQLContext, plan: Plan | None
                       ) -> dict[str, Any]:
        query, operation_name = body["query"], body.get("operationName")
        if plan is not None:
            try:
                data = await plan.execute(context, body.get("variables"))
            except Exception:  # noqa: BLE001 - Abandon, a domain error, anything: see below
                # The normal path answers instead, with errors in the usual shape. Plans only
                # read, so running the operation again is safe.
                self.plans.abandoned += 1  # type: ignore[union-attr]
            else:
                self.plans.hits += 1  # type: ignore[union-attr]
                return {"data": data}
        result = await self.schema.execute(query, variable_values=body.get("variables"),
                                           context_value=context, operation_name=operation_name)
        payload: dict[str, Any] = {}
        if result.errors:
            payload["errors"] = [format_error(e, request_id=context.request_id)
                                 for e in result.errors]
        # `data` is absent only when execution never started (a document the schema rejects);
        # an error during execution that reached the root leaves `"data": null`.
        if result.data is not None or not result.errors or any(e.path for e in result.errors):
            payload["data"] = result.data
        if self.plans and result.data is not None and not self.plans.known(query,
                                                                           operation_name):
            self.plans.learn(query, operation_name)  # it parsed and validated: compile it
        return payload

    async def _body(self, request: Request) -> dict[str, Any]:
        # JSON only: a cross-site form post cannot send it without a CORS preflight we never
        # grant, which is what keeps cookie-authenticated mutations safe from CSRF.
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type not in ("application/json", "application/graphql-response+json"):
            raise BadRequest("send the operation as application/json")
        raw = await self._read_capped(request)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BadRequest("the body is not valid JSON") from None
        # The shape the GraphQL-over-HTTP spec gives the body, checked before any of it is used.
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise BadRequest("the body needs a `query` string")
        for name in ("variables", "extensions"):
            if body.get(name) is not None and not isinstance(body[name], dict):
                raise BadRequest(f"`{name}` must be an object or null")
        operation_name = body.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            raise BadRequest("`operationName` must be a string or null")
        # JSON can carry a NUL only as the escape \u0000 (and orjson refuses lone surrogates):
        # the variables are walked only when the body holds one.
        if b"\\u0000" in raw and body.get("variables") and \
                (unstorable := unstorable_variables(body["variables"])):
            raise ValidationFailed(unstorable)
        return body

    async def _read_capped(self, request: Request) -> bytes:
        """The body, refused past GRAPHQL_MAX_BODY_BYTES whether or not it declares a length."""
        limit = self.settings.graphql_max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(limit)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _authenticate(self, request: Request, context: GraphQLContext) -> None:
        header = request.headers.get("authorization")
        found: Authenticated | None
        if header:
            scheme, _, credential = header.partition(" ")
            if scheme.lower() != "bearer" or not credential.strip():
                raise Unauthenticated("malformed Authorization header: use `Bearer <api key>`")
            parsed = api_keys.parse_key(credential)
            if parsed is None:  # not one of our keys: as unknown as a revoked one
                raise Unauthenticated("invalid, expired or revoked API key")
            context.uow.scope(parsed.tenant_id)
            found = api_key_cache.get(parsed.key_hash)
            if found is None:
                found = await context.uow.run(authenticate_api_key, parsed)
                if found is None:
                    raise Unauthenticated("invalid, expired or revoked API key")
                if found.touch_due:  # a use even if this request is refused and rolled back
                    await touch_api_key(self.db, context.uow, found.actor)
                api_key_cache.put(parsed.key_hash, found)
        elif cookie := request.cookies.get(SESSION_COOKIE):
            loaded = self.cookies.load(cookie)
            if loaded is None:
                context.set_cookie = ""
                return
            tenant_id, session_id = loaded
            context.uow.scope(tenant_id)
            found = await context.uow.run(authenticate_session, tenant_id, session_id)
            if found is None:  # expired or revoked: carry on as anonymous, drop the cookie
                context.set_cookie = ""
                return
            context.session_id = session_id
        else:
            return
        client = request.client.host if request.client else None
        context.call = CallContext(found.actor, request_id=context.request_id, client_ip=client,
                                   region=found.region, visibility=found.visibility)
        structlog.contextvars.bind_contextvars(tenant_id=str(found.actor.tenant_id),
                                               actor=found.actor.label)

    def _set_cookie(self, response: Response, value: str) -> None:
        if value == "":
            response.delete_cookie(SESSION_COOKIE, path="/")
            return
        response.set_cookie(SESSION_COOKIE, value, max_age=self.settings.session_max_age_seconds,
                            path="/", httponly=True, samesite="lax",
                            secure=self.settings.cookie_secure or self.settings.is_production)


def _keep_only_an_ip_address(scope: Scope) -> None:
    """The client address, as uvicorn took it from a trusted proxy's X-Forwarded-For, kept only
    when it is an IP address: audit rows, sessions and the login throttle store None otherwise,
    instead of failing the request."""
    client = scope.get("client")
    if client:
        address = client_address(client[0])
        if address != client[0]:
            scope["client"] = (address, client[1]) if address else None

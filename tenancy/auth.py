"""Authentication: API keys for integrators, session cookies for the web app, and login.

Every lookup runs under row-level security like any other query: the credential names its tenant
(an API key's tenant part, a signed cookie's tenant id), the transaction is scoped to that tenant,
and only then is the credential looked up and checked.

Login checks the password with no database connection held (argon2 is slow on purpose; a pooled
connection waiting on it is one that other requests cannot have), a bounded number at a time per
client address, and then writes its session in the request's own transaction.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, TimestampSigner
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from infra.db import (
    Database,
    ReadSession,
    UnitOfWork,
    fetch,
    new_id,
    reads_only,
    set_scope,
)
from infra.errors import AppError, BadRequest, Unauthenticated, ValidationFailed
from infra.validation import normalise_email
from modules.kit import scopes
from tenancy.api_keys import ParsedKey
from tenancy.audit import record_change
from tenancy.context import Actor, CallContext
from tenancy.models import Membership, Role, Tenant, User, WebSession
from tenancy.passwords import verify_password
from tenancy.throttle import LoginThrottle, PasswordCheckGate

SESSION_COOKIE = "crm_session"
LAST_USED_GRANULARITY = timedelta(minutes=5)


@dataclass(frozen=True)
class Authenticated:
    actor: Actor
    region: str
    # An API key whose `last_used_at` is older than LAST_USED_GRANULARITY: see `touch_api_key`.
    touch_due: bool = False
    visibility: Any = None  # read with a session's caller (modules/kit/scopes.py)


async def _autocommit(db: Database, tenant_id: uuid.UUID | None, sql: str,
                      params: dict[str, Any]) -> list[Any]:
    """One statement on a connection of its own, held for that statement only: an autocommit
    connection of the read pool, the tenant set for exactly this statement (see `fetch`). Its
    holders never wait for another connection, so a caller that holds one of the main pool
    while it waits here cannot close a cycle."""
    conn = await db.read_connection()
    try:
        return await fetch(ReadSession(conn, tenant_id), sql, params)
    finally:
        await db.release_read_connection(conn)


API_KEY_SQL = """
select k.id, k.name, k.expires_at, k.revoked_at, k.last_used_at, r.key as role, r.permissions,
       t.status, t.default_region
from api_keys k
join roles r on r.tenant_id = k.tenant_id and r.id = k.role_id
join tenants t on t.id = k.tenant_id
where k.tenant_id = %(tenant_id)s and k.key_hash = %(key_hash)s
"""
TOUCH_API_KEY_SQL = """
update api_keys set last_used_at = now()
where tenant_id = %(tenant_id)s and id = %(id)s
  and (last_used_at is null or last_used_at < now() - %(granularity)s::interval)
"""


@reads_only
async def authenticate_api_key(session: AsyncSession, key: ParsedKey) -> Authenticated | None:
    rows = await fetch(session, API_KEY_SQL, {"tenant_id": key.tenant_id,
                                              "key_hash": key.key_hash})
    now = datetime.now(UTC)
    row = rows[0] if rows else None
    if row is None or row.revoked_at is not None or row.status != "active":
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    actor = Actor("api_key", row.id, key.tenant_id, row.role, frozenset(row.permissions),
                  f"api key {row.name}")
    # Coarse on purpose: a write per request would turn every read into a write.
    touch_due = row.last_used_at is None or now - row.last_used_at > LAST_USED_GRANULARITY
    return Authenticated(actor, row.default_region, touch_due=touch_due)


@reads_only
async def _touch_in_read_lane(session: AsyncSession, params: dict[str, Any]) -> None:
    await fetch(session, TOUCH_API_KEY_SQL, params)


async def touch_api_key(db: Database, uow: UnitOfWork, actor: Actor) -> None:
    """Record a use of an API key, whatever becomes of the request: apart from the request's
    transaction, which a refused request (FORBIDDEN, say) rolls back. In the read lane every
    statement commits by itself, so the lane's own connection does; otherwise a connection held
    for this one statement (the request's is in its transaction)."""
    params = {"tenant_id": actor.tenant_id, "id": actor.id,
              "granularity": LAST_USED_GRANULARITY}
    if uow.read_only:
        await uow.run(_touch_in_read_lane, params)
    else:
        await _autocommit(db, actor.tenant_id, TOUCH_API_KEY_SQL, params)


class ApiKeyCache:
    """Verified API keys for a few seconds, so that a busy integration's requests skip the lookup.

    Keyed by the key's SHA-256, which names its tenant: an entry can only ever answer for the key
    it was made from. Revoking a key drops it here at once; other server processes notice within
    `ttl` seconds (API_KEY_CACHE_SECONDS, 0 turns the cache off), as they do a role change.
    """

    def __init__(self, ttl: float, maxsize: int = 10_000) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self._entries: dict[bytes, tuple[float, Authenticated]] = {}
        # Keys forgotten lately, until when: a request that looked a key up just before its
        # revocation committed must not put it back (see `forget`).
        self._forgotten: dict[uuid.UUID, float] = {}

    def get(self, key_hash: bytes) -> Authenticated | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            self._entries.pop(key_hash, None)
            return None
        return entry[1]

    def put(self, key_hash: bytes, found: Authenticated) -> None:
        if self.ttl <= 0:
            return
        if self._forgotten:
            now = time.monotonic()
            self._forgotten = {k: t for k, t in self._forgotten.items() if t > now}
            if found.actor.id in self._forgotten:
                return
        if len(self._entries) >= self.maxsize:
            self._entries.clear()
        # The lookup that found it has recorded its use (`touch_api_key`).
        self._entries[key_hash] = (time.monotonic() + self.ttl,
                                   dataclasses.replace(found, touch_due=False))

    def forget(self, key_id: uuid.UUID) -> None:
        """Drop a key now, and refuse to cache it again for a while: the revocation is called
        before its transaction commits, and until then a concurrent request still finds the key
        valid in the database. A minute outlasts any request; after it the lookup sees the
        committed revocation (or, if it rolled back, caching resumes)."""
        self._forgotten[key_id] = time.monotonic() + max(60.0, self.ttl)
        for key_hash, (_, found) in list(self._entries.items()):
            if found.actor.id == key_id:
                self._entries.pop(key_hash, None)


api_key_cache = ApiKeyCache(ttl=5.0)


class SessionCookies:
    """Signs `<tenant id>.<session id>`; the session row itself is the source of truth."""

    def __init__(self, secret_key: str, max_age: int) -> None:
        self._signer = TimestampSigner(secret_key, salt="crm.session")
        self.max_age = max_age

    def dump(self, tenant_id: uuid.UUID, session_id: uuid.UUID) -> str:
        return self._signer.sign(f"{tenant_id.hex}.{session_id.hex}").decode()

    def load(self, value: str) -> tuple[uuid.UUID, uuid.UUID] | None:
        try:
            raw = self._signer.unsign(value, max_age=self.max_age).decode()
            tenant_hex, session_hex = raw.split(".")
            return uuid.UUID(hex=tenant_hex), uuid.UUID(hex=session_hex)
        except (BadSignature, ValueError):
            return None


# With the caller, what their data scope and the records shared with them let them see
# (modules/kit/scopes.py): no round trip of its own for a request that lists owned records.
SESSION_SQL = f"""
select s.user_id, s.expires_at, s.revoked_at, u.email, m.status as membership_status,
       r.key as role, r.permissions, r.data_scope, t.status, t.default_region,
       {scopes.with_the_caller("s.user_id", "r.data_scope")}
from web_sessions s
join memberships m on m.tenant_id = s.tenant_id and m.user_id = s.user_id
join roles r on r.tenant_id = m.tenant_id and r.id = m.role_id
join users u on u.id = s.user_id
join tenants t on t.id = s.tenant_id
where s.tenant_id = %(tenant_id)s and s.id = %(session_id)s
"""


@reads_only
async def authenticate_session(session: AsyncSession, tenant_id: uuid.UUID,
                               session_id: uuid.UUID) -> Authenticated | None:
    rows = await fetch(session, SESSION_SQL, {"tenant_id": tenant_id, "session_id": session_id})
    row = rows[0] if rows else None
    if (row is None or row.revoked_at is not None or row.expires_at <= datetime.now(UTC)
            or row.membership_status != "active" or row.status != "active"):
        return None
    actor = Actor("user", row.user_id, tenant_id, row.role, frozenset(row.permissions), row.email,
                  row.data_scope)
    return Authenticated(actor, row.default_region, visibility=scopes.from_columns(
        row.data_scope, row.scope_owners, row.scope_shares))


@dataclass(frozen=True)
class TenantChoice:
    id: uuid.UUID
    slug: str
    name: str


@dataclass(frozen=True)
class LoginResult:
    user_id: uuid.UUID
    tenants: list[TenantChoice]
    chosen: TenantChoice | None
    cookie: str | None


@dataclass(frozen=True)
class FoundUser:
    id: uuid.UUID
    email: str  # as stored: the one normalised form
    password_hash: str | None


FIND_USER_SQL = "select id, email, password_hash from auth_find_user(%(email)s)"

# Password checks in progress, per client address (see PasswordCheckGate).
password_checks = PasswordCheckGate()


def login_email(value: str) -> str:
    """The address a login is for, in its one normalised form (VALIDATION if it is none)."""
    try:
        return normalise_email(value)
    except ValueError as exc:
        raise ValidationFailed.single("email", str(exc), "invalid_email") from None


async def find_user(db: Database, email: str) -> FoundUser | None:
    """The user with this normalised email, by the exact comparison of the security-definer
    lookup, on a connection released before the password is checked."""
    rows = await _autocommit(db, None, FIND_USER_SQL, {"email": email})
    return FoundUser(rows[0].id, rows[0].email, rows[0].password_hash) if rows else None


async def login(db: Database, uow: UnitOfWork, cookies: SessionCookies, *, email: str,
                password: str, tenant_slug: str | None, client_ip: str | None,
                user_agent: str | None, request_id: str,
                throttle: LoginThrottle | None = None) -> LoginResult:
    """Check the password, list the user's tenants, and open a session in the chosen one.

    A user in one tenant gets it; a user in several must name one (`tenant_slug`). The email is
    normalised once, and that form is what the throttle counts, the lookup compares and the
    audit row names. Up to the password check no connection is held; the session, its audit row
    and `last_login_at` are then written in the request's transaction (`uow`), so they stand or
    fall with the rest of the request.
    """
    email = login_email(email)
    await _release_connection(uow)
    async with password_checks.enter(client_ip):
        if throttle is not None:
            await throttle.attempt(email, client_ip)
        user = await find_user(db, email)
        verified = await verify_password(user.password_hash if user else None, password)
    try:
        if not verified or user is None:
            raise Unauthenticated("wrong email or password")
        result = await uow.run_atomic(
            _open_session, user, cookies=cookies, tenant_slug=tenant_slug, client_ip=client_ip,
            user_agent=user_agent, request_id=request_id, request_tenant=uow.tenant_id)
    except Unauthenticated:
        if throttle is not None:
            throttle.failed(email, client_ip)
        raise
    if throttle is not None:
        await throttle.succeeded(email, client_ip)
    return result


async def _wrote_nothing(session: AsyncSession) -> bool:
    return (await session.scalar(text("select pg_current_xact_id_if_assigned() is null"))
            ) is True


async def _release_connection(uow: UnitOfWork) -> None:
    """Give the request's connection back before the password check. Authentication may have
    begun the transaction with its reads (a signed-in user switching tenants, a stale cookie);
    a transaction that has written nothing (no transaction id assigned) is rolled back, which
    loses nothing, and the session's writes begin another, scoped alike. One that has written
    is refused: login comes before the request's other mutations, or alone."""
    if not uow.in_transaction:
        return
    if not await uow.run(_wrote_nothing):
        raise BadRequest("log in before any other mutation of the same request (or alone)")
    await uow.rollback()


async def _set_auth_user(session: AsyncSession, user_id: uuid.UUID | None) -> None:
    await session.execute(text("select set_config('app.auth_user_id', :u, true)"),
                          {"u": str(user_id) if user_id else ""})


async def _active_tenants(session: AsyncSession, user_id: uuid.UUID) -> list[TenantChoice]:
    """The active tenants where this user's membership is active, by name. Visible only while
    authenticating (`app.auth_user_id` set, no tenant in scope): the caller sets both."""
    rows = await session.execute(
        select(Tenant.id, Tenant.slug, Tenant.name)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .where(Membership.user_id == user_id, Membership.status == "active",
               Tenant.status == "active")
        .order_by(Tenant.name)
    )
    return [TenantChoice(r.id, r.slug, r.name) for r in rows]


async def _start_session(session: AsyncSession, cookies: SessionCookies, *, user_id: uuid.UUID,
                         email: str, tenant_id: uuid.UUID, client_ip: str | None,
                         user_agent: str | None, request_id: str) -> str:
    """A new web session in `tenant_id` (the transaction scoped to it), audited and evented
    there; the signed cookie that names it."""
    role = await session.scalar(
        select(Role.key).join(Membership, (Membership.tenant_id == Role.tenant_id)
                              & (Membership.role_id == Role.id))
        .where(Membership.tenant_id == tenant_id, Membership.user_id == user_id))
    actor = Actor("user", user_id, tenant_id, role or "", frozenset(), email)
    ctx = CallContext(actor, request_id=request_id, client_ip=client_ip)
    web_session = WebSession(tenant_id=tenant_id, id=new_id(), user_id=user_id,
                             expires_at=datetime.now(UTC) + timedelta(seconds=cookies.max_age),
                             client_ip=client_ip, user_agent=(user_agent or "")[:400] or None)
    session.add(web_session)
    await session.execute(update(User).where(User.id == user_id).values(last_login_at=func.now()))
    await session.flush()
    await record_change(session, ctx, entity_type="session", entity_id=web_session.id,
                        action="created", before=None,
                        after={"user_id": str(user_id), "client_ip": client_ip})
    return cookies.dump(tenant_id, web_session.id)


async def _open_session(session: AsyncSession, user: FoundUser, *, cookies: SessionCookies,
                        tenant_slug: str | None, client_ip: str | None, user_agent: str | None,
                        request_id: str, request_tenant: uuid.UUID | None) -> LoginResult:
    """In the request's transaction, inside a savepoint: the user's tenants, then the session in
    the chosen one. The transaction is scoped to that tenant only meanwhile and handed back as
    it came (the request's tenant, no authenticating user); should anything fail, rolling back
    the savepoint undoes both settings with the writes."""
    # Visible only while authenticating: this user's own memberships across tenants.
    await set_scope(session, None)
    await _set_auth_user(session, user.id)
    tenants = await _active_tenants(session, user.id)
    if not tenants:
        raise Unauthenticated("this user belongs to no active tenant")
    if tenant_slug:
        chosen = next((t for t in tenants if t.slug == tenant_slug), None)
        if chosen is None:
            raise ValidationFailed.single("tenant", "you are not a member of this tenant")
    elif len(tenants) == 1:
        chosen = tenants[0]
    else:
        chosen = None
    cookie = None
    if chosen is not None:
        await set_scope(session, chosen.id)
        cookie = await _start_session(session, cookies, user_id=user.id, email=user.email,
                                      tenant_id=chosen.id, client_ip=client_ip,
                                      user_agent=user_agent, request_id=request_id)
    await _set_auth_user(session, None)
    await set_scope(session, request_tenant)
    return LoginResult(user.id, tenants, chosen, cookie)


class NotATenantMember(AppError):
    """Switching to a tenant the user is no active member of (or that does not exist, or is
    not active: the same answer, so that slugs cannot be probed)."""

    code = "NOT_A_MEMBER"


@dataclass(frozen=True)
class SwitchResult:
    tenant: TenantChoice
    cookie: str


async def my_tenants(session: AsyncSession, ctx: CallContext) -> list[TenantChoice]:
    """The tenants the signed-in user may switch to (their active memberships, the current
    one included), by name. Only a user has any; an API key belongs to its tenant alone."""
    user_id = ctx.actor.user_id
    if user_id is None:
        return []
    try:
        await set_scope(session, None)
        await _set_auth_user(session, user_id)
        return await _active_tenants(session, user_id)
    finally:
        await _set_auth_user(session, None)
        await set_scope(session, ctx.tenant_id)


def switch_throttle(throttle: LoginThrottle) -> LoginThrottle:
    """Refused switches counted like failed logins, under keys of their own: a user probing
    tenant slugs is slowed down as a password guesser is, and switching (which checks no
    password) neither uses up nor clears their failed logins."""
    return LoginThrottle(throttle.redis, per_email=throttle.per_email,
                         per_address=throttle.per_address, window_seconds=throttle.window,
                         key_prefix=f"{throttle.key_prefix}switch:")


async def switch_tenant(uow: UnitOfWork, cookies: SessionCookies, ctx: CallContext, *,
                        session_id: uuid.UUID | None, tenant_slug: str, user_agent: str | None,
                        throttle: LoginThrottle | None = None) -> SwitchResult:
    """Move the signed-in user's web session to another tenant of theirs, without the password:
    a new session there (audited and evented in that tenant, as login's is) and the current one
    ended (audited in its own). Only for a user signed in by cookie; an active membership of an
    active tenant is required, else NOT_A_MEMBER."""
    actor = ctx.actor
    if actor.kind != "user" or session_id is None:
        raise BadRequest("only a user signed in to the web app can switch tenants")
    throttle = switch_throttle(throttle) if throttle is not None else None
    if throttle is not None:
        await throttle.attempt(actor.label, ctx.client_ip)
    try:
        result = await uow.run_atomic(_switch_session, ctx, cookies=cookies,
                                      session_id=session_id, tenant_slug=tenant_slug,
                                      user_agent=user_agent)
    except NotATenantMember:
        if throttle is not None:
            throttle.failed(actor.label, ctx.client_ip)
        raise
    if throttle is not None:
        await throttle.succeeded(actor.label, ctx.client_ip)
    return result


async def _switch_session(session: AsyncSession, ctx: CallContext, *, cookies: SessionCookies,
                          session_id: uuid.UUID, tenant_slug: str,
                          user_agent: str | None) -> SwitchResult:
    """In a savepoint of the request's transaction, which is scoped to the current tenant and
    handed back so (see `_open_session`)."""
    user_id = ctx.actor.user_id
    assert user_id is not None  # checked by switch_tenant
    await set_scope(session, None)
    await _set_auth_user(session, user_id)
    tenants = await _active_tenants(session, user_id)
    await _set_auth_user(session, None)
    chosen = next((t for t in tenants if t.slug == tenant_slug), None)
    if chosen is None:
        raise NotATenantMember("you are not an active member of this tenant")
    await set_scope(session, chosen.id)
    cookie = await _start_session(session, cookies, user_id=user_id, email=ctx.actor.label,
                                  tenant_id=chosen.id, client_ip=ctx.client_ip,
                                  user_agent=user_agent, request_id=ctx.request_id)
    await set_scope(session, ctx.tenant_id)
    await logout(session, ctx, session_id)
    return SwitchResult(chosen, cookie)


async def logout(session: AsyncSession, ctx: CallContext, session_id: uuid.UUID) -> None:
    result = await session.execute(
        update(WebSession)
        .where(WebSession.tenant_id == ctx.tenant_id, WebSession.id == session_id,
               WebSession.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    if result.rowcount:  # type: ignore[attr-defined]
        await record_change(session, ctx, entity_type="session", entity_id=session_id,
                            action="revoked", before=None, after=None)

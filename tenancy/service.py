"""Tenancy rules: creating tenants with their built-in roles, users and memberships, API keys
(declared through the module kit: `tenancy.entities`)."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

import phonenumbers
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from infra.db import new_id, set_scope
from infra.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from infra.pagination import Page
from infra.validation import normalise_email
from modules.kit import EntityService
from tenancy import api_keys
from tenancy.audit import record_change, snapshot
from tenancy.auth import api_key_cache
from tenancy.context import CallContext, system_context
from tenancy.entities import API_KEY, MEMBER
from tenancy.models import ApiKey, Member, Membership, Role, Tenant, User, WebSession
from tenancy.passwords import MIN_PASSWORD_LENGTH, hash_password
from tenancy.permissions import BUILTIN_ROLES, own_records_only, scope_of_permissions

SLUG_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


# CJK unified ideographs, with extension A, the compatibility block and the supplementary planes.
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")


def slugify(name: str) -> str:
    """A readable slug for a tenant's name: Chinese in pinyin, one word per run of characters
    (杭州绿源茶业 → hangzhoulvyuanchaye), Latin letters without their accents, anything else a
    dash; `t-<random>` when nothing readable is left (a name in another script)."""
    from pypinyin import lazy_pinyin  # its dictionaries take a fifth of a second to load

    text = unicodedata.normalize("NFKC", name)  # full-width letters and digits to ASCII
    text = _HAN_RUN.sub(lambda run: f"-{''.join(lazy_pinyin(run.group()))}-", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(slug) > 63:  # cut at a word where there is one
        cut = slug[:64]
        slug = cut[:cut.rfind("-")] if "-" in cut[20:] else slug[:63]
    return slug.strip("-") or f"t-{uuid.uuid4().hex[:8]}"


async def _unused_slug(session: AsyncSession, slug: str) -> str:
    """`slug`, or `slug-2`, `slug-3`... (shortened to fit) whichever no tenant has yet."""
    taken = set(await session.scalars(select(Tenant.slug).where(
        Tenant.slug.startswith(slug[:40], autoescape=True))))
    candidate, n = slug, 1
    while candidate in taken:
        n += 1
        candidate = f"{slug[:62 - len(str(n))].rstrip('-')}-{n}"
    return candidate


@dataclass
class NewTenant:
    tenant: Tenant
    admin: User
    ctx: CallContext
    admin_existed: bool = False  # an existing login: their password is left as it was


async def create_tenant(
    session: AsyncSession,
    *,
    name: str,
    admin_email: str,
    admin_password: str | None,
    admin_name: str | None = None,
    slug: str | None = None,
    default_region: str = "CN",
    locale: str = "zh-CN",
) -> NewTenant:
    """Platform operation: a tenant, its built-in roles and its first owner.

    Runs on the owner connection; it scopes the transaction to the new tenant first, so it works
    whether or not that role is subject to row-level security.
    """
    errors: list[FieldError] = []
    name = name.strip()
    if not 1 <= len(name) <= 200:
        errors.append(FieldError("name", "must be 1 to 200 characters"))
    derived = slug is None
    slug = slugify(name) if slug is None else slug
    if not SLUG_RE.match(slug):
        errors.append(FieldError("slug", "lowercase letters, digits and dashes, at most 63"))
    try:
        email = normalise_email(admin_email)
    except ValueError as exc:
        errors.append(FieldError("adminEmail", str(exc)))
    default_region = default_region.upper()
    if default_region not in phonenumbers.SUPPORTED_REGIONS:
        errors.append(FieldError("region", "is not a region code (e.g. CN, US, HK)"))
    if admin_password is not None and len(admin_password) < MIN_PASSWORD_LENGTH:
        errors.append(FieldError("password", f"at least {MIN_PASSWORD_LENGTH} characters"))
    if errors:
        raise ValidationFailed(errors)
    if derived:
        slug = await _unused_slug(session, slug)
    elif await session.scalar(select(func.count()).select_from(Tenant).where(Tenant.slug == slug)):
        raise Conflict(f"a tenant with slug {slug!r} exists", field="slug")

    tenant_id = new_id()
    await set_scope(session, tenant_id)
    ctx = system_context(tenant_id)
    tenant = Tenant(id=tenant_id, name=name, slug=slug, status="active",
                    default_region=default_region, locale=locale)
    session.add(tenant)
    await session.flush()  # no ORM relationships: the tenant row must exist before its roles
    roles = {}
    for key, (role_name, perms) in BUILTIN_ROLES.items():
        roles[key] = Role(tenant_id=tenant_id, id=new_id(), key=key, name=role_name,
                          permissions=sorted(perms), is_builtin=True,
                          data_scope=scope_of_permissions(perms))
        session.add(roles[key])
    await session.flush()
    await record_change(session, ctx, entity_type="tenant", entity_id=tenant_id,
                        action="created", before=None, after=snapshot(tenant))
    for role in roles.values():
        await record_change(session, ctx, entity_type="role", entity_id=role.id,
                            action="created", before=None, after=snapshot(role))
    existed = (await session.execute(text("select id from auth_find_user(:email)"),
                                     {"email": email})).first() is not None
    admin = await add_member(session, ctx, email=email, name=admin_name or email.split("@")[0],
                             password=admin_password, role_key="owner")
    return NewTenant(tenant, admin, ctx, admin_existed=existed)


async def add_member(
    session: AsyncSession,
    ctx: CallContext,
    *,
    email: str,
    name: str,
    password: str | None,
    role_key: str,
) -> User:
    """Add a user (new, or existing by email: one login, many tenants) to the current tenant."""
    member = await member_service.create(session, ctx, {"email": email, "name": name,
                                                        "role": role_key, "password": password})
    return await session.get_one(User, member.id)


MEMBER_STATUSES = ("active", "disabled")


async def _role(session: AsyncSession, ctx: CallContext, key: str) -> Role:
    role = await session.scalar(select(Role).where(Role.tenant_id == ctx.tenant_id,
                                                   Role.key == key))
    if role is None:
        raise NotFound(f"no role {key!r}", field="role")
    return role


def _within_reach(ctx: CallContext, role: Role, what: str) -> None:
    """Nobody hands out, or takes from someone, more than they hold themselves."""
    if not frozenset(role.permissions) <= ctx.actor.permissions:
        raise Forbidden(f"{what}: role {role.key!r} holds permissions you lack", field="role")


class MemberService(EntityService[Member]):
    """Adding members, changing their role, disabling and enabling them. Lists, lookups and
    loaders are the kit's (MEMBER, read from the `members` view); writes go to `memberships`.

    One write, one audit row: the member's (a new login's name and email are in it).
    Rules: one login per email across tenants (an existing one joins, its password untouched);
    no role with a permission the actor lacks is given or taken away; the tenant keeps at
    least one active owner; nobody disables themselves; a disabled member's sessions end.
    """

    entity = MEMBER

    def validate(self, ctx: CallContext, data: dict[str, Any], *, row: Member | None
                 ) -> dict[str, Any]:
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        if row is None:
            try:
                values["email"] = normalise_email(str(data.get("email") or ""))
            except ValueError as exc:
                errors.append(FieldError("email", str(exc)))
            name = str(data.get("name") or "").strip()
            if len(name) > 200:
                errors.append(FieldError("name", "at most 200 characters"))
            values["name"] = name
            password = data.get("password")
            if password is not None and len(password) < MIN_PASSWORD_LENGTH:
                errors.append(FieldError("password",
                                         f"at least {MIN_PASSWORD_LENGTH} characters"))
            values["password"] = password
            if not data.get("role"):
                errors.append(FieldError("role", "names a role by its key (e.g. sales)"))
        if "role" in data:
            if not isinstance(data["role"], str) or not data["role"]:
                errors.append(FieldError("role", "names a role by its key (e.g. sales)"))
            values["role"] = data["role"]
        if "status" in data:
            if data["status"] not in MEMBER_STATUSES:
                errors.append(FieldError("status", "is active or disabled"))
            values["status"] = data["status"]
        if errors:
            raise ValidationFailed(errors)
        return values

    async def create(self, session: AsyncSession, ctx: CallContext, data: dict[str, Any]
                     ) -> Member:
        ctx.require(self.entity.write)
        values = self.validate(ctx, data, row=None)
        role = await _role(session, ctx, values["role"])
        _within_reach(ctx, role, "cannot give")
        email, password = values["email"], values["password"]
        # Users of other tenants are invisible under RLS: find an existing login by email
        # through the one security-definer lookup (as login does), not by selecting users.
        existing = (await session.execute(text("select id from auth_find_user(:email)"),
                                          {"email": email})).scalar()
        membership = Membership(tenant_id=ctx.tenant_id, role_id=role.id, status="active")
        if existing is None:
            user = User(id=new_id(), email=email, name=values["name"] or email,
                        password_hash=hash_password(password) if password else None)
            membership.user_id = user.id
            # A user row is visible (and insertable) to the app only as a member of the
            # caller's tenant, or as the user being authenticated: the new login is the
            # latter until its membership exists, and no one after.
            await session.execute(text("select set_config('app.auth_user_id', :id, true)"),
                                  {"id": str(user.id)})
            session.add(user)
            await session.flush()
            session.add(membership)
            await session.flush()
            await session.execute(text("select set_config('app.auth_user_id', '', true)"))
        else:
            if await session.scalar(select(func.count()).select_from(Membership).where(
                    Membership.tenant_id == ctx.tenant_id, Membership.user_id == existing)):
                raise Conflict("this user is already a member of the tenant", field="email")
            membership.user_id = existing
            session.add(membership)
            await session.flush()
        user_id = membership.user_id
        member = await self.editable(session, ctx, user_id)
        await self.record(session, ctx, member, "created", None, self.snapshot(member))
        return member

    async def update(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID,
                     data: dict[str, Any]) -> Member:
        ctx.require(self.entity.write)
        member = await self.editable(session, ctx, id)
        values = self.validate(ctx, data, row=member)
        membership = await session.get_one(Membership, (ctx.tenant_id, id))
        current = await session.get_one(Role, (ctx.tenant_id, membership.role_id))
        role = await _role(session, ctx, values["role"]) if "role" in values else current
        status = values.get("status", membership.status)
        if role.id == membership.role_id and status == membership.status:
            return member
        _within_reach(ctx, current, "cannot change this member")
        _within_reach(ctx, role, "cannot give")
        if id == ctx.actor.user_id and status != "active":
            raise Conflict("you cannot disable yourself", field="status")
        if (current.key == "owner" and membership.status == "active"
                and (role.key != "owner" or status != "active")):
            others = await session.scalar(
                select(func.count()).select_from(Membership).join(
                    Role, (Role.tenant_id == Membership.tenant_id)
                    & (Role.id == Membership.role_id))
                .where(Membership.tenant_id == ctx.tenant_id, Membership.user_id != id,
                       Membership.status == "active", Role.key == "owner"))
            if not others:
                raise Conflict("the tenant must keep an active owner", field="role")
        before = self.snapshot(member)
        membership.role_id, membership.status = role.id, status
        await session.flush()
        if status != "active":  # their web sessions in this tenant end now
            await session.execute(
                update(WebSession).where(WebSession.tenant_id == ctx.tenant_id,
                                         WebSession.user_id == id,
                                         WebSession.revoked_at.is_(None))
                .values(revoked_at=func.now()))
        await session.refresh(member)
        await self.record(session, ctx, member, "updated", before, self.snapshot(member))
        return member


member_service = MemberService()


class ApiKeyService(EntityService[ApiKey]):
    """Issuing and revoking API keys; lists, lookups and loaders are the kit's (API_KEY).

    A key is created with a name and a role (by its key). Its secret is generated here, shown
    once (on the row `create` returns, in memory: `ApiKey.secret`) and stored only as a hash.
    A key never holds a permission its creator lacks, nor a role limited to its holder's own
    records (it acts for no user: it would see nothing and make records nobody owns).
    """

    entity = API_KEY

    def validate(self, ctx: CallContext, data: dict[str, Any], *, row: ApiKey | None
                 ) -> dict[str, Any]:
        if row is not None:
            raise Conflict("an API key is not edited: revoke it and issue another", field="id")
        errors: list[FieldError] = []
        name = data.get("name")
        name = name.strip() if isinstance(name, str) else ""
        if not 1 <= len(name) <= 100:
            errors.append(FieldError("name", "must be 1 to 100 characters"))
        role = data.get("role")
        if not isinstance(role, str) or not role:
            errors.append(FieldError("role", "names a role by its key (e.g. manager)"))
        if errors:
            raise ValidationFailed(errors)
        return {"name": name, "role": role}

    async def check(self, session: AsyncSession, ctx: CallContext, values: dict[str, Any], *,
                    row: ApiKey | None) -> None:
        role = await session.scalar(select(Role).where(Role.tenant_id == ctx.tenant_id,
                                                       Role.key == values.pop("role")))
        if role is None:
            raise NotFound("no such role", field="role")
        granted = frozenset(role.permissions)
        if not granted <= ctx.actor.permissions:
            raise Forbidden("an API key cannot hold permissions its creator lacks",
                            field="role")
        if own_records_only(granted):
            raise ValidationFailed.single(
                "role", f"role {role.key!r} is limited to its holder's own records; an API "
                "key acts for no user, so give it a role that reads the whole tenant", "role")
        values["role_id"] = role.id

    def defaults(self, ctx: CallContext) -> dict[str, Any]:
        secret, key_hash, prefix = api_keys.generate_key(ctx.tenant_id)
        return {"created_by": ctx.actor.user_id, "key_hash": key_hash,
                "display_prefix": prefix, "secret": secret}

    async def create(self, session: AsyncSession, ctx: CallContext, data: dict[str, Any]
                     ) -> ApiKey:
        ctx.require(self.entity.write)
        values = self.validate(ctx, data, row=None)
        await self.check(session, ctx, values, row=None)
        material = self.defaults(ctx)
        secret = material.pop("secret")
        row = ApiKey(tenant_id=ctx.tenant_id, id=new_id(), **values, **material)
        session.add(row)
        await self.flush(session)
        await session.refresh(row, ["created_at"])
        await self.record(session, ctx, row, "created", None, self.snapshot(row))
        row.secret = secret  # type: ignore[assignment]
        return row

    async def revoke(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID) -> ApiKey:
        """Stops the key working (within `api_key_cache_seconds` on other servers); revoking a
        revoked key changes nothing and answers it as it is (idempotent)."""
        ctx.require(self.entity.write)
        row = await self.editable(session, ctx, id)
        api_key_cache.forget(row.id)
        if row.revoked_at is not None:
            return row
        before = self.snapshot(row)
        row.revoked_at = await self._now(session)  # the transaction's time, as the audit row's
        await session.flush()
        await self.record(session, ctx, row, "revoked", before, self.snapshot(row))
        return row


api_key_service = ApiKeyService()


@dataclass
class IssuedKey:
    api_key: ApiKey
    role_key: str
    secret: str  # shown once, never stored


async def create_api_key(
    session: AsyncSession, ctx: CallContext, *, name: str, role_key: str
) -> IssuedKey:
    key = await api_key_service.create(session, ctx, {"name": name, "role": role_key})
    return IssuedKey(key, role_key, key.secret or "")


async def revoke_api_key(session: AsyncSession, ctx: CallContext, key_id: uuid.UUID
                         ) -> IssuedKey:
    key = await api_key_service.revoke(session, ctx, key_id)
    role = await session.scalar(select(Role.key).where(Role.tenant_id == ctx.tenant_id,
                                                       Role.id == key.role_id))
    return IssuedKey(key, role or "", secret="")


async def list_api_keys(session: AsyncSession, ctx: CallContext, *, first: int,
                        after: str | None, revoked: bool | None = None
                        ) -> Page[tuple[ApiKey, str]]:
    """The tenant's API keys (never their secrets), newest first, with their roles' keys."""
    filters = {} if revoked is None else {"revoked": revoked}
    page = await api_key_service.list_page(session, ctx, filters=filters,
                                           sort="CREATED_AT_DESC", first=first, after=after)
    roles = dict((await session.execute(select(Role.id, Role.key).where(
        Role.tenant_id == ctx.tenant_id))).tuples().all())
    return page.map(lambda key: (key, roles.get(key.role_id, "")),
                    lambda item: page.key_of(item[0]))


async def get_tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return await session.scalar(select(Tenant).where(Tenant.slug == slug))


async def list_tenants(session: AsyncSession) -> list[Tenant]:
    """Platform operation (the owner connection, across tenants): every tenant, by slug."""
    return list(await session.scalars(select(Tenant).order_by(Tenant.slug)))

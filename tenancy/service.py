"""Tenancy rules: creating tenants with their built-in roles, users and memberships, API keys."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from infra.db import new_id, set_scope
from infra.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from infra.pagination import Page, SortKey, apply_keyset, build_page, counted
from infra.validation import normalise_email
from tenancy import api_keys
from tenancy.audit import record_change, snapshot
from tenancy.auth import api_key_cache
from tenancy.context import CallContext, system_context
from tenancy.models import ApiKey, Membership, Role, Tenant, User
from tenancy.passwords import MIN_PASSWORD_LENGTH, hash_password
from tenancy.permissions import BUILTIN_ROLES, Permission, own_records_only

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
                          permissions=sorted(perms), is_builtin=True)
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
    ctx.require(Permission.USERS_MANAGE)
    email = normalise_email(email)
    role = await session.scalar(select(Role).where(Role.tenant_id == ctx.tenant_id,
                                                   Role.key == role_key))
    if role is None:
        raise NotFound(f"no role {role_key!r}", field="role")
    # Users of other tenants are invisible under RLS: find an existing login by email through
    # the one security-definer lookup (as login does), not by selecting from users.
    existing = (await session.execute(text("select id from auth_find_user(:email)"),
                                      {"email": email})).scalar()
    if existing is None:
        user = User(id=new_id(), email=email, name=name.strip() or email,
                    password_hash=hash_password(password) if password else None)
        session.add(user)
        await session.flush()
        await record_change(session, ctx, entity_type="user", entity_id=user.id, action="created",
                            before=None, after=snapshot(user, exclude=frozenset({"password_hash"})))
    elif await session.scalar(select(func.count()).select_from(Membership).where(
            Membership.tenant_id == ctx.tenant_id, Membership.user_id == existing)):
        raise Conflict("this user is already a member of the tenant", field="email")
    membership = Membership(tenant_id=ctx.tenant_id, user_id=existing or user.id,
                            role_id=role.id, status="active")
    session.add(membership)
    await session.flush()
    if existing is not None:  # visible now that they are a member here
        user = await session.get_one(User, existing)
    await record_change(session, ctx, entity_type="membership", entity_id=user.id,
                        action="created", before=None,
                        after={"user_id": str(user.id), "email": user.email, "role": role.key})
    return user


@dataclass
class IssuedKey:
    api_key: ApiKey
    role_key: str
    secret: str  # shown once, never stored


async def create_api_key(
    session: AsyncSession, ctx: CallContext, *, name: str, role_key: str
) -> IssuedKey:
    ctx.require(Permission.API_KEYS_MANAGE)
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed.single("name", "must be 1 to 100 characters")
    role = await session.scalar(select(Role).where(Role.tenant_id == ctx.tenant_id,
                                                   Role.key == role_key))
    if role is None:
        raise NotFound(f"no role {role_key!r}", field="role")
    granted = frozenset(role.permissions)
    if not granted <= ctx.actor.permissions:
        raise Forbidden("an API key cannot hold permissions its creator lacks", field="role")
    if own_records_only(granted):
        # A key acts for no user, so a role limited to its holder's own records would give it
        # nothing to see and make records that nobody owns.
        raise ValidationFailed.single(
            "role", f"role {role.key!r} is limited to its holder's own records; an API key "
            "acts for no user, so give it a role that reads the whole tenant", "role")
    secret, key_hash, prefix = api_keys.generate_key(ctx.tenant_id)
    key = ApiKey(tenant_id=ctx.tenant_id, id=new_id(), name=name, key_hash=key_hash,
                 display_prefix=prefix, role_id=role.id, created_by=ctx.actor.user_id)
    session.add(key)
    await session.flush()
    await session.refresh(key)
    await record_change(session, ctx, entity_type="api_key", entity_id=key.id, action="created",
                        before=None, after=snapshot(key, exclude=frozenset({"key_hash"})))
    return IssuedKey(key, role.key, secret)


async def revoke_api_key(session: AsyncSession, ctx: CallContext, key_id: uuid.UUID
                         ) -> IssuedKey:
    ctx.require(Permission.API_KEYS_MANAGE)
    key = await session.scalar(select(ApiKey).where(ApiKey.tenant_id == ctx.tenant_id,
                                                    ApiKey.id == key_id))
    if key is None:
        raise NotFound("no such API key", field="id")
    before = snapshot(key, exclude=frozenset({"key_hash"}))
    api_key_cache.forget(key.id)
    if key.revoked_at is None:
        key.revoked_at = func.now()  # the transaction's time, as the audit row's
        await session.flush()
        await session.refresh(key, ["revoked_at"])
        await record_change(session, ctx, entity_type="api_key", entity_id=key.id,
                            action="revoked", before=before,
                            after=snapshot(key, exclude=frozenset({"key_hash"})))
    role = await session.scalar(select(Role.key).where(Role.tenant_id == ctx.tenant_id,
                                                       Role.id == key.role_id))
    return IssuedKey(key, role or "", secret="")


API_KEY_SORT = SortKey("CREATED_AT_DESC", (ApiKey.created_at, ApiKey.id),
                       (datetime, uuid.UUID), True)


async def list_api_keys(session: AsyncSession, ctx: CallContext, *, first: int,
                        after: str | None) -> Page[tuple[ApiKey, str]]:
    """The tenant's API keys (never their secrets), newest first."""
    ctx.require(Permission.API_KEYS_MANAGE)
    stmt: Any = (select(ApiKey, Role.key)
            .join(Role, (Role.tenant_id == ApiKey.tenant_id) & (Role.id == ApiKey.role_id))
            .where(ApiKey.tenant_id == ctx.tenant_id))
    rows = (await session.execute(apply_keyset(stmt, API_KEY_SORT, after, first))).all()
    items: list[tuple[ApiKey, str]] = [(key, role) for key, role in rows]
    return build_page(items, lambda item: (item[0].created_at, item[0].id), first, after)


async def count_api_keys(session: AsyncSession, ctx: CallContext) -> int:
    ctx.require(Permission.API_KEYS_MANAGE)
    stmt = select(ApiKey.id).where(ApiKey.tenant_id == ctx.tenant_id)
    return int(await session.scalar(counted(stmt)) or 0)


async def get_tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return await session.scalar(select(Tenant).where(Tenant.slug == slug))


async def list_tenants(session: AsyncSession) -> list[Tenant]:
    """Platform operation (the owner connection, across tenants): every tenant, by slug."""
    return list(await session.scalars(select(Tenant).order_by(Tenant.slug)))

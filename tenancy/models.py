"""ORM tables of tenancy: tenants, users, memberships, roles, API keys and web sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ARRAY, DateTime, ForeignKeyConstraint, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import func

from infra.db import Base, TenantOwned, Timestamps, new_id


class Tenant(Timestamps, Base):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    default_region: Mapped[str] = mapped_column(String(2), default="CN")
    locale: Mapped[str] = mapped_column(String(10), default="zh-CN")


class User(Timestamps, Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str | None] = mapped_column(String(10))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Role(TenantOwned, Timestamps, Base):
    __tablename__ = "roles"

    key: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(100))
    permissions: Mapped[list[str]] = mapped_column(ARRAY(Text))
    is_builtin: Mapped[bool] = mapped_column(default=False)
    # Which owned records the role reads and changes (modules/departments/scopes.py).
    data_scope: Mapped[str] = mapped_column(String(20), default="own")


class Membership(Timestamps, Base):
    __tablename__ = "memberships"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "role_id"], ["roles.tenant_id", "roles.id"]),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    role_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(20), default="active")
    # Their department, and whom they report to (modules/departments).
    department_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    superior_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class Member(Base):
    """A member of the tenant as lists read one: the `members` view (migration 0006), a
    membership joined to its user, keyed by the user's id. Read only: memberships are written
    through `Membership`."""

    __tablename__ = "members"

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the user's
    role_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    department_id: Mapped[uuid.UUID | None]
    superior_id: Mapped[uuid.UUID | None]


class ApiKey(TenantOwned, Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "role_id"], ["roles.tenant_id", "roles.id"]),
    )

    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[bytes] = mapped_column(LargeBinary)
    display_prefix: Mapped[str] = mapped_column(String(16))
    role_id: Mapped[uuid.UUID]
    created_by: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # The key itself, on the row `ApiKeyService.create` returns and nowhere else: in memory
    # for the one answer that shows it, never stored (the table holds its hash).
    secret = None  # str on an issued row; not a mapped column


class WebSession(TenantOwned, Base):
    __tablename__ = "web_sessions"

    user_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))

"""ORM tables of the customers domain.

`deleted_at` is set to the transaction's `now()` by a delete (the time of its `updated_at` and
audit row): `FetchedValue` has the update read it back in the same statement (RETURNING)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    FetchedValue,
    ForeignKeyConstraint,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, TenantOwned, Timestamps


class Company(TenantOwned, Timestamps, Base):
    __tablename__ = "companies"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "owner_id"], ["memberships.tenant_id", "memberships.user_id"]
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(253))
    industry: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Every phone and email, the primary of each mirrored above (`modules.customers.points`).
    phones: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB(none_as_null=True))
    emails: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB(none_as_null=True))
    owner_id: Mapped[uuid.UUID | None]
    notes: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                        server_onupdate=FetchedValue())
    merged_into: Mapped[uuid.UUID | None] = mapped_column(default=None)  # merge.py: survivor


class Contact(TenantOwned, Timestamps, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "company_id"], ["companies.tenant_id", "companies.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "owner_id"], ["memberships.tenant_id", "memberships.user_id"]
        ),
    )

    company_id: Mapped[uuid.UUID | None]
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    gender: Mapped[str | None] = mapped_column(String(20))
    birthday: Mapped[date | None] = mapped_column(Date)
    title: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Every phone and email, the primary of each mirrored above (`modules.customers.points`).
    phones: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB(none_as_null=True))
    emails: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB(none_as_null=True))
    owner_id: Mapped[uuid.UUID | None]
    notes: Mapped[str | None] = mapped_column(Text)
    # Sensitive (modules/pii): sealed, never in audit rows or events; the ID number's masked
    # form and blind index beside it (migration 0015).
    id_type: Mapped[str | None] = mapped_column(String(20))
    id_number_masked: Mapped[str | None] = mapped_column(String(40))
    id_number_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_index: Mapped[bytes | None] = mapped_column(LargeBinary)
    personal_notes_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                        server_onupdate=FetchedValue())
    merged_into: Mapped[uuid.UUID | None] = mapped_column(default=None)  # merge.py: survivor

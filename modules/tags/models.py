"""ORM tables of the tags domain: the tags, and the join tables that put them on customers."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKeyConstraint, String, func
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, TenantOwned, Timestamps

DEFAULT_COLOR = "#9e9e9e"  # a neutral grey, readable on light and dark backgrounds


class Tag(TenantOwned, Timestamps, Base):
    __tablename__ = "tags"

    name: Mapped[str] = mapped_column(String(50))  # unique per tenant, case-insensitive
    color: Mapped[str] = mapped_column(String(7), server_default=DEFAULT_COLOR)  # #rrggbb
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ContactTag(Base):
    """A tag on a contact; the key `(tenant_id, contact_id, tag_id)` makes tagging idempotent."""

    __tablename__ = "contact_tags"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"]),
        ForeignKeyConstraint(["tenant_id", "tag_id"], ["tags.tenant_id", "tags.id"]),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tag_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class CompanyTag(Base):
    """A tag on a company; the key `(tenant_id, company_id, tag_id)` makes tagging idempotent."""

    __tablename__ = "company_tags"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "company_id"],
                             ["companies.tenant_id", "companies.id"]),
        ForeignKeyConstraint(["tenant_id", "tag_id"], ["tags.tenant_id", "tags.id"]),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    company_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tag_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

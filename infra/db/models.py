"""The declarative base and the columns every tenant-owned table has."""

from __future__ import annotations

import uuid
from datetime import datetime

import uuid_utils.compat as uuid_utils
from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import func

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}

class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)

def new_id() -> uuid.UUID:
    """Time-ordered UUIDv7: new rows land at the right edge of (tenant_id, id) indexes."""
    return uuid_utils.uuid7()

class TenantOwned:
    """Columns every tenant-owned table has; the primary key is (tenant_id, id)."""

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)

class Timestamps:
    # Fetch server-set values (now(), onupdate) with RETURNING in the same statement, so a row
    # is complete after flush without a second round trip.
    __mapper_args__ = {"eager_defaults": True}

    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

"""The ORM table of segments and saved views (one table, a `kind` apart)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, FetchedValue, ForeignKeyConstraint, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, TenantOwned, Timestamps


class Segment(TenantOwned, Timestamps, Base):
    __tablename__ = "segments"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user_id"],
                             ["memberships.tenant_id", "memberships.user_id"]),
    )

    kind: Mapped[str] = mapped_column(String(10))  # segment | view
    entity: Mapped[str] = mapped_column(String(20))  # contact | company
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500))
    # The list's filter input as the API takes it (camelCase, global ids): read again
    # against the current schema and the tenant's current fields each time it is used.
    filter: Mapped[dict[str, Any]] = mapped_column(JSONB)
    sort: Mapped[str | None] = mapped_column(String(40))
    columns: Mapped[list[str] | None] = mapped_column(JSONB)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    user_id: Mapped[uuid.UUID | None]
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                        server_onupdate=FetchedValue())

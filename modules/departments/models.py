"""ORM tables of departments: the tree, its managers, and records shared (migration 0011)."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, TenantOwned, Timestamps


class Department(TenantOwned, Timestamps, Base):
    __tablename__ = "departments"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["departments.tenant_id",
                                                          "departments.id"]),
    )

    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[uuid.UUID | None]
    position: Mapped[int] = mapped_column(default=0)


class DepartmentManager(Base):
    __tablename__ = "department_managers"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "department_id"],
                             ["departments.tenant_id", "departments.id"]),
        ForeignKeyConstraint(["tenant_id", "user_id"],
                             ["memberships.tenant_id", "memberships.user_id"]),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    department_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class RecordShare(TenantOwned, Timestamps, Base):
    """An owned record (`entity_type`, `record_id`) shared with one member or one department
    (and the departments under it), to read or to read and write."""

    __tablename__ = "record_shares"

    entity_type: Mapped[str] = mapped_column(String(50))
    record_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID | None]
    department_id: Mapped[uuid.UUID | None]
    access: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[uuid.UUID | None]

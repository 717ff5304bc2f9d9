"""ORM tables of custom fields: the definitions, and the typed values (see migration 0009)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    FetchedValue,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, TenantOwned, Timestamps


class CustomField(TenantOwned, Timestamps, Base):
    __tablename__ = "custom_fields"

    entity: Mapped[str] = mapped_column(String(50))  # the kit entity's name: contact, company
    key: Mapped[str] = mapped_column(String(40))  # the API name, unique per tenant and entity
    label: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    is_unique: Mapped[bool] = mapped_column(Boolean, default=False)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)  # values sealed (0015)
    position: Mapped[int] = mapped_column(Integer, default=0)
    help_text: Mapped[str | None] = mapped_column(String(500))
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                        server_onupdate=FetchedValue())


class CustomFieldValue(Base):
    """One value of one field on one record; a multiple select has a row per chosen option
    (`position` 0, 1, …), every other type one row (`position` 0)."""

    __tablename__ = "custom_field_values"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "field_id"],
                             ["custom_fields.tenant_id", "custom_fields.id"]),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    field_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=0)
    value_text: Mapped[str | None] = mapped_column(Text)
    value_number: Mapped[Decimal | None] = mapped_column(Numeric)
    value_date: Mapped[date | None] = mapped_column(Date)
    value_bool: Mapped[bool | None] = mapped_column(Boolean)
    value_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # a sensitive field's
    is_unique: Mapped[bool] = mapped_column(Boolean, default=False)

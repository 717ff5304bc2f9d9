"""The audit log and the outbox, written together by `record_change` in the caller's transaction.

The application role may insert and read audit rows but never update or delete them (grants in the
migration). Outbox events are consumed later by webhook delivery and automations.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, String, insert, inspect
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import func

from infra.db import Base, TenantOwned, new_id
from tenancy.context import CallContext


class AuditEntry(TenantOwned, Base):
    __tablename__ = "audit_log"

    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None]
    actor_label: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(50))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[uuid.UUID | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_ip: Mapped[str | None] = mapped_column(INET)


class OutboxEvent(TenantOwned, Base):
    __tablename__ = "outbox"

    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    event_type: Mapped[str] = mapped_column(String(100))
    aggregate_type: Mapped[str] = mapped_column(String(50))
    aggregate_id: Mapped[uuid.UUID | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(entity: Any, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A JSON-ready copy of an ORM row's columns, as it is now."""
    mapper = inspect(entity).mapper
    return {
        attr.key: _jsonable(getattr(entity, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in exclude and attr.key != "tenant_id"
    }


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    before, after = before or {}, after or {}
    ignored = {"updated_at", "updatedAt"}
    return sorted(k for k in before.keys() | after.keys() if k not in ignored
                  and before.get(k) != after.get(k))


async def record_change(
    session: AsyncSession,
    ctx: CallContext,
    *,
    entity_type: str,
    entity_id: uuid.UUID | None,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Append the audit row and the outbox event (`<entity_type>.<action>`) of one write."""
    actor = ctx.actor
    await session.execute(
        insert(AuditEntry).values(
            tenant_id=ctx.tenant_id,
            id=new_id(),
            actor_type=actor.kind,
            actor_id=actor.id,
            actor_label=actor.label,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=before,
            after=after,
            request_id=ctx.request_id or None,
            client_ip=ctx.client_ip,
        )
    )
    event_payload = payload if payload is not None else {
        "id": str(entity_id) if entity_id else None,
        "data": after if after is not None else before,
        "changed": changed_fields(before, after),
    }
    await session.execute(
        insert(OutboxEvent).values(
            tenant_id=ctx.tenant_id,
            id=new_id(),
            event_type=f"{entity_type}.{action}",
            aggregate_type=entity_type,
            aggregate_id=entity_id,
            payload=event_payload,
            request_id=ctx.request_id or None,
        )
    )

"""The audit log and the outbox, written together by `record_change` in the caller's transaction.

The application role may insert and read audit rows but never update or delete them (grants in the
migration). Outbox events are consumed later by webhook delivery and automations.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, String, insert, inspect
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import func

from infra.db import Base, TenantOwned, new_id
from infra.global_ids import to_global_id
from infra.pagination import utc_timestamp
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


@dataclass(frozen=True)
class ApiForm:
    """How an audited entity's fields read in the API, for its audit rows and events (which
    webhooks deliver): which columns hold ids of other objects (shown as their global ids) and
    which hold enum values (shown as the API's enum names)."""

    references: Mapping[str, str] = field(default_factory=dict)  # column -> GraphQL type
    enums: frozenset[str] = frozenset()


# The GraphQL type whose global ID names an audited entity (memberships are named by their
# user, as `members` lists them); other entities by their name in CamelCase.
_NODE_TYPES = {"membership": "User"}
_FORMS: dict[str, ApiForm] = {
    "membership": ApiForm({"user_id": "User"}),
    "session": ApiForm({"user_id": "User"}),
}


def node_type(entity_type: str) -> str:
    """The GraphQL type of an audited entity's global ID (`contact` → `Contact`)."""
    return _NODE_TYPES.get(entity_type) or "".join(
        part.capitalize() for part in entity_type.split("_"))


def declare_api_form(entity_type: str, form: ApiForm, *, node_type: str | None = None) -> None:
    """Called once by the module that owns `entity_type`, at import (the kit does it for every
    declared entity); `node_type`: the GraphQL type its global ids name, if not its CamelCase."""
    _FORMS[entity_type] = form
    if node_type is not None:
        _NODE_TYPES[entity_type] = node_type


def snapshot(entity: Any, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """An ORM row's columns as they are now (for `record_change`, which gives them the API's
    forms); never its tenant, nor the columns in `exclude` (secrets)."""
    mapper = inspect(entity).mapper
    return {
        attr.key: getattr(entity, attr.key)
        for attr in mapper.column_attrs
        if attr.key not in exclude and attr.key != "tenant_id"
    }


def api_form(entity_type: str, values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A record's fields as the API shows them: camelCase names, global ids for its own id and
    its references, enum names, timestamps as the API's DateTime (UTC, microseconds). The one
    form of audit rows' `before`/`after` and of events' payloads."""
    if values is None:
        return None
    form = _FORMS.get(entity_type, ApiForm())
    out: dict[str, Any] = {}
    for key, value in values.items():
        reference = node_type(entity_type) if key == "id" else form.references.get(key)
        if value is None:
            pass
        elif reference is not None:
            value = to_global_id(reference, value if isinstance(value, uuid.UUID)
                                 else uuid.UUID(str(value)))
        elif key in form.enums:
            value = str(value).upper()
        elif isinstance(value, datetime):
            value = utc_timestamp(value)
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, uuid.UUID | Decimal):
            value = str(value)
        out[_camel(key)] = value
    return out


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    before, after = before or {}, after or {}
    ignored = {"updatedAt"}
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
    """Append the audit row and the outbox event (`<entity_type>.<action>`) of one write.

    `before` and `after` are the record's fields (`snapshot`), given here the API's forms
    (`api_form`) for both. Their timestamps and the audit row's are the transaction's:
    a write sets its own with `now()`, never the clock of this process."""
    before, after = api_form(entity_type, before), api_form(entity_type, after)
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
        "id": to_global_id(node_type(entity_type), entity_id) if entity_id else None,
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

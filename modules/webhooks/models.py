"""ORM tables of the webhooks domain: subscriptions (a kit entity) and their delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, DateTime, ForeignKeyConstraint, Integer, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, TenantOwned, Timestamps

ACTIVE, PAUSED, DISABLED = "active", "paused", "disabled"
# Why a subscription is paused or disabled: by hand, by the circuit breaker, by `410 Gone`.
BY_HAND, FAILING, GONE = "by_hand", "failing", "gone"


class WebhookSubscription(TenantOwned, Timestamps, Base):
    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "creator_user_id"],
                             ["memberships.tenant_id", "memberships.user_id"]),
        ForeignKeyConstraint(["tenant_id", "creator_key_id"],
                             ["api_keys.tenant_id", "api_keys.id"]),
    )

    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    description: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(String(10))
    # The signing secret (raw bytes; `whsec_` + base64 is its text form), and the one it
    # replaced, still signed with until `previous_secret_expires_at`. Never in audit rows,
    # events, logs or any API field but the one answer that creates them.
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    previous_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    secret_hint: Mapped[str] = mapped_column(String(16))  # `whsec_` + 4 characters, to tell apart
    # Whose eyes the payloads are read with: a member, a key, or neither (the system).
    creator_user_id: Mapped[uuid.UUID | None]
    creator_key_id: Mapped[uuid.UUID | None]
    # The circuit breaker: failed attempts in a row, since when, and when to probe again.
    failure_streak: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    probe_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# Delivery statuses: waiting for its first attempt (or for an earlier event of the same record),
# failed at least once and due again, delivered, given up, or not sent at all (the creator
# may not read the record, or no longer has access).
PENDING, RETRYING, SUCCEEDED, FAILED, SKIPPED = (
    "pending", "retrying", "succeeded", "failed", "skipped")
OPEN_STATUSES = (PENDING, RETRYING)
# A delivery held behind an earlier open event of the same record is looked at again after
# this, should nothing wake it before (the earlier one's end makes it due at once): a hold
# never depends on one message or one transaction's view alone.
HOLD_RECHECK = timedelta(seconds=30)
WAITING = "waiting for an earlier event of the same record"


class WebhookDelivery(TenantOwned, Timestamps, Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "subscription_id"],
                             ["webhook_subscriptions.tenant_id", "webhook_subscriptions.id"]),
    )

    subscription_id: Mapped[uuid.UUID]
    event_id: Mapped[uuid.UUID]  # the outbox event (or a fresh id for a test event)
    event_type: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Events of one record reach a subscription in order: the record's type and id.
    ordering_key: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[str] = mapped_column(String(64))  # `webhook-id`: stable across retries
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)  # the event as the outbox has it
    body: Mapped[str | None] = mapped_column(Text)  # as sent: fixed by the first attempt
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    status_detail: Mapped[str | None] = mapped_column(Text)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    response_status: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    # Each attempt: at, status, latency, error, response excerpt, manual or scheduled.
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)

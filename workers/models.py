"""Tables of the workers (migration 0004): de-duplication of consumers and actors, failures."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import func

from infra.db import Base, TenantOwned


class ConsumedEvent(Base):
    """An outbox event a consumer has had, written with the consumer's effects."""

    __tablename__ = "consumed_events"

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    consumed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
    outcome: Mapped[str] = mapped_column(String(10), server_default="done")  # or gave_up


class JobReceipt(Base):
    """A key an actor has acted on (`Job.once`), written with the actor's effects."""

    __tablename__ = "job_receipts"

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    done_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WorkerFailure(TenantOwned, Base):
    """A failed attempt of an actor or a consumer, kept WORKER_FAILURES_RETENTION_DAYS."""

    __tablename__ = "worker_failures"

    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
    name: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[uuid.UUID | None]
    message_id: Mapped[str | None] = mapped_column(String(64))
    attempt: Mapped[int]
    error_type: Mapped[str] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(String(1000))

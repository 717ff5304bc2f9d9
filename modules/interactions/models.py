"""ORM tables of the interactions domain.

An interaction is logged against a contact and/or a company (`interactions_customer_check`);
deals and orders join later as further nullable reference columns, and the check becomes
`num_nonnulls(...) > 0` over all of them: no rewrite of the table or of the timeline."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    ARRAY,
    DateTime,
    FetchedValue,
    ForeignKeyConstraint,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, TenantOwned, Timestamps

# The types every tenant starts with (seeded by migration 0010's trigger on `tenants`); the
# web app shows them in the reader's language by their key.
BUILTIN_TYPES = ("call", "email", "meeting", "chat", "visit", "note")


class InteractionKind(TenantOwned, Timestamps, Base):
    """An interaction type: a built-in one (`key` set) or one the tenant added."""

    __tablename__ = "interaction_types"

    key: Mapped[str | None] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(50))  # unique per tenant, case-insensitive
    color: Mapped[str | None] = mapped_column(String(7))  # #rrggbb; none: the kind's own
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                        server_onupdate=FetchedValue())


class Interaction(TenantOwned, Timestamps, Base):
    __tablename__ = "interactions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "type_id"],
                             ["interaction_types.tenant_id", "interaction_types.id"]),
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"]),
        ForeignKeyConstraint(["tenant_id", "company_id"],
                             ["companies.tenant_id", "companies.id"]),
        ForeignKeyConstraint(["tenant_id", "owner_id"],
                             ["memberships.tenant_id", "memberships.user_id"]),
    )

    type_id: Mapped[uuid.UUID]
    channel: Mapped[str | None] = mapped_column(String(20))
    direction: Mapped[str | None] = mapped_column(String(10))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(500))
    next_follow_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    contact_id: Mapped[uuid.UUID | None]
    company_id: Mapped[uuid.UUID | None]
    # Who else took part: checked on write (visible contacts, active members); at most 20 each.
    participant_contact_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid), server_default="{}")
    participant_member_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid), server_default="{}")
    owner_id: Mapped[uuid.UUID | None]  # the author
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                        server_onupdate=FetchedValue())


class SurveyResponse(TenantOwned, Timestamps, Base):
    """A customer's answer to a satisfaction survey: CSAT 1–5 and/or NPS 0–10, a comment."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"]),
        ForeignKeyConstraint(["tenant_id", "company_id"],
                             ["companies.tenant_id", "companies.id"]),
        ForeignKeyConstraint(["tenant_id", "interaction_id"],
                             ["interactions.tenant_id", "interactions.id"]),
        ForeignKeyConstraint(["tenant_id", "owner_id"],
                             ["memberships.tenant_id", "memberships.user_id"]),
    )

    contact_id: Mapped[uuid.UUID | None]
    company_id: Mapped[uuid.UUID | None]
    interaction_id: Mapped[uuid.UUID | None]
    order_id: Mapped[uuid.UUID | None]  # orders do not exist yet: the key comes with them
    csat: Mapped[int | None] = mapped_column(SmallInteger)
    nps: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    owner_id: Mapped[uuid.UUID | None]  # who recorded it
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                        server_onupdate=FetchedValue())

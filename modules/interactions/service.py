"""Interaction rules: types the tenant keeps, interactions logged on customers the caller can
see, survey answers, each member's follow-ups and satisfaction statistics.

Lists, lookups, soft delete and restore, audit rows and events are the kit's, from the
declarations in `entities.py`; the merged customer timeline is in `timeline.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, and_, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from infra.errors import Conflict, FieldError, NotFound, ValidationFailed
from infra.global_ids import to_global_id
from infra.pagination import Page, SortKey, apply_keyset, build_page, counted
from modules.customers.entities import COMPANY, CONTACT
from modules.customers.models import Contact
from modules.interactions.entities import INTERACTION, INTERACTION_TYPE, SURVEY_RESPONSE
from modules.interactions.models import Interaction, InteractionKind, SurveyResponse
from modules.interactions.schemas import (
    validate_interaction,
    validate_interaction_type,
    validate_survey_response,
)
from modules.kit import EntityService
from modules.kit import repository as kit_repository
from tenancy.context import CallContext
from tenancy.models import Membership


def _now() -> datetime:
    return datetime.now(UTC)


class InteractionTypeService(EntityService[InteractionKind]):
    entity = INTERACTION_TYPE

    def validate(self, ctx: CallContext, data: dict[str, Any], *, row: InteractionKind | None
                 ) -> dict[str, Any]:
        return validate_interaction_type(data, current=row)

    async def check(self, session: AsyncSession, ctx: CallContext, values: dict[str, Any], *,
                    row: InteractionKind | None) -> None:
        """A name another type has (any case, deleted or not) is taken; the unique index
        decides between concurrent writes, this says what clashes."""
        if "name" not in values:
            return
        stmt = select(InteractionKind.deleted_at).where(
            InteractionKind.tenant_id == ctx.tenant_id,
            func.lower(InteractionKind.name) == func.lower(values["name"]))
        if row is not None:
            stmt = stmt.where(InteractionKind.id != row.id)
        clash = (await session.execute(stmt.limit(1))).first()
        if clash is None:
            return
        if clash.deleted_at is not None:
            raise Conflict("a deleted interaction type has this name: restore it, or rename it "
                           "first", field="name")
        raise Conflict("another interaction type has this name (names ignore case)",
                       field="name")


async def _visible_ids(session: AsyncSession, ctx: CallContext, entity: Any,
                       ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if not ids or not ctx.can(entity.read):
        return set()
    await kit_repository.prepare(session, ctx, (entity,))  # the caller's data scope
    stmt = kit_repository.visible(entity, ctx).with_only_columns(entity.model.id).where(
        entity.model.id.in_(list(ids)))
    return set((await session.scalars(stmt)).all())


async def check_customers(session: AsyncSession, ctx: CallContext, values: dict[str, Any],
                          errors: list[FieldError]) -> None:
    """The contact and company an interaction or answer is logged on are live records the
    caller can see: a sales user logs only on their own customers."""
    for key, entity, field in (("contact_id", CONTACT, "contactId"),
                               ("company_id", COMPANY, "companyId")):
        value = values.get(key)
        if value is not None and not await _visible_ids(session, ctx, entity, [value]):
            errors.append(FieldError(field, f"no {entity.noun} with this id", "not_found"))


class InteractionService(EntityService[Interaction]):
    entity = INTERACTION

    def validate(self, ctx: CallContext, data: dict[str, Any], *, row: Interaction | None
                 ) -> dict[str, Any]:
        return validate_interaction(data, current=row, now=_now())

    async def check(self, session: AsyncSession, ctx: CallContext, values: dict[str, Any], *,
                    row: Interaction | None) -> None:
        errors: list[FieldError] = []
        if (type_id := values.get("type_id")) is not None and await kit_repository.get(
                session, ctx, INTERACTION_TYPE, type_id) is None:
            errors.append(FieldError("typeId", "no live interaction type with this id",
                                     "not_found"))
        await check_customers(session, ctx, values, errors)
        contacts = values.get("participant_contact_ids") or []
        missing = set(contacts) - await _visible_ids(session, ctx, CONTACT, contacts)
        for i, value in enumerate(contacts):
            if value in missing:
                errors.append(FieldError(f"participantContactIds.{i}", "no contact with this id",
                                         "not_found"))
        members = values.get("participant_member_ids") or []
        if members:
            active = set((await session.scalars(select(Membership.user_id).where(
                Membership.tenant_id == ctx.tenant_id, Membership.user_id.in_(members),
                Membership.status == "active"))).all())
            for i, value in enumerate(members):
                if value not in active:
                    errors.append(FieldError(f"participantMemberIds.{i}",
                                             "is not an active member of this tenant",
                                             "not_found"))
        if errors:
            raise ValidationFailed(errors)

    def snapshot(self, row: Any) -> dict[str, Any]:
        """Participants read as lists of global ids in audit rows and events."""
        out = super().snapshot(row)
        out["participant_contact_ids"] = [to_global_id("Contact", i)
                                          for i in row.participant_contact_ids or []]
        out["participant_member_ids"] = [to_global_id("User", i)
                                         for i in row.participant_member_ids or []]
        return out


class SurveyResponseService(EntityService[SurveyResponse]):
    entity = SURVEY_RESPONSE

    def validate(self, ctx: CallContext, data: dict[str, Any], *, row: SurveyResponse | None
                 ) -> dict[str, Any]:
        return validate_survey_response(data, current=row, now=_now())

    async def check(self, session: AsyncSession, ctx: CallContext, values: dict[str, Any], *,
                    row: SurveyResponse | None) -> None:
        """The interaction answered is one the caller can see; a new answer given only an
        interaction is about that interaction's customer."""
        errors: list[FieldError] = []
        if (interaction_id := values.get("interaction_id")) is not None:
            interaction = (await kit_repository.get(session, ctx, INTERACTION, interaction_id)
                           if ctx.can(INTERACTION.read) else None)
            if interaction is None:
                errors.append(FieldError("interactionId", "no interaction with this id",
                                         "not_found"))
            elif row is None and values.get("contact_id") is None and values.get(
                    "company_id") is None:
                values["contact_id"] = interaction.contact_id
                values["company_id"] = interaction.company_id
        if row is None and values.get("contact_id") is None and values.get(
                "company_id") is None and not errors:
            errors.append(FieldError("contactId", "an answer is linked to a contact or a "
                                     "company (or an interaction with one)", "required"))
        await check_customers(session, ctx, values, errors)
        if errors:
            raise ValidationFailed(errors)


interaction_types = InteractionTypeService()
interactions = InteractionService()
survey_responses = SurveyResponseService()


# -- follow-ups -------------------------------------------------------------------------------

FOLLOW_UP_KEY = SortKey("FOLLOW_UP_ASC", (Interaction.next_follow_up_at, Interaction.id),
                        (datetime, uuid.UUID), False)


def _follow_ups(ctx: CallContext, until: datetime) -> Any:
    return kit_repository.visible(INTERACTION, ctx).where(
        Interaction.owner_id == ctx.actor.user_id,
        Interaction.next_follow_up_at.is_not(None),
        Interaction.next_follow_up_at <= until)


async def follow_ups(session: AsyncSession, ctx: CallContext, *, until: datetime, first: int,
                     after: str | None) -> Page[Interaction]:
    """The caller's own open follow-ups due by `until` (overdue ones included), soonest
    first: whom to call today. A key acts for no user and has none."""
    ctx.require(INTERACTION.read)
    if ctx.actor.user_id is None:
        return build_page([], lambda r: (), first, after)
    await kit_repository.prepare(session, ctx, (INTERACTION,))  # the caller's data scope
    stmt = apply_keyset(_follow_ups(ctx, until), FOLLOW_UP_KEY, after, first)
    rows = list((await session.scalars(stmt)).all())
    return build_page(rows, lambda r: (r.next_follow_up_at, r.id), first, after)


async def count_follow_ups(session: AsyncSession, ctx: CallContext, *, until: datetime) -> int:
    ctx.require(INTERACTION.read)
    if ctx.actor.user_id is None:
        return 0
    await kit_repository.prepare(session, ctx, (INTERACTION,))
    return int(await session.scalar(counted(_follow_ups(ctx, until))) or 0)


# -- satisfaction -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SatisfactionStats:
    responses: int
    csat_responses: int
    csat_average: Decimal | None
    nps_responses: int
    promoters: int
    passives: int
    detractors: int
    nps: Decimal | None  # % promoters - % detractors, -100 to 100


@dataclass(frozen=True)
class CustomerRef:
    """A contact or a company, as a timeline or statistics name one."""

    kind: str  # "contact" or "company"
    id: uuid.UUID


async def resolve_customer(session: AsyncSession, ctx: CallContext, customer: CustomerRef
                           ) -> Any:
    """The contact or company itself if the caller may see it (a deleted one too, for those
    who see deleted records, as its page does); NOT_FOUND otherwise."""
    entity = CONTACT if customer.kind == "contact" else COMPANY
    ctx.require(entity.read)
    row = await kit_repository.get(session, ctx, entity, customer.id,
                                   include_deleted=entity.sees_deleted(ctx))
    if row is None:
        raise NotFound(f"no {entity.noun} with this id", field="customer")
    return row


def of_customer(model: Any, customer: CustomerRef) -> Any:
    """Rows of `model` (interactions, survey answers) about this customer: a company's
    include those logged on its contacts."""
    if customer.kind == "contact":
        return model.contact_id == customer.id
    contacts = select(Contact.id).where(Contact.tenant_id == model.tenant_id,
                                        Contact.company_id == customer.id)
    return or_(model.company_id == customer.id, model.contact_id.in_(contacts))


async def satisfaction(session: AsyncSession, ctx: CallContext, *,
                       customer: CustomerRef | None, since: datetime | None,
                       until: datetime | None) -> SatisfactionStats:
    """CSAT average and NPS over the answers the caller may see (a sales user: those they
    recorded), answered in [since, until), of one customer or of the whole tenant; one query."""
    ctx.require(SURVEY_RESPONSE.read)
    if customer is not None:
        await resolve_customer(session, ctx, customer)
    m = SurveyResponse
    nps_n = func.count(m.nps)
    promoters = func.count().filter(m.nps >= 9)
    detractors = func.count().filter(m.nps <= 6)
    await kit_repository.prepare(session, ctx, (SURVEY_RESPONSE,))  # the caller's data scope
    stmt = kit_repository.visible(SURVEY_RESPONSE, ctx).with_only_columns(
        func.count(), func.count(m.csat), func.round(func.avg(m.csat), 2), nps_n, promoters,
        func.count().filter(and_(m.nps >= 7, m.nps <= 8)), detractors,
        case((nps_n > 0, func.round(cast(promoters - detractors, Numeric) * 100 / nps_n, 1)),
             else_=None))
    if customer is not None:
        stmt = stmt.where(of_customer(m, customer))
    if since is not None:
        stmt = stmt.where(m.responded_at >= since)
    if until is not None:
        stmt = stmt.where(m.responded_at < until)
    row = (await session.execute(stmt)).one()
    return SatisfactionStats(responses=row[0], csat_responses=row[1], csat_average=row[2],
                             nps_responses=row[3], promoters=row[4], passives=row[5],
                             detractors=row[6], nps=row[7])

from modules.interactions import movers as _movers  # noqa: E402,F401  (registers merge movers)

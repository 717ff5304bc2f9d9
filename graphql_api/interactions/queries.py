"""Interaction queries: the kit's lists and lookups of interaction types, interactions and
survey answers; the caller's follow-ups; a customer's timeline; satisfaction statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import strawberry
from strawberry.types import Info

from graphql_api.interactions.types import (
    InteractionFilter,
    InteractionNode,
    InteractionSort,
    InteractionTypeFilter,
    InteractionTypeSort,
    InteractionTypeType,
    SatisfactionStatsType,
    SurveyResponseFilter,
    SurveyResponseNode,
    SurveyResponseSort,
    TimelineConnection,
    TimelineKind,
)
from graphql_api.kit import get_field, list_field
from graphql_api.permissions import needs
from graphql_api.relay import Connection, from_global_id
from infra.errors import FieldError, ValidationFailed
from modules.interactions import service, timeline
from modules.interactions.service import CustomerRef
from tenancy.permissions import Permission

_CUSTOMER_TYPES = {"Contact": "contact", "Company": "company"}
_UPCOMING = timedelta(days=7)


def customer_ref(value: str, field: str = "customer") -> CustomerRef:
    try:
        type_name, key = from_global_id(value)
    except (ValueError, UnicodeDecodeError):
        type_name = ""
    kind = _CUSTOMER_TYPES.get(type_name)
    if kind is None:
        raise ValidationFailed([FieldError(field, "is not a Contact or Company ID",
                                           "invalid_id")])
    return CustomerRef(kind, key)


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValidationFailed([FieldError(field, "must be a date and time with its UTC "
                                                  "offset", "invalid_datetime")])
    return value


@strawberry.type
class InteractionQueries:
    interaction_types = list_field(service.interaction_types, InteractionTypeType,
                                   filter=InteractionTypeFilter, sort=InteractionTypeSort,
                                   description="The tenant's interaction types, by name.")
    interaction_type = get_field(service.interaction_types, InteractionTypeType)
    interactions = list_field(service.interactions, InteractionNode, filter=InteractionFilter,
                              sort=InteractionSort,
                              description="Interactions the caller may see (a sales user: "
                                          "those they logged), most recent first.")
    interaction = get_field(service.interactions, InteractionNode)
    survey_responses = list_field(service.survey_responses, SurveyResponseNode,
                                  filter=SurveyResponseFilter, sort=SurveyResponseSort,
                                  description="Survey answers, most recent first.")
    survey_response = get_field(service.survey_responses, SurveyResponseNode)

    @strawberry.field(extensions=needs(Permission.INTERACTIONS_READ), description=(
        "The caller's own interactions with a follow-up due by `until` (default: a week from "
        "now), overdue ones included, soonest first: whom to call today. Clearing an "
        "interaction's `nextFollowUpAt` takes it off."))
    async def follow_ups(self, info: Info, first: int | None = None, after: str | None = None,
                         until: datetime | None = None) -> Connection[InteractionNode]:
        context = info.context
        size = context.page_size(first)
        until = _aware(until, "until") or datetime.now(UTC) + _UPCOMING
        page = await context.read(service.follow_ups, until=until, first=size, after=after)
        return Connection(page=page, counter=lambda: context.read(service.count_follow_ups,
                                                                  until=until))

    @strawberry.field(extensions=needs(Permission.CUSTOMERS_READ), description=(
        "One customer's timeline, newest first: the interactions and survey answers logged on "
        "it (a company's include those logged on its contacts) and the changes to its record "
        "(from the audit log, the company's or contact's own). Each under its own rule: a "
        "sales user sees the interactions and answers they logged, on customers they can see. "
        "Keyset pages over (time, kind, id); `kinds` narrows the sources. NOT_FOUND for a "
        "customer the caller may not see."))
    async def timeline(self, info: Info, customer: strawberry.ID, first: int | None = None,
                       after: str | None = None, kinds: list[TimelineKind] | None = None
                       ) -> TimelineConnection:
        context = info.context
        size = context.page_size(first)
        page = await context.read(timeline.timeline, customer_ref(customer), first=size,
                                  after=after, kinds=[k.value for k in kinds or []])
        return TimelineConnection(page=page)

    @strawberry.field(extensions=needs(Permission.INTERACTIONS_READ), description=(
        "Satisfaction over the answers given in [since, until) that the caller may see: of "
        "one customer (a company's include its contacts'), or of the whole tenant when "
        "`customer` is null. NPS = % promoters (9-10) - % detractors (0-6)."))
    async def satisfaction(self, info: Info, customer: strawberry.ID | None = None,
                           since: datetime | None = None, until: datetime | None = None
                           ) -> SatisfactionStatsType:
        since, until = _aware(since, "since"), _aware(until, "until")
        if since is not None and until is not None and since >= until:
            raise ValidationFailed([FieldError("until", "must be after since", "out_of_range")])
        stats = await info.context.read(
            service.satisfaction, customer=customer_ref(customer) if customer else None,
            since=since, until=until)
        return SatisfactionStatsType(**vars(stats))

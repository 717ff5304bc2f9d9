"""GraphQL types of the interactions domain: interaction types, interactions, survey answers,
the customer timeline and satisfaction statistics; every field declared, none auto-mapped."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graphql_api.customers.types import CompanyType, ContactType
from graphql_api.kit import node, reference, sort_enum
from graphql_api.relay import Node, PageInfo, to_global_id
from graphql_api.tenancy.types import UserType
from infra.pagination import Page
from modules.interactions import timeline as timeline_module
from modules.interactions.entities import INTERACTION, INTERACTION_TYPE, SURVEY_RESPONSE
from tenancy import directory
from tenancy.audit import changed_fields


@strawberry.enum(description="The types every tenant has; the web app names them in each "
                             "reader's language.")
class BuiltInInteractionType(Enum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    CHAT = "chat"
    VISIT = "visit"
    NOTE = "note"


@strawberry.enum(description="How an interaction took place.")
class InteractionChannel(Enum):
    PHONE = "phone"
    EMAIL = "email"
    WECHAT = "wechat"
    SMS = "sms"
    VIDEO = "video"
    IN_PERSON = "in_person"
    OTHER = "other"


@strawberry.enum
class InteractionDirection(Enum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


@strawberry.enum(description="The sources a customer's timeline merges.")
class TimelineKind(Enum):
    INTERACTION = "interaction"
    SURVEY = "survey"
    CHANGE = "change"


InteractionTypeSort = sort_enum(INTERACTION_TYPE, "InteractionTypeSort",
                                description="Orderings of interaction types; by name unless "
                                            "told.")
InteractionSort = sort_enum(INTERACTION, "InteractionSort",
                            description="Orderings of interactions; most recent first unless "
                                        "told.")
SurveyResponseSort = sort_enum(SURVEY_RESPONSE, "SurveyResponseSort")


@node(INTERACTION_TYPE, description="A kind of interaction: built-in (call, email, meeting, "
                                    "chat, visit, note) or one the tenant added.")
class InteractionTypeType(Node):
    name: str = strawberry.field(description="Unique in the tenant, whatever its case; a "
                                             "built-in type's English name, which it keeps.")
    color: str | None = strawberry.field(description="#rrggbb, lower-case; null: the "
                                                     "default colour of its kind.")
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None

    @strawberry.field(description="The built-in type this is; null for the tenant's own.")
    def key(self) -> BuiltInInteractionType | None:
        value = self.key
        return BuiltInInteractionType(value) if value else None

    @strawberry.field(description="Built-in types keep their name; they can be deleted "
                                  "(hidden) and restored.")
    def built_in(self) -> bool:
        return self.key is not None


@node(INTERACTION, description="A call, email, meeting, chat, visit or note logged against a "
                               "contact and/or a company. Its owner is its author.")
class InteractionNode(Node):
    subject: str
    body: str | None = strawberry.field(description="Notes: what was said.")
    outcome: str | None
    occurred_at: datetime
    duration_seconds: int | None
    next_follow_up_at: datetime | None = strawberry.field(
        description="When to follow up; listed by `followUps` until cleared.")
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    type = reference(InteractionTypeType, "type_id",
                     description="Null when the type is deleted and the caller may not see "
                                 "deleted types.")
    contact = reference(ContactType, "contact_id")
    company = reference(CompanyType, "company_id")
    owner = reference(UserType, "owner_id", join=directory.owner_user_sql,
                      description="Who logged it.")

    @strawberry.field
    def channel(self) -> InteractionChannel | None:
        value = self.channel
        return InteractionChannel(value) if value else None

    @strawberry.field
    def direction(self) -> InteractionDirection | None:
        value = self.direction
        return InteractionDirection(value) if value else None

    @strawberry.field(description="Contacts who took part that the caller may see.")
    async def participant_contacts(self, info: Info) -> list[ContactType]:
        ids = self.participant_contact_ids  # type: ignore[attr-defined]
        rows = await info.context.loaders.contact.load_many(ids) if ids else []
        return [r for r in rows if r is not None]

    @strawberry.field(description="Members who took part.")
    async def participant_members(self, info: Info) -> list[UserType]:
        ids = self.participant_member_ids  # type: ignore[attr-defined]
        rows = await info.context.loaders.user.load_many(ids) if ids else []
        return [r for r in rows if r is not None]


@node(SURVEY_RESPONSE, description="A customer's satisfaction survey answer: CSAT 1-5 and/or "
                                   "NPS 0-10, with a comment.")
class SurveyResponseNode(Node):
    csat: int | None = strawberry.field(description="1 (very unsatisfied) to 5.")
    nps: int | None = strawberry.field(description="0 to 10: how likely to recommend us.")
    comment: str | None
    responded_at: datetime
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    contact = reference(ContactType, "contact_id")
    company = reference(CompanyType, "company_id")
    interaction = reference(InteractionNode, "interaction_id")
    owner = reference(UserType, "owner_id", join=directory.owner_user_sql,
                      description="Who recorded it.")


@strawberry.type(description="One field a change set, in the API's form (ids as global ids).")
class FieldChange:
    field: str
    before: JSON | None
    after: JSON | None


@strawberry.type(name="RecordChange", description="A change to the customer's record, from "
                                                  "the audit log.")
class RecordChangeType:
    row: strawberry.Private[timeline_module.Change]

    @strawberry.field(description="The audit entry's global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("AuditEntry", self.row.id))

    @strawberry.field(description="created, updated, deleted, restored, tagged, untagged, …")
    def action(self) -> str:
        return self.row.action

    @strawberry.field
    def occurred_at(self) -> datetime:
        return self.row.occurred_at

    @strawberry.field(description="Who made it, as recorded (a member's name, an API key's).")
    def actor_label(self) -> str:
        return self.row.actor_label

    @strawberry.field(description="The member who made it; null for API keys and the system.")
    async def actor(self, info: Info) -> UserType | None:
        if self.row.actor_type != "user" or self.row.actor_id is None:
            return None
        return await info.context.loaders.user.load(  # type: ignore[no-any-return]
            self.row.actor_id)

    @strawberry.field(description="The fields an update changed, before and after; empty for "
                                  "a creation, deletion or restore.")
    def changes(self) -> list[FieldChange]:
        row = self.row
        if row.before is None or row.after is None or row.action in ("deleted", "restored"):
            return []
        return [FieldChange(field=k, before=row.before.get(k), after=row.after.get(k))
                for k in changed_fields(row.before, row.after)]


TimelineItem = Annotated[InteractionNode | SurveyResponseNode | RecordChangeType,
                         strawberry.union("TimelineItem")]


@strawberry.type
class TimelineEdge:
    entry: strawberry.Private[timeline_module.Entry]
    cursor: str

    @strawberry.field(description="When it happened (an interaction's time, an answer's, a "
                                  "change's).")
    def at(self) -> datetime:
        return self.entry.at

    @strawberry.field
    def kind(self) -> TimelineKind:
        return TimelineKind(self.entry.kind)

    @strawberry.field(description="Null if it vanished since the page was read.")
    async def node(self, info: Info) -> TimelineItem | None:
        entry = self.entry
        if entry.kind == timeline_module.CHANGE_KIND:
            return RecordChangeType(row=entry.change) if entry.change else None
        loader = "interaction" if entry.kind == timeline_module.INTERACTION_KIND \
            else "survey_response"
        return await getattr(info.context.loaders, loader).load(entry.id)  # type: ignore[no-any-return]


@strawberry.type(description="A page of a customer's timeline, newest first; `after` takes "
                             "the previous page's `endCursor`.")
class TimelineConnection:
    page: strawberry.Private[Page[Any]]

    @strawberry.field
    def edges(self) -> list[TimelineEdge]:
        return [TimelineEdge(entry=e, cursor=self.page.cursor(e)) for e in self.page.items]

    @strawberry.field
    def page_info(self) -> PageInfo:
        page = self.page
        return PageInfo(has_next_page=page.has_next_page,
                        has_previous_page=page.has_previous_page,
                        start_cursor=page.start_cursor, end_cursor=page.end_cursor)


@strawberry.type(name="SatisfactionStats", description="Survey answers summed up over a "
                 "period, of what the caller may see; computed by the database.")
class SatisfactionStatsType:
    responses: int
    csat_responses: int = strawberry.field(description="Answers with a CSAT score.")
    csat_average: Decimal | None = strawberry.field(description="Average CSAT, 1-5, two "
                                                                "decimals; null: no answers.")
    nps_responses: int = strawberry.field(description="Answers with an NPS score.")
    promoters: int = strawberry.field(description="NPS 9-10.")
    passives: int = strawberry.field(description="NPS 7-8.")
    detractors: int = strawberry.field(description="NPS 0-6.")
    nps: Decimal | None = strawberry.field(description="% promoters - % detractors (-100 to "
                                                       "100, one decimal); null: no answers.")


@strawberry.input(description="An interaction type's name; on update, only if sent.")
class InteractionTypeInput:
    name: str | None = strawberry.UNSET
    color: str | None = strawberry.field(default=strawberry.UNSET, description="#rrggbb.")


@strawberry.input
class InteractionTypeFilter:
    search: str | None = strawberry.field(default=None, description="Part of the name.")
    include_deleted: bool = False
    deleted_only: bool = False


@strawberry.input(description="An interaction's fields; on update, only those sent change "
                              "(null clears).")
class InteractionInput:
    type_id: strawberry.ID | None = strawberry.UNSET
    channel: InteractionChannel | None = strawberry.UNSET
    direction: InteractionDirection | None = strawberry.UNSET
    occurred_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="With its UTC offset; now if not sent on create.")
    duration_seconds: int | None = strawberry.field(default=strawberry.UNSET,
                                                    description="0 to 86400.")
    subject: str | None = strawberry.UNSET
    body: str | None = strawberry.UNSET
    outcome: str | None = strawberry.UNSET
    next_follow_up_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Not before `occurredAt`.")
    contact_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="A contact and/or a company: at least one.")
    company_id: strawberry.ID | None = strawberry.UNSET
    participant_contact_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="At most 20.")
    participant_member_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="Users' ids; at most 20.")


@strawberry.input(description="Narrows an interaction list; all given conditions must hold.")
class InteractionFilter:
    search: str | None = strawberry.field(default=None,
                                          description="Part of the subject or notes.")
    type_id: strawberry.ID | None = None
    contact_id: strawberry.ID | None = None
    company_id: strawberry.ID | None = None
    owner_id: strawberry.ID | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    follow_up_before: datetime | None = None
    include_deleted: bool = False
    deleted_only: bool = False


@strawberry.input(description="A survey answer; CSAT and/or NPS. Given only an interaction, "
                              "it is about that interaction's customer.")
class SurveyResponseInput:
    contact_id: strawberry.ID | None = strawberry.UNSET
    company_id: strawberry.ID | None = strawberry.UNSET
    interaction_id: strawberry.ID | None = strawberry.UNSET
    csat: int | None = strawberry.field(default=strawberry.UNSET, description="1 to 5.")
    nps: int | None = strawberry.field(default=strawberry.UNSET, description="0 to 10.")
    comment: str | None = strawberry.UNSET
    responded_at: datetime | None = strawberry.field(default=strawberry.UNSET,
                                                     description="Now if not sent.")


@strawberry.input
class SurveyResponseFilter:
    contact_id: strawberry.ID | None = None
    company_id: strawberry.ID | None = None
    interaction_id: strawberry.ID | None = None
    responded_after: datetime | None = None
    responded_before: datetime | None = None
    include_deleted: bool = False
    deleted_only: bool = False



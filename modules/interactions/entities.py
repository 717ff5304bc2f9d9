"""Interaction types, interactions and survey answers, declared once for the kit.

Interactions and survey answers are owned by their author: a caller without
`interactions:read_all` (a sales user) sees and changes only those they logged, and logs them
only on customers they can see (`service.check_customers`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, or_
from sqlalchemy.sql.elements import ColumnElement

from modules.interactions.models import Interaction, InteractionKind, SurveyResponse
from modules.kit import (
    AtLeast,
    Before,
    Contains,
    Entity,
    Equals,
    Field,
    Filter,
    Sort,
    like_pattern,
    standard_sorts,
)
from tenancy.context import CallContext
from tenancy.permissions import Permission

_STANDARD = {s.name: s for s in standard_sorts()}

INTERACTION_TYPE = Entity(
    name="interaction_type", type_name="InteractionType", model=InteractionKind,
    read=Permission.INTERACTIONS_READ, write=Permission.INTERACTION_TYPES_MANAGE,
    delete=Permission.INTERACTION_TYPES_MANAGE,
    sorts=tuple(_STANDARD[name] for name in ("NAME_ASC", "NAME_DESC", "CREATED_AT_DESC",
                                             "CREATED_AT_ASC", "UPDATED_AT_DESC")),
    filters={"search": Contains("name")},
    fields={"key": Field(enum=True)},
    unique={"interaction_types_name_key": "name"},
    label="interaction type",
)


@dataclass(frozen=True)
class TextSearch(Filter):
    """Part of the subject or of the notes, case-insensitive."""

    def clause(self, model: Any, name: str) -> ColumnElement[bool]:
        pattern = bindparam(name, type_=String)
        return or_(model.subject.ilike(pattern), model.body.ilike(pattern))

    def params(self, name: str, value: Any, ctx: CallContext) -> dict[str, Any]:
        return {name: like_pattern(value)}


_TIME_SORTS = (_STANDARD["CREATED_AT_DESC"], _STANDARD["CREATED_AT_ASC"],
               _STANDARD["UPDATED_AT_DESC"])

INTERACTION = Entity(
    name="interaction", type_name="Interaction", model=Interaction,
    read=Permission.INTERACTIONS_READ, read_all=Permission.INTERACTIONS_READ_ALL,
    write=Permission.INTERACTIONS_WRITE, delete=Permission.INTERACTIONS_DELETE,
    owner="owner_id",
    sorts=(Sort("OCCURRED_AT_DESC", ("occurred_at",), True, "Most recent first."),
           Sort("OCCURRED_AT_ASC", ("occurred_at",), False, "Oldest first."), *_TIME_SORTS),
    filters={"search": TextSearch(), "type_id": Equals("type_id"),
             "contact_id": Equals("contact_id"), "company_id": Equals("company_id"),
             "owner_id": Equals("owner_id"), "occurred_after": AtLeast("occurred_at"),
             "occurred_before": Before("occurred_at"),
             "follow_up_before": Before("next_follow_up_at")},
    fields={"type_id": Field(reference="InteractionType"),
            "contact_id": Field(reference="Contact"),
            "company_id": Field(reference="Company"),
            "channel": Field(enum=True), "direction": Field(enum=True)},
)

SURVEY_RESPONSE = Entity(
    name="survey_response", type_name="SurveyResponse", model=SurveyResponse,
    read=Permission.INTERACTIONS_READ, read_all=Permission.INTERACTIONS_READ_ALL,
    write=Permission.INTERACTIONS_WRITE, delete=Permission.INTERACTIONS_DELETE,
    owner="owner_id",
    sorts=(Sort("RESPONDED_AT_DESC", ("responded_at",), True, "Most recent first."),
           *_TIME_SORTS),
    filters={"contact_id": Equals("contact_id"), "company_id": Equals("company_id"),
             "interaction_id": Equals("interaction_id"),
             "responded_after": AtLeast("responded_at"),
             "responded_before": Before("responded_at")},
    fields={"contact_id": Field(reference="Contact"), "company_id": Field(reference="Company"),
            "interaction_id": Field(reference="Interaction")},
    label="survey response",
)

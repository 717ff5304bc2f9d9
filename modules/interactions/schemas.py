"""Validation of interaction, interaction-type and survey input: one pass, every field error
reported at once. Inputs arrive as dicts of the fields sent (on update, only those sent)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.errors import ValidationFailed
from infra.global_ids import from_global_id
from infra.validation import Validator

CHANNELS = ("phone", "email", "wechat", "sms", "video", "in_person", "other")
DIRECTIONS = ("inbound", "outbound")
MAX_DURATION = 24 * 3600  # seconds: one day
MAX_PARTICIPANTS = 20
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# An interaction is a record of what happened; a little ahead is allowed (a meeting logged
# before it starts), a year ahead is a typo.
AHEAD = timedelta(days=366)
FOLLOW_UP_HORIZON = timedelta(days=5 * 366)
_COLOR = re.compile(r"#[0-9a-f]{6}")


def _moment(v: Validator, field: str, value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        v.fail(field, "must be a date and time with its UTC offset", "invalid_datetime")
        return None
    return value


def _ids(v: Validator, field: str, value: Any, type_name: str) -> list[uuid.UUID]:
    """Ids of one type: uuids, or the API's global ids (decoded here: the kit decodes only
    single references)."""
    if value is None:
        return []
    if len(value) > MAX_PARTICIPANTS:
        v.fail(field, f"at most {MAX_PARTICIPANTS}", "too_many")
        return []
    out: list[uuid.UUID] = []
    for i, item in enumerate(value):
        if isinstance(item, uuid.UUID):
            out.append(item)
            continue
        try:
            kind, key = from_global_id(str(item))
        except (ValueError, UnicodeDecodeError):
            kind, key = "", uuid.UUID(int=0)
        if kind != type_name:
            v.fail(f"{field}.{i}", f"is not a {type_name} ID", "invalid_id")
        out.append(key)
    return list(dict.fromkeys(out))  # once each, in the order given


def validate_interaction(data: dict[str, Any], *, current: Any = None, now: datetime
                         ) -> dict[str, Any]:
    """Column values of an interaction from the fields sent; `current`: the one being updated
    (its values stand for fields not sent, e.g. a new follow-up is checked against the stored
    time). A follow-up before the interaction itself is refused."""
    v = Validator()
    out: dict[str, Any] = {}
    creating = current is None
    if "type_id" in data or creating:
        if data.get("type_id") is None:
            v.fail("typeId", "is required", "required")
        else:
            out["type_id"] = data["type_id"]
    if "subject" in data or creating:
        out["subject"] = v.text("subject", data.get("subject"), max_len=200, required=True)
    if "body" in data:
        out["body"] = v.text("body", data["body"], max_len=20_000, multiline=True)
    if "outcome" in data:
        out["outcome"] = v.text("outcome", data["outcome"], max_len=500, multiline=True)
    if "channel" in data:
        if data["channel"] is not None and data["channel"] not in CHANNELS:
            v.fail("channel", f"must be one of {', '.join(CHANNELS)}")
        out["channel"] = data["channel"]
    if "direction" in data:
        if data["direction"] is not None and data["direction"] not in DIRECTIONS:
            v.fail("direction", "must be inbound or outbound")
        out["direction"] = data["direction"]
    if "duration_seconds" in data:
        duration = data["duration_seconds"]
        if duration is not None and not 0 <= duration <= MAX_DURATION:
            v.fail("durationSeconds", f"must be between 0 and {MAX_DURATION} (one day)",
                   "out_of_range")
        out["duration_seconds"] = duration
    occurred = current.occurred_at if current is not None else None
    if "occurred_at" in data or creating:
        value = data.get("occurred_at", now)
        if value is None:
            v.fail("occurredAt", "is required", "required")
        elif (value := _moment(v, "occurredAt", value)) is not None:
            if not EARLIEST <= value <= now + AHEAD:
                v.fail("occurredAt", "must be between 2000-01-01 and a year from now",
                       "out_of_range")
            else:
                out["occurred_at"] = occurred = value
    if "next_follow_up_at" in data or ("occurred_at" in out and current is not None):
        follow_up = data.get("next_follow_up_at", getattr(current, "next_follow_up_at", None))
        follow_up = _moment(v, "nextFollowUpAt", follow_up)
        if follow_up is not None and occurred is not None:
            if follow_up < occurred:
                v.fail("nextFollowUpAt", "must not be before the interaction", "before_occurrence")
            elif follow_up > occurred + FOLLOW_UP_HORIZON:
                v.fail("nextFollowUpAt", "must be within five years", "out_of_range")
        if "next_follow_up_at" in data:
            out["next_follow_up_at"] = follow_up
    for key in ("contact_id", "company_id"):
        if key in data:
            out[key] = data[key]
    if all(data.get(k, getattr(current, k, None)) is None for k in ("contact_id", "company_id")):
        v.fail("contactId", "an interaction is logged against a contact or a company",
               "required")
    if "participant_contact_ids" in data:
        out["participant_contact_ids"] = _ids(v, "participantContactIds",
                                              data["participant_contact_ids"], "Contact")
    if "participant_member_ids" in data:
        out["participant_member_ids"] = _ids(v, "participantMemberIds",
                                             data["participant_member_ids"], "User")
    if v.errors:
        raise ValidationFailed(v.errors)
    return out


def validate_interaction_type(data: dict[str, Any], *, current: Any = None) -> dict[str, Any]:
    """A type's name: one line, 1 to 50 characters; its colour `#rrggbb` (stored lower-case;
    null: the web app's colour for its kind). Built-in types keep their name (the web app
    shows them in each reader's language)."""
    v = Validator()
    out: dict[str, Any] = {}
    if "name" in data or current is None:
        name = v.text("name", data.get("name"), max_len=50, required=True)
        if name is not None and ("\n" in name or "\t" in name):
            v.fail("name", "must be a single line")
        if current is not None and current.key is not None and name != current.name:
            v.fail("name", "a built-in type keeps its name", "built_in")
        out["name"] = name
    if "color" in data:
        color = data["color"]
        color = color.strip().lower() if color is not None else None
        if color is not None and not _COLOR.fullmatch(color):
            v.fail("color", "must be a colour as #rrggbb (e.g. #1e88e5)", "invalid_color")
        out["color"] = color
    if v.errors:
        raise ValidationFailed(v.errors)
    return out


def validate_survey_response(data: dict[str, Any], *, current: Any = None, now: datetime
                             ) -> dict[str, Any]:
    """CSAT 1 to 5 and/or NPS 0 to 10 (at least one), a comment, when it was answered."""
    v = Validator()
    out: dict[str, Any] = {}
    for key, field, low, high in (("csat", "csat", 1, 5), ("nps", "nps", 0, 10)):
        if key in data:
            value = data[key]
            if value is not None and not low <= value <= high:
                v.fail(field, f"must be between {low} and {high}", "out_of_range")
            out[key] = value
    csat = out.get("csat", getattr(current, "csat", None))
    nps = out.get("nps", getattr(current, "nps", None))
    if csat is None and nps is None and not v.errors:
        v.fail("csat", "an answer has a CSAT score, an NPS score or both", "required")
    if "comment" in data:
        out["comment"] = v.text("comment", data["comment"], max_len=5_000, multiline=True)
    if "responded_at" in data or current is None:
        value = data.get("responded_at") or now
        if (value := _moment(v, "respondedAt", value)) is not None:
            if not EARLIEST <= value <= now + timedelta(minutes=5):
                v.fail("respondedAt", "must be between 2000-01-01 and now", "out_of_range")
            out["responded_at"] = value
    for key in ("contact_id", "company_id", "interaction_id"):
        if key in data:
            out[key] = data[key]
    if current is not None and all(data.get(k, getattr(current, k)) is None
                                   for k in ("contact_id", "company_id")):
        v.fail("contactId", "an answer is linked to a contact or a company", "required")
    if v.errors:
        raise ValidationFailed(v.errors)
    return out

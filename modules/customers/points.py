"""A customer's phones and emails ("contact points"): several of each, labelled, one primary.

Held on the record itself, in `phones` / `emails` (jsonb lists, in the order the caller gave),
and the primary of each mirrored into the `phone` / `email` columns by the same write, so lists,
sorts, the duplicate checks and everything else that reads those columns keep working. On the
row, the points are under its row-level security and record rule, in its audit rows and events
(before and after), read with it (no loader, no N+1), and found by search: migration 0012 puts
them into the row's `search_text`, under the search's indexes.

Stored forms: `{"number": "+8613800138000", "label": "MOBILE", "primary": true}` (E.164) and
`{"email": "li@example.cn", "label": "WORK", "primary": true}` (normalised, lower case).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import phonenumbers

from infra.validation import Validator

LABELS = ("MOBILE", "WORK", "HOME", "FAX", "OTHER")
MAX_POINTS = 20  # of each kind per record


@dataclass(frozen=True)
class Kind:
    name: str  # the input and column: phones / emails
    value: str  # the key of each point's value: number / email
    column: str  # the mirrored primary: phone / email
    noun: str


PHONES = Kind("phones", "number", "phone", "phone")
EMAILS = Kind("emails", "email", "email", "email")
KINDS = (PHONES, EMAILS)


def _default_label(kind: Kind, value: str) -> str:
    if kind is EMAILS:
        return "WORK"
    number = phonenumbers.parse(value)
    mobile = phonenumbers.number_type(number) in (phonenumbers.PhoneNumberType.MOBILE,
                                                  phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    return "MOBILE" if mobile else "WORK"


def held(row: Any, kind: Kind) -> list[dict[str, Any]]:
    """The record's points of a kind; a record written before the points (or by a path that
    set only the column) has its column's value as its one, primary, point."""
    if row is None:
        return []
    points = getattr(row, kind.name, None)
    if points:
        return [dict(p) for p in points]
    value = getattr(row, kind.column, None)
    if not value:
        return []
    try:
        label = _default_label(kind, value)
    except phonenumbers.NumberParseException:
        label = "OTHER"
    return [{kind.value: value, "label": label, "primary": True}]


def _checked_value(v: Validator, kind: Kind, field: str, raw: Any, region: str) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        v.fail(field, "is required", "required")
        return None
    if kind is EMAILS:
        return v.email(field, raw)
    # Seven or eight digits starting 2-9: a mainland landline's local number (mobiles start 1).
    digits = "".join(ch for ch in raw if ch.isdigit())
    if region == "CN" and 7 <= len(digits) <= 8 and digits[0] not in "01" \
            and not raw.strip().startswith("+"):
        v.fail(field, "a landline number needs its area code (e.g. 010-12345678)",
               "needs_area_code")
        return None
    return v.phone(field, raw, region)


def validate_points(v: Validator, kind: Kind, sent: Any, region: str) -> list[dict[str, Any]]:
    """The points of a kind as sent (a list of `{number|email, label, primary}`), normalised;
    errors on `<kind>.<i>.<field>`. None of them marked primary: the first is."""
    if sent is None:
        return []
    if not isinstance(sent, list):
        v.fail(kind.name, "must be a list", "invalid")
        return []
    if len(sent) > MAX_POINTS:
        v.fail(kind.name, f"must hold at most {MAX_POINTS} {kind.noun}s", "too_many")
        return []
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    primaries = 0
    before = len(v.errors)
    for i, point in enumerate(sent):
        at = f"{kind.name}.{i}"
        if not isinstance(point, dict):
            v.fail(at, "must be an object", "invalid")
            continue
        value = _checked_value(v, kind, f"{at}.{kind.value}", point.get(kind.value), region)
        label = point.get("label") or None
        if label is not None and label not in LABELS:
            v.fail(f"{at}.label", f"must be one of {', '.join(LABELS)}")
        primary = point.get("primary") is True
        if primary:
            primaries += 1
            if primaries > 1:
                v.fail(f"{at}.primary", f"only one {kind.noun} can be primary", "invalid")
        if value is None:
            continue
        key = value.lower()
        if key in seen:
            v.fail(f"{at}.{kind.value}", f"repeats {kind.name}.{seen[key]}", "duplicate")
            continue
        seen[key] = i
        out.append({kind.value: value, "label": label or _default_label(kind, value),
                    "primary": primary})
    if len(v.errors) > before:
        return []
    if out and primaries == 0:
        out[0]["primary"] = True
    return out


def with_primary(points: list[dict[str, Any]], kind: Kind, value: str | None
                 ) -> list[dict[str, Any]]:
    """The points after the primary alone was set (the `phone` / `email` input): a value the
    record holds becomes its primary; another replaces the primary's value; null removes the
    primary (the next point becomes primary)."""
    points = [dict(p) for p in points]
    current = next((p for p in points if p["primary"]), None)
    if value is None:
        rest = [p for p in points if p is not current]
        if rest:
            rest[0]["primary"] = True
        return rest
    match = next((p for p in points if p[kind.value].lower() == value.lower()), None)
    if match is not None:
        for p in points:
            p["primary"] = p is match
        return points
    if current is None:
        return [{kind.value: value, "label": _default_label(kind, value), "primary": True},
                *points]
    current[kind.value] = value
    return points


def primary(points: list[dict[str, Any]], kind: Kind) -> str | None:
    return next((p[kind.value] for p in points if p["primary"]), None)


def validate_all(v: Validator, data: dict[str, Any], region: str, row: Any,
                 out: dict[str, Any]) -> None:
    """The points and mirrored columns of what was sent, into `out`: `phones` replaces the list;
    `phone` alone sets the primary (`with_primary`); sending both is refused."""
    for kind in KINDS:
        if kind.name in data and kind.column in data:
            v.fail(kind.column, f"send either {kind.column} or {kind.name}, not both",
                   "invalid")
            continue
        if kind.name in data:
            points = validate_points(v, kind, data[kind.name], region)
        elif kind.column in data:
            errors = len(v.errors)
            raw = data[kind.column]
            checked = (v.email(kind.column, raw) if kind is EMAILS
                       else v.phone(kind.column, raw, region))
            if len(v.errors) > errors:
                continue
            points = with_primary(held(row, kind), kind, checked)
        else:
            continue
        out[kind.name] = points or None
        out[kind.column] = primary(points, kind)


def formatted(number: str, region: str) -> str:
    """A stored (E.164) number as people read it: nationally for the tenant's own country
    (`138 0013 8000`, `010 1234 5678`), internationally otherwise (`+1 650-253-0000`)."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return number
    own = phonenumbers.region_code_for_number(parsed) == region
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL if own
                                      else phonenumbers.PhoneNumberFormat.INTERNATIONAL)

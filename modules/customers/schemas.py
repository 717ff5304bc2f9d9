"""Validation of customer input: one pass, every field error reported at once.

Inputs arrive as dicts of the fields the caller actually sent (an update that omits a field leaves
it alone; one that sends null clears it). Nested objects follow the same rule: an update of an
address changes only the address fields sent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from infra.errors import ValidationFailed
from modules.validation import Validator

GENDERS = {"male", "female", "other", "undisclosed"}


def merged(current: dict[str, Any] | None, sent: dict[str, Any] | None) -> dict[str, Any] | None:
    """A nested object after an update: the fields sent replace the current ones (null clears
    one); the others are kept. Sending the object as null clears all of it."""
    if sent is None:
        return None
    return {**(current or {}), **sent}


def _common(v: Validator, data: dict[str, Any], region: str, *, current: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data or current is None:
        out["name"] = v.text("name", data.get("name"), max_len=200, required=True)
    if "email" in data:
        out["email"] = v.email("email", data["email"])
    if "phone" in data:
        out["phone"] = v.phone("phone", data["phone"], region)
    if "address" in data:
        out["address"] = v.address("address", merged(
            current.address if current is not None else None, data["address"]))
    if "notes" in data:
        out["notes"] = v.text("notes", data["notes"], max_len=10_000, multiline=True)
    for key in ("owner_id",):
        if key in data:
            out[key] = data[key]
    return out


def validate_contact(data: dict[str, Any], region: str, *, current: Any = None
                     ) -> dict[str, Any]:
    """Column values of a contact from the fields sent; `current`: the contact being updated."""
    v = Validator()
    out = _common(v, data, region, current=current)
    if "company_id" in data:
        out["company_id"] = data["company_id"]
    if "title" in data:
        out["title"] = v.text("title", data["title"], max_len=100)
    if "gender" in data:
        gender = data["gender"]
        if gender is not None and gender not in GENDERS:
            v.fail("gender", f"must be one of {', '.join(sorted(GENDERS))}")
        out["gender"] = gender
    if "birthday" in data:
        birthday = data["birthday"]
        today = datetime.now(UTC).date()
        if birthday is not None and not date(1900, 1, 1) <= birthday <= today:
            v.fail("birthday", "must be between 1900-01-01 and today", "out_of_range")
        out["birthday"] = birthday
    if v.errors:
        raise ValidationFailed(v.errors)
    return out


def validate_company(data: dict[str, Any], region: str, *, current: Any = None
                     ) -> dict[str, Any]:
    """Column values of a company from the fields sent; `current`: the company being updated."""
    v = Validator()
    out = _common(v, data, region, current=current)
    if "domain" in data:
        domain = v.text("domain", data["domain"], max_len=253)
        if domain and ("." not in domain or " " in domain):
            v.fail("domain", "is not a domain name")
        out["domain"] = domain.lower() if domain else None
    if "industry" in data:
        out["industry"] = v.text("industry", data["industry"], max_len=100)
    if v.errors:
        raise ValidationFailed(v.errors)
    return out

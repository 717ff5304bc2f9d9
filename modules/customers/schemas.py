"""Validation of customer input: one pass, every field error reported at once.

Inputs arrive as dicts of the fields the caller actually sent (an update that omits a field leaves
it alone; one that sends null clears it); on update, a nested object arrives already merged over
the stored one (`modules.kit.service`), so its fields follow the same rule.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

import phonenumbers

from infra.errors import ValidationFailed
from infra.validation import Validator, normalise_phone
from modules.customers import points
from modules.customers.addresses import validate_address
from modules.pii.identity import RESIDENT_ID, check_id_number

GENDERS = {"male", "female", "other", "undisclosed"}
# A search term that could be (part of) a phone number as people type them: digits (full-width
# ones too), spaces, dashes, dots, brackets, a leading plus.
_PHONE_LIKE = re.compile(r"\+?[\d\s().\-]*\d[\d\s().\-]*")


# What a search term may hold, and which index finds it (migration 0008): a trigram index serves
# a LIKE only through the trigrams of the term's alphanumeric runs, and `pg_trgm` keeps non-ASCII
# letters only where the database's ctype calls them letters (not in the `C` locale). Every
# other term goes through the bigram index.
SEARCH_MAX_TERM = 100
_TRIGRAM_WORD = re.compile(r"[a-z0-9]{3}", re.ASCII | re.IGNORECASE)


def search_route(term: str) -> str:
    """`trgm` or `grams`: the index that finds stored text holding `term`."""
    return "trgm" if _TRIGRAM_WORD.search(term) else "grams"


def phone_search_term(term: str, region: str) -> str:
    """What to look for in stored phone numbers (E.164) when a search term looks like one:
    the number as input would store it (`010-6552 9988` → `+861065529988` in a CN tenant), or
    for a part of a number its digits, without the region's trunk prefix (`010-6552` →
    `106552`). Any other term is looked for as it is."""
    term = term.strip()
    if not _PHONE_LIKE.fullmatch(term):
        return term
    try:
        return normalise_phone(term, region)
    except ValueError:
        pass
    digits = "".join(str(unicodedata.decimal(ch)) for ch in term if ch.isdecimal())
    if term.startswith("+"):
        return "+" + digits
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    prefix = metadata.national_prefix if metadata is not None else None
    if prefix and digits.startswith(prefix) and len(digits) > len(prefix):
        digits = digits[len(prefix):]
    return digits


def _common(v: Validator, data: dict[str, Any], region: str, *, current: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data or current is None:
        out["name"] = v.text("name", data.get("name"), max_len=200, required=True)
    points.validate_all(v, data, region, current, out)  # phones, emails and their primaries
    if "address" in data:
        out["address"] = validate_address(v, "address", data["address"])
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
    _sensitive(v, data, out, current)
    if "birthday" in data:
        birthday = data["birthday"]
        today = datetime.now(UTC).date()
        if birthday is not None and not date(1900, 1, 1) <= birthday <= today:
            v.fail("birthday", "must be between 1900-01-01 and today", "out_of_range")
        out["birthday"] = birthday
    if v.errors:
        raise ValidationFailed(v.errors)
    return out


def _sensitive(v: Validator, data: dict[str, Any], out: dict[str, Any], current: Any) -> None:
    """A contact's identity document and personal notes, in clear: the service seals them
    (`modules.pii.contacts`). The type changes only with the number; null clears both."""
    if "id_type" in data and "id_number" not in data:
        v.fail("idNumber", "send the number with its type", "required")
    elif "id_number" in data:
        id_type = data.get("id_type") or (current.id_type if current is not None
                                          and current.id_type else RESIDENT_ID)
        number = check_id_number(v, id_type, data["id_number"])
        out["id_number"] = number
        out["id_type"] = id_type if number is not None else None
    if "personal_notes" in data:
        out["personal_notes"] = v.text("personalNotes", data["personal_notes"],
                                       max_len=10_000, multiline=True)


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

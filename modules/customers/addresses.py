"""Structured postal addresses of customers (the `address` jsonb of contacts and companies).

In mainland China an address names its province, city and district by their GB/T 2260 codes
(`divisions`); the server checks the chain (the district is in the city, the city in the
province) and fills the names from the codes, so names are never mistyped. Elsewhere: the
country (ISO 3166-1 alpha-2) and free lines. Coordinates are optional, both or neither.

Addresses written before codes existed (names only) are read as they are; migration 0012 adds
the codes to those whose names match the data exactly.
"""

from __future__ import annotations

import math
import re
from typing import Any

from infra.validation import Validator
from modules.customers import divisions

LEVELS = (("province", divisions.PROVINCE), ("city", divisions.CITY),
          ("district", divisions.DISTRICT))
TEXT_FIELDS = {"province": 100, "city": 100, "district": 100, "street": 300, "postalCode": 20}
CODE_FIELDS = tuple(f"{level}Code" for level, _ in LEVELS)
FIELDS = frozenset({"country", *TEXT_FIELDS, *CODE_FIELDS, "latitude", "longitude"})
_LEVEL_NAMES = {kind: level for level, kind in LEVELS}
_COUNTRY = re.compile(r"[A-Z]{2}")
_CN_POSTAL = re.compile(r"\d{6}")


def _coordinate(v: Validator, field: str, raw: Any, bound: float) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        v.fail(field, "must be a number", "invalid")
        return None
    if not -bound <= raw <= bound:
        v.fail(field, f"must be between -{bound:g} and {bound:g}", "out_of_range")
        return None
    return float(raw)


def _ancestors(division: divisions.Division) -> dict[str, divisions.Division]:
    """A division and those above it, by level name."""
    out: dict[str, divisions.Division] = {}
    cursor: divisions.Division | None = division
    while cursor is not None:
        out[_LEVEL_NAMES[cursor.level]] = cursor
        cursor = divisions.get(cursor.parent_code) if cursor.parent_code else None
    return out


def _chain(v: Validator, field: str, out: dict[str, Any]) -> None:
    """Codes checked against the data, each in the one above it (a wrong pair is reported on
    the lower one); the levels above the lowest filled in, and every name from its code."""
    found: dict[str, divisions.Division] = {}
    for level, kind in LEVELS:
        code = out.get(f"{level}Code")
        if code is None:
            continue
        division = divisions.get(code)
        if division is None or division.level != kind:
            v.fail(f"{field}.{level}Code", f"is not a {level} of mainland China", "not_found")
            return
        found[level] = division
    if not found:
        return
    if out.get("country", "CN") != "CN":
        v.fail(f"{field}.country", "must be CN (or left out) for an address with division "
                                   "codes", "invalid")
        return
    given = list(found.items())
    for (upper, above), (lower, below) in zip(given, given[1:], strict=False):
        if _ancestors(below).get(upper) is not above:
            v.fail(f"{field}.{lower}Code", f"{below.name} is not in {above.name}", "mismatch")
            return
    chain = _ancestors(given[-1][1])  # the lowest given and every level above it
    out["country"] = "CN"
    for level, division in chain.items():
        out[f"{level}Code"], out[level] = division.code, division.name


def validate_address(v: Validator, field: str, value: Any) -> dict[str, Any] | None:
    """The stored form of an address sent (on update: merged over the stored one), or None
    when nothing is left in it; errors on `<field>.<key>`."""
    if value is None:
        return None
    if not isinstance(value, dict):
        v.fail(field, "must be an object", "invalid")
        return None
    out: dict[str, Any] = {}
    for key, raw in value.items():
        if key not in FIELDS:
            v.fail(f"{field}.{key}", "is not an address field")
        elif raw is None:
            continue
        elif key in ("latitude", "longitude"):
            if (number := _coordinate(v, f"{field}.{key}", raw,
                                      90 if key == "latitude" else 180)) is not None:
                out[key] = number
        elif not isinstance(raw, str):
            v.fail(f"{field}.{key}", "must be text", "invalid")
        elif key == "country" or key in CODE_FIELDS:
            cleaned = v.text(f"{field}.{key}", raw, max_len=20)
            if cleaned and key == "country" and not _COUNTRY.fullmatch(cleaned.upper()):
                v.fail(f"{field}.{key}", "must be a two-letter country code (ISO 3166-1)")
            elif cleaned:
                out[key] = cleaned.upper()
        elif (cleaned := v.text(f"{field}.{key}", raw, max_len=TEXT_FIELDS[key])):
            out[key] = cleaned
    for one, other in (("latitude", "longitude"), ("longitude", "latitude")):
        if value.get(one) is not None and value.get(other) is None:
            v.fail(f"{field}.{other}", f"is required with the {one}", "required")
    _chain(v, field, out)
    postal = out.get("postalCode")
    if postal and out.get("country", "CN") == "CN" and not _CN_POSTAL.fullmatch(postal):
        v.fail(f"{field}.postalCode", "must be six digits in China", "invalid")
    if not any(k not in ("country",) for k in out):
        return None
    return out


def codes_for_names(address: dict[str, Any]) -> dict[str, str]:
    """The division codes of an address written with names only, where the names match the
    data exactly, each in the one above it (for migrating old addresses); {} otherwise."""
    out: dict[str, str] = {}
    parent: str | None = None
    for level, _ in LEVELS:
        name = address.get(level)
        if not name:
            break
        match = [d for d in divisions.children_of(parent) if d.name == name]
        if len(match) != 1:
            break
        out[f"{level}Code"] = parent = match[0].code
    return out

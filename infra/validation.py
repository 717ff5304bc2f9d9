"""Input normalisation shared by every domain: names, emails, phone numbers, addresses.

Chinese input is first-class: names are measured in characters (not bytes), full-width spaces are
folded, mainland mobile numbers are accepted with or without +86, and addresses carry province /
city / district as well as a free-form street line (`modules.customers.addresses`).
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from infra.errors import FieldError

# Invisible characters that reverse or isolate text direction: the stuff of spoofed names
# ("Trojan Source"); refused rather than silently kept.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Invisible characters that carry nothing (zero-width space, word joiner, byte-order mark, often
# pasted in from documents and spreadsheets): dropped. Other format characters carry meaning
# and stay: the zero-width (non-)joiners of Persian and emoji, emoji tag sequences (flags),
# left-to-right and right-to-left marks.
_DROPPED = frozenset("\u200b\u2060\ufeff")
_SPACE_RUNS = re.compile(" {2,}")


def clean_text(value: str) -> str:
    """NFC-normalise, fold full-width and other Unicode spaces (and the Unicode line and
    paragraph separators) into one space, drop zero-width
    spaces and byte-order marks, refuse control and text-direction override characters, trim.
    Newlines and tabs stay (notes have paragraphs)."""
    value = unicodedata.normalize("NFC", value)
    out = []
    for ch in value:
        category = unicodedata.category(ch)
        if category in ("Zs", "Zl", "Zp"):  # line and paragraph separators too: one line
            out.append(" ")
        elif category == "Cc" and ch not in "\n\t":
            raise ValueError("contains control characters")
        elif ch in _BIDI_CONTROLS:
            raise ValueError("contains invisible text-direction characters")
        elif ch in _DROPPED:
            continue
        else:
            out.append(ch)
    return _SPACE_RUNS.sub(" ", "".join(out)).strip()


def normalise_email(value: str) -> str:
    """The one form of an email address: what is stored, looked up (compared exactly, never
    lower-cased again by the database), throttled and shown in audit rows.

    Syntax checked by email-validator (NFC, the domain in its IDNA form), then lower-cased by
    Unicode's default rules, which do not depend on a locale or a database collation. A
    character whose lower case is not one character is refused: only `İ` (capital I with a dot)
    has one (`i` plus a combining dot), which PostgreSQL, Python and a Turkish locale each
    lower differently and which reads like `i`; whoever means it can type it in lower case.
    Idempotent: a normalised address normalises to itself.
    """
    if any(len(ch.lower()) != 1 for ch in value):
        raise ValueError("contains 'İ' (capital I with a dot), which has no single lower-case "
                         "letter; type the address in lower case")
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return unicodedata.normalize("NFC", result.normalized.lower())


def normalise_phone(value: str, region: str) -> str:
    """E.164 (e.g. +8613800138000); numbers without a country code use the tenant's region."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValueError("is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Validator:
    """Collects every field error of one input, so the caller hears about all of them at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, field: str, message: str, code: str = "invalid") -> None:
        self.errors.append(FieldError(field, message, code))

    def text(self, field: str, value: str | None, *, max_len: int, required: bool = False,
             multiline: bool = False) -> str | None:
        if value is None:
            if required:
                self.fail(field, "is required", "required")
            return None
        try:
            cleaned = value.strip() if multiline else clean_text(value)
            if multiline and any(unicodedata.category(c) == "Cc" and c not in "\n\t\r"
                                 for c in cleaned):
                raise ValueError("contains control characters")
        except ValueError as exc:
            self.fail(field, str(exc))
            return None
        if not cleaned:
            if required:
                self.fail(field, "must not be empty", "required")
            return None
        if len(cleaned) > max_len:
            self.fail(field, f"must be at most {max_len} characters", "too_long")
            return None
        return cleaned

    def email(self, field: str, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return normalise_email(value)
        except ValueError as exc:
            self.fail(field, str(exc), "invalid_email")
            return None

    def phone(self, field: str, value: str | None, region: str) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return normalise_phone(value, region)
        except ValueError as exc:
            self.fail(field, str(exc), "invalid_phone")
            return None

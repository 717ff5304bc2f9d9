"""Identity documents: China's resident ID number (GB 11643-1999) and passports, and how
sensitive values are shown to those who may not read them."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from infra.validation import Validator

RESIDENT_ID, PASSPORT = "resident_id", "passport"
ID_TYPES = (RESIDENT_ID, PASSPORT)
MASK = "••••"  # a sensitive text (notes, a sensitive custom field) shown to others

_RESIDENT = re.compile(r"[0-9]{17}[0-9X]")  # ASCII digits only, once folded
_PASSPORT = re.compile(r"[A-Z0-9]{5,20}")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"  # the check character for sum mod 11 = 0, 1, 2, …


def resident_id_check(first17: str) -> str:
    """The 18th character of a resident ID number (ISO 7064 MOD 11-2)."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def _folded(value: str) -> str:
    # Full-width digits and letters (１１０…Ｘ), spaces and dashes people type: folded away.
    value = unicodedata.normalize("NFKC", value)
    return re.sub(r"[\s\-]", "", value).upper()


def check_id_number(v: Validator, id_type: str | None, number: str | None,
                    where: str = "idNumber") -> str | None:
    """The number to store, normalised, or None with an error in `v`."""
    if number is None:
        return None
    if not isinstance(number, str) or len(number) > 64:
        v.fail(where, "is not an identity document number")
        return None
    folded = _folded(number)
    if id_type == RESIDENT_ID:
        if not _RESIDENT.fullmatch(folded):
            v.fail(where, "a resident ID number is 17 digits and a digit or X",
                   "invalid_id_number")
            return None
        try:
            date(int(folded[6:10]), int(folded[10:12]), int(folded[12:14]))
        except ValueError:
            v.fail(where, "holds no valid date of birth", "invalid_id_number")
            return None
        if resident_id_check(folded[:17]) != folded[17]:
            v.fail(where, "its check digit is wrong (a typing mistake?)", "invalid_id_number")
            return None
        return folded
    if id_type == PASSPORT:
        if not _PASSPORT.fullmatch(folded):
            v.fail(where, "a passport number is 5 to 20 letters and digits",
                   "invalid_id_number")
            return None
        return folded
    v.fail("idType", f"must be one of {', '.join(t.upper() for t in ID_TYPES)} with a number",
           "required")
    return None


def mask_id_number(number: str) -> str:
    """`110105199001011234` → `110***********1234`; a passport `E12345678` → `E1*****78`."""
    if len(number) == 18:
        return number[:3] + "*" * 11 + number[-4:]
    keep = 2 if len(number) >= 8 else 1
    return number[:keep] + "*" * (len(number) - 2 * keep) + number[-keep:]

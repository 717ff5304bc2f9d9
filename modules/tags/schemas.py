"""Validation of tag input: one pass, every field error reported at once."""

from __future__ import annotations

import re
from typing import Any

from infra.errors import ValidationFailed
from infra.validation import Validator
from modules.tags.models import DEFAULT_COLOR

MAX_NAME = 50
_COLOR = re.compile(r"#[0-9a-f]{6}")


def validate_tag(data: dict[str, Any], *, current: Any = None) -> dict[str, Any]:
    """Column values of a tag from the fields sent; `current`: the tag being updated.

    Names are cleaned by the shared text rules (spaces folded, invisible characters dropped,
    direction controls refused), one line, 1 to 50 characters (Chinese counts per character).
    Colours are `#rrggbb`, stored lower-case; none (or null) is the default grey."""
    v = Validator()
    out: dict[str, Any] = {}
    if "name" in data or current is None:
        name = v.text("name", data.get("name"), max_len=MAX_NAME, required=True)
        if name is not None and ("\n" in name or "\t" in name):
            v.fail("name", "must be a single line")
        out["name"] = name
    if "color" in data or current is None:
        color = data.get("color")
        color = color.strip().lower() if color is not None else DEFAULT_COLOR
        if not _COLOR.fullmatch(color):
            v.fail("color", "must be a colour as #rrggbb (e.g. #1e88e5)", "invalid_color")
        out["color"] = color
    if v.errors:
        raise ValidationFailed(v.errors)
    return out

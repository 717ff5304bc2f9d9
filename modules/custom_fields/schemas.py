"""Validation of custom field definitions: one pass, every field error reported at once."""

from __future__ import annotations

import re
from typing import Any

from infra.errors import ValidationFailed
from infra.validation import Validator
from modules.kit import registry
from modules.kit.custom_values import SELECTS, TYPES

_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_OPTIONS = 200
MAX_POSITION = 10_000
# A unique flag means "no two records hold this value": it makes no sense for a yes/no and
# is not defined for a set of options.
NOT_UNIQUE = ("boolean", "multi_select")


def entities_with_fields() -> list[str]:
    return sorted(e.name for e in registry.entities() if e.custom_fields)


def _key(v: Validator, field: str, value: Any) -> str | None:
    if not isinstance(value, str) or not _KEY.fullmatch(value):
        v.fail(field, "must be 1 to 40 of a-z, 0-9 and _, starting with a letter",
               "invalid_key")
        return None
    return value


def _label(v: Validator, field: str, value: Any, max_len: int = 100) -> str | None:
    label = v.text(field, value, max_len=max_len, required=True)
    if label is not None and ("\n" in label or "\t" in label):
        v.fail(field, "must be a single line")
        return None
    return label


def _options(v: Validator, value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_OPTIONS:
        v.fail("options", f"a select needs 1 to {MAX_OPTIONS} options")
        return []
    out, seen = [], set()
    for i, option in enumerate(value):
        if not isinstance(option, dict):  # the API's input objects
            option = {"key": getattr(option, "key", None), "label": getattr(option, "label", None)}
        key = _key(v, f"options.{i}.key", option.get("key"))
        label = _label(v, f"options.{i}.label", option.get("label"))
        if key is not None and key in seen:
            v.fail(f"options.{i}.key", "is given twice", "duplicate")
        if key is not None and label is not None:
            seen.add(key)
            out.append({"key": key, "label": label})
    return out


def validate_definition(data: dict[str, Any], *, current: Any = None) -> dict[str, Any]:
    """Column values of a field definition from the fields sent; `current`: the definition
    being updated, whose entity and type never change (its values were checked against them).
    Its key (the API name) may change: values are held by the field's id."""
    v = Validator()
    out: dict[str, Any] = {}
    if current is None:
        entity = data.get("entity")
        if entity not in entities_with_fields():
            v.fail("entity", "takes no custom fields")
        out["entity"] = entity
        kind = data.get("type")
        if kind not in TYPES:
            v.fail("type", f"must be one of {', '.join(TYPES)}")
        out["type"] = kind
    else:
        for name in ("entity", "type"):
            if name in data and data[name] != getattr(current, name):
                v.fail(name, "cannot change: remove the field and define another",
                       "immutable")
        kind = current.type
    if "key" in data or current is None:
        out["key"] = _key(v, "key", data.get("key"))
    if "label" in data or current is None:
        out["label"] = _label(v, "label", data.get("label"))
    if "help_text" in data:
        out["help_text"] = v.text("helpText", data["help_text"], max_len=500)
    if "sensitive" in data:
        if current is not None and bool(data["sensitive"]) != current.sensitive:
            v.fail("sensitive", "cannot change: remove the field and define another",
                   "immutable")
        elif current is None and data["sensitive"] and (kind != "text"
                                                        or out.get("entity") != "contact"):
            # Personal data is about people (contacts), and a number, date or option sealed
            # would lose what it is for (ranges, sorting, a fixed set of values).
            v.fail("sensitive", "only text fields of contacts can be sensitive",
                   "not_applicable")
        out["sensitive"] = bool(data["sensitive"])
    sensitive = out.get("sensitive", current.sensitive if current is not None else False)
    for name in ("required", "is_unique"):
        if name in data:
            if not isinstance(data[name], bool):
                v.fail("unique" if name == "is_unique" else name, "must be true or false")
            out[name] = bool(data[name])
    if out.get("is_unique") and sensitive:
        v.fail("unique", "a sensitive field cannot be unique: its values are sealed",
               "not_applicable")
    if out.get("is_unique") and kind in NOT_UNIQUE:
        v.fail("unique", "a yes/no or multiple-select field cannot be unique", "not_applicable")
    if "position" in data and data["position"] is not None:
        position = data["position"]
        if isinstance(position, bool) or not isinstance(position, int) \
                or not 0 <= position <= MAX_POSITION:
            v.fail("position", f"must be between 0 and {MAX_POSITION}", "out_of_range")
        out["position"] = position
    if kind in SELECTS:
        if "options" in data or current is None:
            out["options"] = _options(v, data.get("options"))
    elif data.get("options"):
        v.fail("options", "only select fields have options", "not_applicable")
    if v.errors:
        raise ValidationFailed(v.errors)
    return out

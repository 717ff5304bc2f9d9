"""Validation of webhook subscription input: one pass, every field error reported at once."""

from __future__ import annotations

from typing import Any

from infra.errors import ValidationFailed
from infra.validation import Validator
from modules.webhooks import targets
from modules.webhooks.events import catalogue

MAX_DESCRIPTION = 200
MAX_EVENT_TYPES = 100


def validate_subscription(data: dict[str, Any], *, current: Any, policy: targets.TargetPolicy
                          ) -> dict[str, Any]:
    """Column values from the fields sent (all on create). The URL's form is checked here;
    where it resolves to is checked by the service (`targets.resolve`)."""
    v = Validator()
    out: dict[str, Any] = {}
    if "url" in data or current is None:
        url = data.get("url")
        try:
            out["url"] = targets.parse(url, policy).url if isinstance(url, str) else \
                targets.parse("", policy).url
        except targets.TargetRefused as exc:
            v.fail("url", str(exc), exc.code)
    if "event_types" in data or current is None:
        types = data.get("event_types")
        if not types:
            v.fail("eventTypes", "name at least one event type", "required")
        elif len(types) > MAX_EVENT_TYPES:
            v.fail("eventTypes", f"may name at most {MAX_EVENT_TYPES} event types", "too_long")
        else:
            known = set(catalogue())
            unknown = [t for t in types if t not in known]
            if unknown:
                shown = ", ".join(repr(t[:60]) for t in unknown[:5])
                v.fail("eventTypes", f"unknown event types: {shown}", "unknown_event_type")
            else:
                out["event_types"] = sorted(set(types))
    if "description" in data or current is None:
        out["description"] = v.text("description", data.get("description"),
                                    max_len=MAX_DESCRIPTION) or ""
    if v.errors:
        raise ValidationFailed(v.errors)
    return out

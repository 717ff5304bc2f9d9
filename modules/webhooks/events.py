"""The events a subscription may ask for, and what a delivery's body says.

Every declared entity's writes (`contact.created`, `….updated`, `….deleted`, `….restored`), its
links' (`contact.tagged`, `contact.untagged`), merges (`contact.merged`, `….merged_away`), and
the webhook subscriptions' own `webhook_subscription.disabled` (the circuit breaker's notice to
the tenant). Tenancy's records (members, API keys, sessions) are not offered: they are not the
business's data.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson

from infra.pagination import utc_timestamp
from modules.kit import registry

TEST_EVENT = "webhook.test"
DISABLED_EVENT = "webhook_subscription.disabled"
_KIT_ACTIONS = ("created", "updated", "deleted", "restored")
_OWN = ("webhook_subscription.paused", "webhook_subscription.resumed", DISABLED_EVENT)


def catalogue() -> list[str]:
    """Every event type a subscription may name, sorted."""
    from modules.webhooks.entities import WEBHOOK_SUBSCRIPTION

    names: set[str] = set(_OWN)
    for entity in registry.entities():
        if entity is WEBHOOK_SUBSCRIPTION or entity.model.__module__.startswith("tenancy."):
            continue  # API keys and the like: tenancy's records, not the business's
        actions = _KIT_ACTIONS if entity.soft_deletes else _KIT_ACTIONS[:2]
        names.update(f"{entity.name}.{a}" for a in actions)
    # Entities that merge (modules.kit.merge: those with movers) announce the merge too.
    from modules.kit.merge import movers_of

    names.update(f"{e.name}.{a}" for e in registry.entities() if movers_of(e.name)
                 for a in ("merged", "merged_away"))
    # The registry keeps links by name; it offers no list of them (yet).
    for link in getattr(registry, "_LINKS", {}).values():
        names.update(f"{link.owner}.{a}" for a in link.actions)
    return sorted(names)


def body(event_type: str, occurred_at: datetime, payload: dict[str, Any]) -> str:
    """The JSON a receiver gets: Standard Webhooks' `{type, timestamp, data}`, `data` being the
    event's payload as the API shows records (`{id, data, changed}`)."""
    return orjson.dumps({"type": event_type, "timestamp": utc_timestamp(occurred_at),
                         "data": payload}).decode()


def ordering_key(aggregate_type: str, aggregate_id: uuid.UUID | None, event_id: uuid.UUID
                 ) -> str:
    """Events of one record share a key (and so arrive in order); others have their own."""
    if aggregate_id is None:
        return f"event:{event_id}"
    return f"{aggregate_type}:{aggregate_id}"

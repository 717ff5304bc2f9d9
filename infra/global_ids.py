"""Relay global IDs: opaque, URL-safe base64 of "<Type>:<uuid hex>", unpadded.

The API's ids (graphql_api.relay) and the ids in audit rows and outbox events (tenancy.audit),
which webhooks deliver, are the same ids.
"""

from __future__ import annotations

import base64
import uuid


def to_global_id(type_name: str, id: uuid.UUID) -> str:
    # The UUID's 32 hex digits (no dashes): shorter IDs, and `.hex` is cheaper than str().
    return base64.urlsafe_b64encode(f"{type_name}:{id.hex}".encode()).decode().rstrip("=")


def from_global_id(global_id: str) -> tuple[str, uuid.UUID]:
    """Raises ValueError on anything that is not one of our IDs."""
    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    type_name, _, value = raw.partition(":")
    if not type_name or not value:
        raise ValueError("not a global id")
    return type_name, uuid.UUID(value)

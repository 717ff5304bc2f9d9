"""Signing secrets at rest: sealed under the keyring (infra/crypto.py), each bound to its
tenant, subscription and column, opened only to sign a delivery or to show a new secret once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from infra import crypto
from modules.pii.sealed import WEBHOOK_PREVIOUS_SECRET, WEBHOOK_SECRET


def seal(raw: bytes, tenant_id: uuid.UUID, id: uuid.UUID, *, previous: bool = False) -> bytes:
    column = WEBHOOK_PREVIOUS_SECRET if previous else WEBHOOK_SECRET
    return crypto.keyring().seal_bytes(raw, column.context(tenant_id, id))


def current(row: Any) -> bytes:
    return crypto.keyring().open_bytes(row.secret, WEBHOOK_SECRET.context(row.tenant_id, row.id))


def valid(row: Any, now: datetime) -> list[bytes]:
    """The secrets a delivery is signed with now: the current one, and the one it replaced
    during the rotation's overlap."""
    keys = [current(row)]
    if row.previous_secret is not None and (row.previous_secret_expires_at or now) > now:
        keys.append(crypto.keyring().open_bytes(
            row.previous_secret, WEBHOOK_PREVIOUS_SECRET.context(row.tenant_id, row.id)))
    return keys

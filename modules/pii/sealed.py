"""Every column holding sealed values, and where each value's associated data comes from.

The key rotation walks this list; a new sealed column is added here (and sealed with its
`context`), nowhere else."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from infra import crypto


@dataclass(frozen=True)
class SealedColumn:
    table: str
    column: str
    keys: tuple[str, ...]  # the row's identity besides tenant_id: bound into the ciphertext

    def context(self, tenant_id: uuid.UUID, *record: Any) -> bytes:
        return crypto.context(self.table, self.column, tenant_id, *record)

    def seal(self, value: str, tenant_id: uuid.UUID, *record: Any) -> bytes:
        return crypto.keyring().seal(value, self.context(tenant_id, *record))

    def open(self, sealed: bytes, tenant_id: uuid.UUID, *record: Any) -> str:
        return crypto.keyring().open(sealed, self.context(tenant_id, *record))


CONTACT_ID_NUMBER = SealedColumn("contacts", "id_number_sealed", ("id",))
CONTACT_NOTES = SealedColumn("contacts", "personal_notes_sealed", ("id",))
CUSTOM_VALUE = SealedColumn("custom_field_values", "value_sealed",
                            ("field_id", "record_id", "position"))
WEBHOOK_SECRET = SealedColumn("webhook_subscriptions", "secret", ("id",))
WEBHOOK_PREVIOUS_SECRET = SealedColumn("webhook_subscriptions", "previous_secret", ("id",))

SEALED = (CONTACT_ID_NUMBER, CONTACT_NOTES, CUSTOM_VALUE, WEBHOOK_SECRET,
          WEBHOOK_PREVIOUS_SECRET)

"""A contact's sensitive fields: sealing what a write sends, and their masked forms.

The identity document's number is sealed (bound to the tenant and the contact), masked beside
it (`110***********1234`, shown to everyone who sees the contact: it is what the ID card's
own photocopies show) and indexed blind (HMAC), so duplicates are found by exact match without
opening anything. Personal notes are sealed and shown as `••••` when present."""

from __future__ import annotations

from typing import Any

from infra import crypto
from infra.db import new_id
from modules.pii.identity import MASK, mask_id_number
from modules.pii.sealed import CONTACT_ID_NUMBER, CONTACT_NOTES
from tenancy.context import CallContext

ID_NUMBER_INDEX = "contact.id_number"  # the blind index's purpose


def id_number_index(ctx: CallContext, number: str) -> bytes:
    return crypto.keyring().blind_index(number, ID_NUMBER_INDEX, ctx.tenant_id)


def seal_values(ctx: CallContext, values: dict[str, Any], row: Any) -> dict[str, Any]:
    """Column values with `id_number` and `personal_notes` (clear, validated) turned into
    their sealed, masked and indexed columns. Sending what the contact already holds changes
    nothing (a fresh seal would differ every time)."""
    if "id_number" not in values and "personal_notes" not in values:
        return values
    out = dict(values)
    record_id = row.id if row is not None else out.setdefault("id", new_id())
    if "id_number" in out:
        number, id_type = out.pop("id_number"), out.get("id_type")
        unchanged = (row is not None and number is not None and row.id_number_sealed
                     and row.id_type == id_type
                     and CONTACT_ID_NUMBER.open(row.id_number_sealed, ctx.tenant_id,
                                                record_id) == number)
        if unchanged:
            out.pop("id_type", None)
        elif number is None:
            out.update(id_type=None, id_number_masked=None, id_number_sealed=None,
                       id_number_index=None)
        else:
            out.update(id_number_masked=mask_id_number(number),
                       id_number_sealed=CONTACT_ID_NUMBER.seal(number, ctx.tenant_id, record_id),
                       id_number_index=id_number_index(ctx, number))
    if "personal_notes" in out:
        notes = out.pop("personal_notes")
        if row is None or notes is None or row.personal_notes_sealed is None or \
                CONTACT_NOTES.open(row.personal_notes_sealed, ctx.tenant_id, record_id) != notes:
            out["personal_notes_sealed"] = (None if notes is None else
                                            CONTACT_NOTES.seal(notes, ctx.tenant_id, record_id))
    return out


def masked_notes(row: Any) -> str | None:
    return MASK if row.personal_notes_sealed is not None else None


async def refuse_sensitive_conditions(session: Any, ctx: CallContext, entity: str,
                                      filters: dict[str, Any]) -> None:
    """A filter about to be saved (a segment, a view) names no sensitive value: saved, it
    would sit in clear in the segment's row and its audit rows. A sensitive custom field may
    still be saved as "present"/"absent"."""
    from infra.errors import ValidationFailed
    from modules.kit import custom_values

    if filters.get("id_number") is not None:
        raise ValidationFailed.single("filter.idNumber", "an identity document number cannot "
                                      "be saved in a filter", "not_applicable")
    sent = [c for c in filters.get("custom_fields") or () if c.get("present") is None]
    if not sent:
        return
    sensitive = {d.key for d in await custom_values.definitions(session, ctx, entity)
                 if d.sensitive}
    for n, condition in enumerate(filters.get("custom_fields") or ()):
        if condition.get("key") in sensitive and condition.get("present") is None:
            raise ValidationFailed.single(f"filter.customFields[{n}]", "a sensitive field's "
                                          "value cannot be saved in a filter", "not_applicable")

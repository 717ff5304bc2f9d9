"""Sensitive data rules: revealing a sealed value (audited), exporting everything held about a
contact, and erasing (anonymising) one on request.

Values in clear come only by an explicit act (`reveal`, `export`), never with a list or a
record's ordinary fields: a list shows fifty contacts, and opening fifty ID numbers because a
page was displayed is neither needed nor auditable in any useful way. Every value opened is an
audit row `pii.read` (who, which record, which field — never the value), like the "查看" button
and its access log of the CRMs this product's users know."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from infra.errors import ValidationFailed
from infra.global_ids import to_global_id
from modules.customers.entities import CONTACT
from modules.customers.models import Contact
from modules.customers.service import contacts
from modules.interactions.entities import INTERACTION, SURVEY_RESPONSE
from modules.interactions.models import Interaction, SurveyResponse
from modules.interactions.service import interactions, survey_responses
from modules.kit import custom_values
from modules.kit import repository as kit_repository
from modules.pii.sealed import CONTACT_ID_NUMBER, CONTACT_NOTES
from modules.tags.models import ContactTag, Tag
from tenancy.audit import AuditEntry, api_form, record_change
from tenancy.context import CallContext
from tenancy.permissions import Permission

ID_NUMBER, PERSONAL_NOTES, CUSTOM = "idNumber", "personalNotes", "customFields."
MAX_FIELDS = 50
ERASED_NAME = "(erased)"
ERASED_TEXT = "(erased)"
PII_READ_ACTION, EXPORTED, ERASED = "pii.read", "exported", "erased"


async def _audit_read(session: AsyncSession, ctx: CallContext, contact: Contact,
                      field: str) -> None:
    await record_change(session, ctx, entity_type=CONTACT.name, entity_id=contact.id,
                        action=PII_READ_ACTION, before=None, after={"field": field})


async def _open(session: AsyncSession, ctx: CallContext, contact: Contact, field: str,
                defs: dict[str, custom_values.Definition]) -> str | None:
    if field == ID_NUMBER:
        return None if contact.id_number_sealed is None else CONTACT_ID_NUMBER.open(
            contact.id_number_sealed, ctx.tenant_id, contact.id)
    if field == PERSONAL_NOTES:
        return None if contact.personal_notes_sealed is None else CONTACT_NOTES.open(
            contact.personal_notes_sealed, ctx.tenant_id, contact.id)
    return await custom_values.reveal(session, ctx, defs[field.removeprefix(CUSTOM)],
                                      contact.id)


async def _sensitive_defs(session: AsyncSession, ctx: CallContext
                          ) -> dict[str, custom_values.Definition]:
    return {d.key: d for d in await custom_values.definitions(session, ctx, CONTACT.name)
            if d.sensitive}


async def reveal(session: AsyncSession, ctx: CallContext, contact_id: uuid.UUID,
                 fields: list[str]) -> dict[str, str | None]:
    """The clear values of a contact's sensitive fields (`idNumber`, `personalNotes`,
    `customFields.<key>` of a sensitive field), one audit row `pii.read` per field opened."""
    ctx.require(Permission.PII_READ)
    contact = await contacts.get(session, ctx, contact_id)
    defs = await _sensitive_defs(session, ctx)
    known = {ID_NUMBER, PERSONAL_NOTES, *(CUSTOM + k for k in defs)}
    if not fields or len(fields) > MAX_FIELDS or len(set(fields)) != len(fields):
        raise ValidationFailed.single("fields", f"give 1 to {MAX_FIELDS} distinct fields")
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise ValidationFailed.single("fields", "not a sensitive field of contacts: "
                                      + ", ".join(f[:60] for f in unknown[:5]),
                                      "unknown_field")
    out = {}
    for field in fields:
        out[field] = await _open(session, ctx, contact, field, defs)
        if out[field] is not None:
            await _audit_read(session, ctx, contact, field)
    return out


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


async def export(session: AsyncSession, ctx: CallContext, contact_id: uuid.UUID
                 ) -> dict[str, Any]:
    """Everything held about a contact the caller may see, as one JSON document: its fields
    (sensitive ones in clear for `pii:read` holders, each read audited; masked otherwise), its
    custom fields, tags, the interactions and survey answers the caller may see, and the
    record's audit history (for `audit:read` holders). The export itself is audited."""
    contact = await contacts.get(session, ctx, contact_id)
    clear = ctx.can(Permission.PII_READ)
    defs = await _sensitive_defs(session, ctx)
    fields = api_form(CONTACT.name, contacts.snapshot(contact)) or {}
    revealed: dict[str, str | None] = {}
    if clear:
        for field in (ID_NUMBER, PERSONAL_NOTES, *(CUSTOM + k for k in defs)):
            revealed[field] = await _open(session, ctx, contact, field, defs)
            if revealed[field] is not None:
                await _audit_read(session, ctx, contact, field)
    fields["idNumber"] = revealed.get(ID_NUMBER) if clear else contact.id_number_masked
    fields["personalNotes"] = revealed.get(PERSONAL_NOTES) if clear else fields.get(
        "personalNotes")
    held = (await custom_values.read(session, ctx, CONTACT.name, [contact.id]))[0]
    custom = {v.field.key: (revealed.get(CUSTOM + v.field.key) if clear and v.field.sensitive
                            else v.api()) for v in held}
    tags = list((await session.scalars(
        select(Tag.name).join(ContactTag, (ContactTag.tenant_id == Tag.tenant_id)
                              & (ContactTag.tag_id == Tag.id))
        .where(ContactTag.tenant_id == ctx.tenant_id, ContactTag.contact_id == contact.id,
               Tag.deleted_at.is_(None)).order_by(func.lower(Tag.name)))).all())
    document: dict[str, Any] = {
        "format": "crm.contact-export/1",
        "exportedAt": datetime.now(UTC).isoformat(),
        "exportedBy": ctx.actor.label,
        "sensitiveInClear": clear,
        "contact": fields,
        "customFields": custom,
        "tags": tags,
        "interactions": None,
        "surveyResponses": None,
        "auditHistory": None,
    }
    if ctx.can(INTERACTION.read):
        await kit_repository.prepare(session, ctx, (INTERACTION, SURVEY_RESPONSE))
        found = await session.scalars(
            kit_repository.visible(INTERACTION, ctx).where(
                (Interaction.contact_id == contact.id)
                | func.array_position(Interaction.participant_contact_ids,
                                     contact.id).is_not(None))
            .order_by(Interaction.occurred_at, Interaction.id).limit(10_000))
        document["interactions"] = [api_form(INTERACTION.name, interactions.snapshot(r))
                                    for r in found]
        answers = await session.scalars(
            kit_repository.visible(SURVEY_RESPONSE, ctx)
            .where(SurveyResponse.contact_id == contact.id)
            .order_by(SurveyResponse.responded_at, SurveyResponse.id).limit(10_000))
        document["surveyResponses"] = [
            api_form(SURVEY_RESPONSE.name, survey_responses.snapshot(r)) for r in answers]
    if ctx.can(Permission.AUDIT_READ):
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.tenant_id == ctx.tenant_id,
                                     AuditEntry.entity_type == CONTACT.name,
                                     AuditEntry.entity_id == contact.id)
            .order_by(AuditEntry.occurred_at, AuditEntry.id).limit(10_000))
        document["auditHistory"] = [
            {"occurredAt": _iso(r.occurred_at), "actor": r.actor_label, "action": r.action,
             "before": r.before, "after": r.after} for r in rows]
    await record_change(session, ctx, entity_type=CONTACT.name, entity_id=contact.id,
                        action=EXPORTED, before=None, after=None)
    return document


async def erase(session: AsyncSession, ctx: CallContext, contact_id: uuid.UUID) -> Contact:
    """Anonymise a contact on request, irreversibly: its name becomes a placeholder; its
    contact points, address, notes, identity document, personal notes and custom values go;
    the free text of its interactions and survey answers is scrubbed; past audit rows and
    events of the record (and of those interactions and answers) are redacted. The record
    stays, so counts and aggregates do. Audited as `erased` (who and when, not what).
    Erasing an erased contact changes nothing."""
    ctx.require(Permission.PII_ERASE)
    contact = await contacts.editable(session, ctx, contact_id)  # visible and writable
    if contact.erased_at is not None:
        return contact
    now: Any = await session.scalar(select(func.now()))
    for column in ("email", "phone", "phones", "emails", "gender", "birthday", "title",
                   "address", "notes",
                   "id_type", "id_number_masked", "id_number_sealed", "id_number_index",
                   "personal_notes_sealed"):
        setattr(contact, column, None)
    contact.name, contact.erased_at, contact.updated_at = ERASED_NAME, now, now
    await session.execute(delete(custom_values.VALUES).where(
        custom_values.VALUES.c.tenant_id == ctx.tenant_id,
        custom_values.VALUES.c.record_id == contact.id))
    scrubbed = await session.scalars(
        update(Interaction).where(Interaction.tenant_id == ctx.tenant_id,
                                  Interaction.contact_id == contact.id)
        .values(subject=ERASED_TEXT, body=None, outcome=None, updated_at=now)
        .returning(Interaction.id))
    interaction_ids = list(scrubbed.all())
    answered = await session.scalars(
        update(SurveyResponse).where(SurveyResponse.tenant_id == ctx.tenant_id,
                                     SurveyResponse.contact_id == contact.id)
        .values(comment=None, updated_at=now).returning(SurveyResponse.id))
    answer_ids = list(answered.all())
    await session.flush()
    for entity, type_name, ids in ((CONTACT.name, CONTACT.type_name, [contact.id]),
                                   (INTERACTION.name, INTERACTION.type_name, interaction_ids),
                                   (SURVEY_RESPONSE.name, SURVEY_RESPONSE.type_name,
                                    answer_ids)):
        for id in ids:
            await session.execute(text("select pii_redact_history(:e, :id, :gid)"),
                                  {"e": entity, "id": id, "gid": to_global_id(type_name, id)})
    await record_change(session, ctx, entity_type=CONTACT.name, entity_id=contact.id,
                        action=ERASED, before=None, after=None)
    return contact


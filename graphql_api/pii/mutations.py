"""Sensitive data's own verbs: reveal a contact's sealed values (audited), export everything
held about a contact, erase (anonymise) one. Each is a mutation: each writes audit rows."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graphql_api.customers.types import ContactType
from graphql_api.permissions import needs
from graphql_api.relay import decode_id
from modules.pii import service
from tenancy.permissions import Permission


@strawberry.type(name="RevealedValue", description="A sensitive field's value, in clear.")
class RevealedValueType:
    field: str = strawberry.field(description="idNumber, personalNotes or customFields.<key>.")
    value: str | None


@strawberry.type
class PiiMutations:
    @strawberry.mutation(extensions=needs(Permission.PII_READ), description=(
        "A contact's sensitive values in clear: `idNumber`, `personalNotes`, or "
        "`customFields.<key>` of a sensitive custom field. Each value opened is audited "
        "(`pii.read`: who, which record and field; never the value)."))
    async def reveal_contact_pii(self, info: Info, id: strawberry.ID, fields: list[str]
                                 ) -> list[RevealedValueType]:
        found = await info.context.write(service.reveal, decode_id(id, "Contact"), fields)
        return [RevealedValueType(field=k, value=v) for k, v in found.items()]

    @strawberry.mutation(extensions=needs(Permission.CUSTOMERS_READ), description=(
        "Everything held about a contact, as one JSON document (a data subject's access "
        "request): its fields, custom fields, tags, the interactions and survey answers you "
        "may see, and the record's audit history (with `audit:read`). Sensitive values in "
        "clear with `pii:read` (each audited), masked otherwise. The export is audited."))
    async def export_contact(self, info: Info, id: strawberry.ID) -> JSON:
        document: Any = await info.context.write(service.export, decode_id(id, "Contact"))
        return document

    @strawberry.mutation(extensions=needs(Permission.PII_ERASE), description=(
        "Erase a contact on request, irreversibly: name replaced by a placeholder; contact "
        "points, address, notes, identity document, personal notes and custom values removed; "
        "its interactions' and survey answers' free text scrubbed; past audit rows and events "
        "of the record redacted. The record stays (counts and aggregates keep it). Audited "
        "(who and when). Erasing again changes nothing."))
    async def erase_contact(self, info: Info, id: strawberry.ID) -> ContactType:
        return await info.context.write(  # type: ignore[no-any-return]
            service.erase, decode_id(id, "Contact"))

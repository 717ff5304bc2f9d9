"""Customer rules: what a company or contact may hold, and whom it may reference.

Everything else (who sees which records, lists, lookups, soft delete and restore, audit rows and
events) is the kit's, from the declarations in `entities.py`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from infra.errors import FieldError, Forbidden, ValidationFailed
from modules.customers.duplicates import refuse_duplicates
from modules.customers.entities import COMPANY, CONTACT
from modules.customers.models import Company, Contact
from modules.customers.schemas import validate_company, validate_contact
from modules.kit import EntityService
from modules.kit import repository as kit_repository
from modules.pii import contacts as pii_contacts
from tenancy import directory
from tenancy.context import CallContext
from tenancy.permissions import Permission


async def check_references(session: AsyncSession, ctx: CallContext, values: dict[str, Any]
                           ) -> None:
    """Owners are active members, given away only by managers; companies exist and are
    visible to the caller."""
    errors = []
    if "owner_id" in values and values["owner_id"] is None and not ctx.can(
            Permission.CUSTOMERS_READ_ALL):
        raise Forbidden("only managers can leave a customer without an owner", field="ownerId")
    if (owner_id := values.get("owner_id")) is not None:
        if not ctx.can(Permission.CUSTOMERS_READ_ALL) and owner_id != ctx.actor.user_id:
            raise Forbidden("only managers can give a customer to another owner", field="ownerId")
        if not await directory.is_active_member(session, ctx, owner_id):
            errors.append(("ownerId", "is not an active member of this tenant"))
    if (company_id := values.get("company_id")) is not None and await kit_repository.get(
            session, ctx, COMPANY, company_id) is None:
        errors.append(("companyId", "no such company"))
    if errors:
        raise ValidationFailed([FieldError(f, m, "not_found") for f, m in errors])


class CompanyService(EntityService[Company]):
    entity = COMPANY

    def validate(self, ctx: CallContext, data: dict[str, Any], *, row: Company | None
                 ) -> dict[str, Any]:
        return validate_company(data, ctx.region, current=row)

    async def check(self, session: AsyncSession, ctx: CallContext, values: dict[str, Any], *,
                    row: Company | None) -> None:
        await check_references(session, ctx, values)
        await refuse_duplicates(session, ctx, self.entity, values, row=row)


class ContactService(EntityService[Contact]):
    entity = CONTACT

    def validate(self, ctx: CallContext, data: dict[str, Any], *, row: Contact | None
                 ) -> dict[str, Any]:
        return pii_contacts.seal_values(ctx, validate_contact(data, ctx.region, current=row),
                                        row)

    def snapshot(self, row: Any) -> dict[str, Any]:
        """The kit's (sealed columns left out: `Field(secret=True)`), with the ID number and
        the personal notes as the API shows them, masked: audit rows and events say they
        changed, never what they hold."""
        out = super().snapshot(row)
        out["id_number"] = out.pop("id_number_masked")
        out["personal_notes"] = pii_contacts.masked_notes(row)
        return out

    async def check(self, session: AsyncSession, ctx: CallContext, values: dict[str, Any], *,
                    row: Contact | None) -> None:
        await check_references(session, ctx, values)
        await refuse_duplicates(session, ctx, self.entity, values, row=row)


companies = CompanyService()
contacts = ContactService()


@dataclass(frozen=True)
class OwnerCount:
    owner_id: uuid.UUID | None  # None: contacts nobody owns
    count: int


async def contact_counts_by_owner(session: AsyncSession, ctx: CallContext) -> list[OwnerCount]:
    """Live contacts the caller may see, counted per owner in one query, most first: a sales
    user's record rule leaves them their own count only, as their contact list does."""
    ctx.require(CONTACT.read)
    await kit_repository.prepare(session, ctx, (CONTACT,))
    n = func.count().label("n")
    stmt = (kit_repository.visible(CONTACT, ctx)
            .with_only_columns(Contact.owner_id, n)
            .group_by(Contact.owner_id)
            .order_by(n.desc(), Contact.owner_id))
    return [OwnerCount(owner_id, count) for owner_id, count in await session.execute(stmt)]

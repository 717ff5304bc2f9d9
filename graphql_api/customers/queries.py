"""Customer queries, from the kit: lists (keyset pages, filters, sorts, totalCount) and lookups;
and contacts counted per owner (the dashboard's chart)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphql_api.customers.types import (
    CompanyType,
    ContactType,
    CustomerFilter,
    CustomerSort,
    OwnerCountType,
)
from graphql_api.kit import get_field, list_field
from graphql_api.permissions import needs
from modules.customers import service
from modules.customers.entities import CONTACT


@strawberry.type
class CustomerQueries:
    contacts = list_field(service.contacts, ContactType, filter=CustomerFilter, sort=CustomerSort,
                          description="Contacts, newest first unless sorted.")
    contact = get_field(service.contacts, ContactType)
    companies = list_field(service.companies, CompanyType, filter=CustomerFilter, sort=CustomerSort,
                           description="Companies, newest first unless sorted.")
    company = get_field(service.companies, CompanyType)

    @strawberry.field(extensions=needs(CONTACT.read), description=(
        "Live contacts per owner, most first, in one query (the owner null for unowned "
        "ones); counts only what the caller may see: a sales user gets their own."))
    async def contact_counts_by_owner(self, info: Info) -> list[OwnerCountType]:
        counts = await info.context.read(service.contact_counts_by_owner)
        return [OwnerCountType(count=c.count, owner_id=c.owner_id) for c in counts]

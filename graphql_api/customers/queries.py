"""Customer queries, from the kit: lists (keyset pages, filters, sorts, totalCount) and lookups."""

from __future__ import annotations

import strawberry

from graphql_api.customers.types import CompanyType, ContactType, CustomerFilter, CustomerSort
from graphql_api.kit import get_field, list_field
from modules.customers import service


@strawberry.type
class CustomerQueries:
    contacts = list_field(service.contacts, ContactType, filter=CustomerFilter, sort=CustomerSort,
                          description="Contacts, newest first unless sorted.")
    contact = get_field(service.contacts, ContactType)
    companies = list_field(service.companies, CompanyType, filter=CustomerFilter, sort=CustomerSort,
                           description="Companies, newest first unless sorted.")
    company = get_field(service.companies, CompanyType)

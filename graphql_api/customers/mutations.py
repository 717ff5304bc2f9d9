"""Customer mutations, from the kit: create, update, delete and restore of each entity."""

from __future__ import annotations

import strawberry

from graphql_api.customers.types import CompanyInput, CompanyType, ContactInput, ContactType
from graphql_api.kit import crud_mutations
from modules.customers import service

ContactMutations = crud_mutations(service.contacts, ContactType, ContactInput)
CompanyMutations = crud_mutations(service.companies, CompanyType, CompanyInput)


@strawberry.type
class CustomerMutations(ContactMutations, CompanyMutations):  # type: ignore[misc,valid-type]
    pass

"""Tag mutations, from the kit: create, update, delete and restore tags; tag and untag
contacts and companies."""

from __future__ import annotations

import strawberry

from graphql_api.customers.types import CompanyType, ContactType
from graphql_api.kit import crud_mutations, link_mutations
from graphql_api.tags.types import TagInput, TagType
from modules.tags import service

TagCrudMutations = crud_mutations(service.tags, TagType, TagInput)
ContactTagMutations = link_mutations(service.contact_tags, ContactType,
                                     attach="tagContact", detach="untagContact")
CompanyTagMutations = link_mutations(service.company_tags, CompanyType,
                                     attach="tagCompany", detach="untagCompany")


@strawberry.type
class TagMutations(TagCrudMutations, ContactTagMutations,  # type: ignore[misc,valid-type]
                   CompanyTagMutations):  # type: ignore[misc,valid-type]
    pass

"""Customer queries: thin resolvers over `modules.customers.service`."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api import rendering
from graphql_api.customers.types import CompanyType, ContactType, CustomerFilter, CustomerSort
from graphql_api.permissions import needs
from graphql_api.relay import Connection, decode_id
from modules.customers import service
from modules.customers.models import Company, Contact
from modules.customers.repository import Customer
from modules.pagination import page_size
from tenancy.permissions import Permission

READ = needs(Permission.CUSTOMERS_READ)


def filter_values(f: CustomerFilter | None) -> dict[str, Any]:
    if f is None:
        return {}
    values = {k: v for k, v in vars(f).items() if v is not None and v is not False}
    if f.owner_id is not None:
        values["owner_id"] = decode_id(f.owner_id, "User", "filter.ownerId")
    if f.company_id is not None:
        values["company_id"] = decode_id(f.company_id, "Company", "filter.companyId")
    return values


async def list_connection(info: Info, model: type[Customer], first: int | None,
                          after: str | None, filter: CustomerFilter | None, sort: CustomerSort
                          ) -> Connection[Any]:
    context = info.context
    settings = context.settings
    size = page_size(first, default=settings.default_page_size, maximum=settings.max_page_size)
    filters = filter_values(filter)
    page = await context.read(service.list_page, model, filters=filters, sort=sort.value,
                              first=size, after=after, rendered=rendering.requested(model))
    return Connection(page=page, counter=lambda: context.read(service.count, model,
                                                              filters=filters))


@strawberry.type
class CustomerQueries:
    @strawberry.field(extensions=READ, description="Contacts, newest first unless sorted.")
    async def contacts(self, info: Info, first: int | None = None, after: str | None = None,
                       filter: CustomerFilter | None = None,
                       sort: CustomerSort = CustomerSort.CREATED_AT_DESC
                       ) -> Connection[ContactType]:
        return await list_connection(info, Contact, first, after, filter, sort)

    @strawberry.field(extensions=READ)
    async def contact(self, info: Info, id: strawberry.ID) -> ContactType:
        return await info.context.read(  # type: ignore[return-value]
            service.get, Contact, decode_id(id, "Contact"))

    @strawberry.field(extensions=READ, description="Companies, newest first unless sorted.")
    async def companies(self, info: Info, first: int | None = None, after: str | None = None,
                        filter: CustomerFilter | None = None,
                        sort: CustomerSort = CustomerSort.CREATED_AT_DESC
                        ) -> Connection[CompanyType]:
        return await list_connection(info, Company, first, after, filter, sort)

    @strawberry.field(extensions=READ)
    async def company(self, info: Info, id: strawberry.ID) -> CompanyType:
        return await info.context.read(  # type: ignore[return-value]
            service.get, Company, decode_id(id, "Company"))

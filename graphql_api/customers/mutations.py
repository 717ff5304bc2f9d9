"""Customer mutations: each runs in its own savepoint, audited and evented by the service."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.customers.types import CompanyInput, CompanyType, ContactInput, ContactType
from graphql_api.permissions import needs
from graphql_api.relay import decode_id
from modules.customers import service
from modules.customers.models import Company, Contact
from tenancy.permissions import Permission

WRITE = needs(Permission.CUSTOMERS_WRITE)
DELETE = needs(Permission.CUSTOMERS_DELETE)


def input_values(data: ContactInput | CompanyInput) -> dict[str, Any]:
    """The fields the caller sent, as the service expects them (UNSET fields are left out)."""
    values: dict[str, Any] = {}
    for key, value in vars(data).items():
        if value is strawberry.UNSET:
            continue
        if key == "address" and value is not None:
            value = value.to_json()
        elif key == "gender" and value is not None:
            value = value.value
        elif key == "owner_id" and value is not None:
            value = decode_id(value, "User", "ownerId")
        elif key == "company_id" and value is not None:
            value = decode_id(value, "Company", "companyId")
        values[key] = value
    return values


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(extensions=WRITE)
    async def create_contact(self, info: Info, input: ContactInput) -> ContactType:
        return await info.context.write(service.create, Contact,  # type: ignore[no-any-return]
                                        input_values(input))

    @strawberry.mutation(extensions=WRITE, description="Changes only the fields sent; null clears.")
    async def update_contact(self, info: Info, id: strawberry.ID, input: ContactInput
                             ) -> ContactType:
        return await info.context.write(service.update, Contact,  # type: ignore[no-any-return]
                                        decode_id(id, "Contact"), input_values(input))

    @strawberry.mutation(extensions=DELETE, description="Soft delete; `restoreContact` undoes it.")
    async def delete_contact(self, info: Info, id: strawberry.ID) -> ContactType:
        return await info.context.write(service.delete, Contact,  # type: ignore[no-any-return]
                                        decode_id(id, "Contact"))

    @strawberry.mutation(extensions=DELETE)
    async def restore_contact(self, info: Info, id: strawberry.ID) -> ContactType:
        return await info.context.write(service.restore, Contact,  # type: ignore[no-any-return]
                                        decode_id(id, "Contact"))

    @strawberry.mutation(extensions=WRITE)
    async def create_company(self, info: Info, input: CompanyInput) -> CompanyType:
        return await info.context.write(service.create, Company,  # type: ignore[no-any-return]
                                        input_values(input))

    @strawberry.mutation(extensions=WRITE, description="Changes only the fields sent; null clears.")
    async def update_company(self, info: Info, id: strawberry.ID, input: CompanyInput
                             ) -> CompanyType:
        return await info.context.write(service.update, Company,  # type: ignore[no-any-return]
                                        decode_id(id, "Company"), input_values(input))

    @strawberry.mutation(extensions=DELETE, description="Soft delete; `restoreCompany` undoes it.")
    async def delete_company(self, info: Info, id: strawberry.ID) -> CompanyType:
        return await info.context.write(service.delete, Company,  # type: ignore[no-any-return]
                                        decode_id(id, "Company"))

    @strawberry.mutation(extensions=DELETE)
    async def restore_company(self, info: Info, id: strawberry.ID) -> CompanyType:
        return await info.context.write(service.restore, Company,  # type: ignore[no-any-return]
                                        decode_id(id, "Company"))

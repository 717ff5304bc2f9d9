"""GraphQL types of the customers domain; every field is declared, none auto-mapped."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.loaders import loaded_by
from graphql_api.relay import Node, to_global_id
from graphql_api.rendering import Related, global_id_sql, renders
from graphql_api.tenancy.types import UserType
from modules.customers import repository
from modules.customers.models import Company, Contact
from modules.customers.repository import ROW_TYPES
from tenancy import directory
from tenancy.models import User


@strawberry.enum
class Gender(Enum):
    MALE = "male"
    FEMALE = "female"
    OTHER = "other"
    UNDISCLOSED = "undisclosed"


@strawberry.enum(description="Orderings of customer lists; each has a matching index.")
class CustomerSort(Enum):
    CREATED_AT_DESC = "CREATED_AT_DESC"
    CREATED_AT_ASC = "CREATED_AT_ASC"
    UPDATED_AT_DESC = "UPDATED_AT_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"


@strawberry.type(description="A postal address; Chinese addresses use province/city/district.")
class Address:
    country: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    postal_code: str | None = None

    @staticmethod
    def from_json(value: dict[str, Any] | None) -> Address | None:
        if not value:
            return None
        return Address(country=value.get("country"), province=value.get("province"),
                       city=value.get("city"), district=value.get("district"),
                       street=value.get("street"), postal_code=value.get("postalCode"))


@strawberry.interface(description="What companies and contacts have in common.")
class Customer(Node):
    name: str
    email: str | None
    phone: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None

    @strawberry.field
    def address(self) -> Address | None:
        return Address.from_json(self.address)  # type: ignore[arg-type]

    @strawberry.field
    @loaded_by("user", "owner_id")
    async def owner(self, info: Info) -> UserType | None:
        owner_id = self.owner_id  # type: ignore[attr-defined]
        if owner_id is None:
            return None
        return await info.context.loaders.user.load(owner_id)  # type: ignore[no-any-return]


@renders(Company, id=global_id_sql("Company"),
         owner=Related(User, "owner_id", directory.owner_user_sql))
@strawberry.type(name="Company")
class CompanyType(Customer):
    domain: str | None
    industry: str | None

    @strawberry.field  # type: ignore[misc]
    def id(self) -> strawberry.ID:  # type: ignore[override]
        return strawberry.ID(to_global_id("Company", self.id))  # type: ignore[arg-type]

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, Company | ROW_TYPES[Company])


@renders(Contact, id=global_id_sql("Contact"),
         company=Related(Company, "company_id", repository.visible_one_sql),
         owner=Related(User, "owner_id", directory.owner_user_sql))
@strawberry.type(name="Contact")
class ContactType(Customer):
    title: str | None
    birthday: date | None

    @strawberry.field  # type: ignore[misc]
    def id(self) -> strawberry.ID:  # type: ignore[override]
        return strawberry.ID(to_global_id("Contact", self.id))  # type: ignore[arg-type]

    @strawberry.field
    def gender(self) -> Gender | None:
        value = self.gender
        return Gender(value) if value else None

    @strawberry.field
    @loaded_by("company", "company_id")
    async def company(self, info: Info) -> CompanyType | None:
        company_id = self.company_id  # type: ignore[attr-defined]
        if company_id is None:
            return None
        return await info.context.loaders.company.load(company_id)  # type: ignore[no-any-return]

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, Contact | ROW_TYPES[Contact])


@strawberry.input
class AddressInput:
    country: str | None = strawberry.UNSET
    province: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    district: str | None = strawberry.UNSET
    street: str | None = strawberry.UNSET
    postal_code: str | None = strawberry.UNSET

    def to_json(self) -> dict[str, Any]:
        names = {"postal_code": "postalCode"}
        return {names.get(k, k): v for k, v in vars(self).items() if v is not strawberry.UNSET}


@strawberry.input(description="Narrows a customer list; all given conditions must hold.")
class CustomerFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of the name, email or phone number.")
    owner_id: strawberry.ID | None = None
    company_id: strawberry.ID | None = strawberry.field(
        default=None, description="Contacts only: contacts of this company.")
    email: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    include_deleted: bool = False
    deleted_only: bool = False


@strawberry.input
class ContactInput:
    name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    gender: Gender | None = strawberry.UNSET
    birthday: date | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    address: AddressInput | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    company_id: strawberry.ID | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET


@strawberry.input
class CompanyInput:
    name: str | None = strawberry.UNSET
    domain: str | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    address: AddressInput | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET

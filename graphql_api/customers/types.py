"""GraphQL types of the customers domain; every field is declared, none auto-mapped."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.classification.types import ClassificationType, classification_field
from graphql_api.custom_values import (
    CustomFieldCondition,
    CustomFieldValueInput,
    CustomFieldValueType,
)
from graphql_api.kit import custom_fields as custom_fields_of
from graphql_api.kit import linked, node, reference, sort_enum
from graphql_api.relay import Node
from graphql_api.tags.types import TagType
from graphql_api.tenancy.types import UserType
from modules.customers.entities import COMPANY, CONTACT
from modules.tags.entities import COMPANY_TAGS, CONTACT_TAGS
from tenancy import directory


@strawberry.enum
class Gender(Enum):
    MALE = "male"
    FEMALE = "female"
    OTHER = "other"
    UNDISCLOSED = "undisclosed"


CustomerSort = sort_enum(CONTACT, "CustomerSort",
                         description="Orderings of customer lists; each has a matching index.")


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


_TAGS = "Its tags, by name (deleted tags hidden); at most 50."


@strawberry.interface(description="What companies and contacts have in common.")
class Customer(Node):
    name: str
    email: str | None
    phone: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    # Every owner column has a foreign key to the tenant's memberships: the key is the rule.
    owner = reference(UserType, "owner_id", join=directory.owner_user_sql)
    tags: list[TagType] = strawberry.field(description=_TAGS)
    custom_fields: list[CustomFieldValueType] = strawberry.field(
        description="Its values of the tenant's custom fields.")
    classification: ClassificationType | None = strawberry.field(
        description="Its RFM scores and level from its order history.")

    @strawberry.field
    def address(self) -> Address | None:
        return Address.from_json(self.address)  # type: ignore[arg-type]


@node(COMPANY)
class CompanyType(Customer):
    domain: str | None
    industry: str | None
    tags = linked(COMPANY_TAGS, TagType, description=_TAGS)
    custom_fields = custom_fields_of(COMPANY)
    classification = classification_field("company")


@node(CONTACT)
class ContactType(Customer):
    title: str | None
    birthday: date | None
    company = reference(CompanyType, "company_id")
    tags = linked(CONTACT_TAGS, TagType, description=_TAGS)
    custom_fields = custom_fields_of(CONTACT)
    classification = classification_field("contact")

    @strawberry.field
    def gender(self) -> Gender | None:
        value = self.gender
        return Gender(value) if value else None


@strawberry.type(name="OwnerCount", description="How many of something an owner has.")
class OwnerCountType:
    count: int
    owner_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Null for the records nobody owns.")
    async def owner(self, info: Info) -> UserType | None:
        if self.owner_id is None:
            return None
        return await info.context.loaders.user.load(self.owner_id)  # type: ignore[no-any-return]


@strawberry.input
class AddressInput:
    country: str | None = strawberry.UNSET
    province: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    district: str | None = strawberry.UNSET
    street: str | None = strawberry.UNSET
    postal_code: str | None = strawberry.UNSET


@strawberry.input(description="Narrows a customer list; all given conditions must hold.")
class CustomerFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of the name, email or phone number.")
    owner_id: strawberry.ID | None = None
    company_id: strawberry.ID | None = strawberry.field(
        default=None, description="Contacts only: contacts of this company.")
    tag_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Tagged with at least one of these tags (an empty list: "
                                  "no condition).")
    email: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    custom_fields: list[CustomFieldCondition] | None = strawberry.field(
        default=None, description="Conditions on the tenant's custom fields; all must hold.")
    levels: list[str] | None = strawberry.field(
        default=None, description="Customer level is one of these (A, B).")
    min_recency_score: int | None = strawberry.field(
        default=None, description="RFM recency score at least this (1-5).")
    min_frequency_score: int | None = strawberry.field(
        default=None, description="RFM frequency score at least this (1-5).")
    min_monetary_score: int | None = strawberry.field(
        default=None, description="RFM monetary score at least this (1-5).")
    segment: strawberry.ID | None = strawberry.field(
        default=None, description=(
            "Members of this segment (or saved view): its saved filter applies, with the "
            "other conditions given here (a condition both set differently is refused)."))
    include_deleted: bool = False
    deleted_only: bool = False


_CUSTOM = "Custom fields to set, by key (null clears one); those not sent are left alone."


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
    custom_fields: list[CustomFieldValueInput] | None = strawberry.field(
        default=strawberry.UNSET, description=_CUSTOM)


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
    custom_fields: list[CustomFieldValueInput] | None = strawberry.field(
        default=strawberry.UNSET, description=_CUSTOM)

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
from graphql_api.relay import Node, to_global_id
from graphql_api.tags.types import TagType
from graphql_api.tenancy.types import UserType
from modules.customers import points
from modules.customers.entities import COMPANY, CONTACT
from modules.kit.entity import camel
from modules.pii.contacts import masked_notes
from modules.tags.entities import COMPANY_TAGS, CONTACT_TAGS
from tenancy import directory


@strawberry.enum
class Gender(Enum):
    MALE = "male"
    FEMALE = "female"
    OTHER = "other"
    UNDISCLOSED = "undisclosed"


@strawberry.enum(description="An identity document: China's resident ID card (居民身份证, "
                             "18 characters, checksum verified) or a passport.")
class IdType(Enum):
    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"


_SENSITIVE = ("Sealed at rest; read in clear only through `revealContactPii` (needs "
              "`pii:read`, audited).")

CustomerSort = sort_enum(CONTACT, "CustomerSort",
                         description="Orderings of customer lists; each has a matching index.")


@strawberry.type(description=(
    "A postal address. In mainland China: province, city and district by their GB/T 2260 codes "
    "(names filled in by the server from the codes; see `divisions`); elsewhere the country "
    "and free lines. Addresses written before codes existed may have names only."))
class Address:
    country: str | None = None
    province: str | None = None
    province_code: str | None = None
    city: str | None = None
    city_code: str | None = None
    district: str | None = None
    district_code: str | None = None
    street: str | None = None
    postal_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    @staticmethod
    def from_json(value: dict[str, Any] | None) -> Address | None:
        if not value:
            return None
        return Address(**{name: value.get(camel(name)) for name in _ADDRESS_FIELDS})


_ADDRESS_FIELDS = ("country", "province", "province_code", "city", "city_code", "district",
                   "district_code", "street", "postal_code", "latitude", "longitude")


@strawberry.enum(description="What a phone number or email address is for.")
class PointLabel(Enum):
    MOBILE = "MOBILE"
    WORK = "WORK"
    HOME = "HOME"
    FAX = "FAX"
    OTHER = "OTHER"


@strawberry.type(description="One of a customer's phone numbers.")
class Phone:
    number: str = strawberry.field(description="E.164, e.g. +8613800138000.")
    label: PointLabel
    primary: bool

    @strawberry.field(description=(
        "As people read it: nationally for the tenant's own country (138 0013 8000, "
        "010 1234 5678), internationally otherwise (+1 650-253-0000)."))
    def formatted(self, info: Info) -> str:
        return points.formatted(self.number, info.context.call.region)


@strawberry.type(description="One of a customer's email addresses.")
class Email:
    email: str = strawberry.field(description="Normalised: lower case.")
    label: PointLabel
    primary: bool


def _phones(row: Any) -> list[Phone]:
    return [Phone(number=p["number"], label=PointLabel(p["label"]), primary=p["primary"])
            for p in points.held(row, points.PHONES)]


def _emails(row: Any) -> list[Email]:
    return [Email(email=p["email"], label=PointLabel(p["label"]), primary=p["primary"])
            for p in points.held(row, points.EMAILS)]


_TAGS = "Its tags, by name (deleted tags hidden); at most 50."
_MERGED = ("The record this one was merged into (it is deleted then), as its id; null for "
           "a record never merged away.")


def _global_id(type_name: str, value: uuid.UUID | None) -> strawberry.ID | None:
    return strawberry.ID(to_global_id(type_name, value)) if value is not None else None


@strawberry.interface(description="What companies and contacts have in common.")
class Customer(Node):
    name: str
    email: str | None = strawberry.field(description="The primary email (of `emails`).")
    phone: str | None = strawberry.field(description="The primary phone number (of `phones`).")
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

    @strawberry.field(description="Every phone number, in the order given; one is primary.")
    def phones(self) -> list[Phone]:
        return _phones(self)

    @strawberry.field(description="Every email address, in the order given; one is primary.")
    def emails(self) -> list[Email]:
        return _emails(self)


@node(COMPANY)
class CompanyType(Customer):
    domain: str | None
    industry: str | None
    tags = linked(COMPANY_TAGS, TagType, description=_TAGS)
    custom_fields = custom_fields_of(COMPANY)
    classification = classification_field("company")

    @strawberry.field(description=_MERGED)
    def merged_into(self) -> strawberry.ID | None:
        return _global_id("Company", self.merged_into)  # type: ignore[arg-type]


@node(CONTACT)
class ContactType(Customer):
    title: str | None
    birthday: date | None
    company = reference(CompanyType, "company_id")
    tags = linked(CONTACT_TAGS, TagType, description=_TAGS)
    custom_fields = custom_fields_of(CONTACT)
    classification = classification_field("contact")

    id_number_masked: str | None = strawberry.field(
        name="idNumber", description="The identity document's number, masked "
                                     "(`110***********1234`). " + _SENSITIVE)
    erased_at: datetime | None = strawberry.field(
        description="When the contact was erased (anonymised) on request.")

    @strawberry.field(description=_MERGED)
    def merged_into(self) -> strawberry.ID | None:
        return _global_id("Contact", self.merged_into)  # type: ignore[arg-type]

    @strawberry.field
    def gender(self) -> Gender | None:
        value = self.gender
        return Gender(value) if value else None

    @strawberry.field(description="The identity document's type.")
    def id_type(self) -> IdType | None:
        value = self.id_type
        return IdType(value) if value else None

    @strawberry.field(description="Personal notes, `••••` when there are some. " + _SENSITIVE)
    def personal_notes(self) -> str | None:
        return masked_notes(self)


@strawberry.type(name="OwnerCount", description="How many of something an owner has.")
class OwnerCountType:
    count: int
    owner_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Null for the records nobody owns.")
    async def owner(self, info: Info) -> UserType | None:
        if self.owner_id is None:
            return None
        return await info.context.loaders.user.load(self.owner_id)  # type: ignore[no-any-return]


@strawberry.input(description=(
    "An address; on update only the fields sent change (null clears one). In mainland China "
    "send the division codes (`divisions`): the names are filled in from them."))
class AddressInput:
    country: str | None = strawberry.UNSET
    province_code: str | None = strawberry.UNSET
    city_code: str | None = strawberry.UNSET
    district_code: str | None = strawberry.UNSET
    province: str | None = strawberry.field(
        default=strawberry.UNSET, description="Outside mainland China (or without codes).")
    city: str | None = strawberry.UNSET
    district: str | None = strawberry.UNSET
    street: str | None = strawberry.UNSET
    postal_code: str | None = strawberry.UNSET
    latitude: float | None = strawberry.UNSET
    longitude: float | None = strawberry.UNSET


@strawberry.input(description="A phone number: mainland numbers as dialled at home "
                              "(13800138000, 010-12345678), others with +country code.")
class PhoneInput:
    number: str
    label: PointLabel | None = strawberry.field(
        default=None, description="Left out: MOBILE for a mobile number, WORK otherwise.")
    primary: bool = strawberry.field(
        default=False, description="At most one; none marked: the first is primary.")


@strawberry.input(description="An email address.")
class EmailInput:
    email: str
    label: PointLabel | None = strawberry.field(default=None, description="Left out: WORK.")
    primary: bool = strawberry.field(
        default=False, description="At most one; none marked: the first is primary.")


_PHONES = ("Every phone number, replacing those held (an empty list removes them all); the "
           "primary becomes `phone`. Send either this or `phone`, not both.")
_EMAILS = ("Every email address, replacing those held (an empty list removes them all); the "
           "primary becomes `email`. Send either this or `email`, not both.")
_PRIMARY = ("Sets the primary alone: a value held becomes primary, another replaces the "
            "primary's value, null removes the primary.")


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
    id_number: str | None = strawberry.field(
        default=None, description="Contacts only, for `pii:read` holders: the contacts holding "
                                  "this identity document number (exact match).")
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
    email: str | None = strawberry.field(default=strawberry.UNSET, description=_PRIMARY)
    phone: str | None = strawberry.field(default=strawberry.UNSET, description=_PRIMARY)
    phones: list[PhoneInput] | None = strawberry.field(default=strawberry.UNSET,
                                                       description=_PHONES)
    emails: list[EmailInput] | None = strawberry.field(default=strawberry.UNSET,
                                                       description=_EMAILS)
    gender: Gender | None = strawberry.UNSET
    birthday: date | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    address: AddressInput | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    id_type: IdType | None = strawberry.field(
        default=strawberry.UNSET, description="Sent with `idNumber` (default RESIDENT_ID).")
    id_number: str | None = strawberry.field(
        default=strawberry.UNSET, description="A resident ID number (18 characters, its check "
                                              "digit verified) or a passport number; null "
                                              "clears it. Sealed at rest.")
    personal_notes: str | None = strawberry.field(
        default=strawberry.UNSET, description="Private notes about the person; sealed at rest.")
    company_id: strawberry.ID | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    custom_fields: list[CustomFieldValueInput] | None = strawberry.field(
        default=strawberry.UNSET, description=_CUSTOM)


@strawberry.input
class CompanyInput:
    name: str | None = strawberry.UNSET
    domain: str | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET
    email: str | None = strawberry.field(default=strawberry.UNSET, description=_PRIMARY)
    phone: str | None = strawberry.field(default=strawberry.UNSET, description=_PRIMARY)
    phones: list[PhoneInput] | None = strawberry.field(default=strawberry.UNSET,
                                                       description=_PHONES)
    emails: list[EmailInput] | None = strawberry.field(default=strawberry.UNSET,
                                                       description=_EMAILS)
    address: AddressInput | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    custom_fields: list[CustomFieldValueInput] | None = strawberry.field(
        default=strawberry.UNSET, description=_CUSTOM)

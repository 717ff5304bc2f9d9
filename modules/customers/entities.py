"""Companies and contacts, declared once for the kit (`modules.kit`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    LargeBinary,
    String,
    Text,
    bindparam,
    cast,
    func,
    inspect,
    null,
    select,
    union,
)
from sqlalchemy.sql.elements import ColumnElement

from infra.errors import ValidationFailed
from infra.validation import Validator
from modules.classification.filters import classification_filters
from modules.customers.models import Company, Contact
from modules.customers.schemas import SEARCH_MAX_TERM, phone_search_term, search_route
from modules.kit import (
    AtLeast,
    Before,
    Entity,
    Equals,
    EqualsLower,
    Field,
    Filter,
    LinkedTo,
    like_pattern,
)
from modules.pii import contacts as pii_contacts
from modules.pii.identity import ID_TYPES, RESIDENT_ID, check_id_number
from modules.tags.entities import COMPANY_TAGS, CONTACT_TAGS
from tenancy.context import CallContext
from tenancy.permissions import Permission


@dataclass(frozen=True)
class CustomerSearch(Filter):
    """Part of the name, email or phone number. A term that looks like a phone number also
    matches it the way numbers are stored (`schemas.phone_search_term`), so `010-6552 9988`
    and `01065529988` find `+861065529988`.

    On the search's indexes (migration 0008), through its finder functions (row-level security
    keeps the indexes from this role's own conditions): each of the two terms (as typed, and as
    a phone number) goes through the trigram index or the bigram one, whichever can serve it;
    the other's arguments are null, and an index scan for null finds nothing."""

    def clause(self, model: Any, name: str) -> ColumnElement[bool]:
        table = inspect(model).selectable
        finder = {"contacts": "search_contact_ids", "companies": "search_company_ids"}[
            table.name if not hasattr(table, "original") else table.original.name]

        def param(suffix: str) -> Any:
            return func.lower(cast(bindparam(f"{name}_{suffix}", type_=String), Text))

        def found(prefix: str) -> Any:
            return select(getattr(func, finder)(
                func.customer_search_query_grams(param(f"{prefix}_grams")),
                param(f"{prefix}_grams_like"), param(f"{prefix}_trgm_like"), null()))

        ids = func.array(union(found("term"), found("phone")).scalar_subquery())
        return model.id == func.any(ids)  # type: ignore[no-any-return]

    def params(self, name: str, value: Any, ctx: CallContext) -> dict[str, Any]:
        if len(value) > SEARCH_MAX_TERM * 2:
            raise ValidationFailed.single(f"filter.{name}", "is too long", "too_long")
        term = value.strip()
        phone = phone_search_term(term, ctx.region)
        out: dict[str, Any] = {}
        for prefix, text in (("term", term), ("phone", phone if phone != term else None)):
            trgm = text is not None and search_route(text) == "trgm"
            out[f"{name}_{prefix}_grams"] = text if text and not trgm else None
            out[f"{name}_{prefix}_grams_like"] = (like_pattern(text) if text and not trgm
                                                  else None)
            out[f"{name}_{prefix}_trgm_like"] = (like_pattern(text or "") if trgm or text == ""
                                                 else None)
        return out


@dataclass(frozen=True)
class IdNumberEquals(Filter):
    """Contacts holding this identity document number, by its blind index (nothing is
    opened). Only for callers who may read sensitive data: a lookup by number would otherwise
    tell whether a person is a customer."""

    def clause(self, model: Any, name: str) -> ColumnElement[bool]:
        return model.id_number_index == bindparam(name, type_=LargeBinary)  # type: ignore[no-any-return]

    def params(self, name: str, value: Any, ctx: CallContext) -> dict[str, Any]:
        ctx.require(Permission.PII_READ)
        v = Validator()
        number = None
        for id_type in ID_TYPES:  # whichever the number reads as: the index is the same
            number = check_id_number(Validator(), id_type, value)
            if number is not None:
                break
        if number is None:
            check_id_number(v, RESIDENT_ID, value, f"filter.{name}")
            raise ValidationFailed(v.errors)
        return {name: pii_contacts.id_number_index(ctx, number)}


def _common_filters() -> dict[str, Filter]:
    return {"search": CustomerSearch(), "owner_id": Equals("owner_id"),
            "email": EqualsLower("email"), "created_after": AtLeast("created_at"),
            "created_before": Before("created_at"), **classification_filters()}


COMPANY = Entity(
    name="company", type_name="Company", model=Company,
    read=Permission.CUSTOMERS_READ, read_all=Permission.CUSTOMERS_READ_ALL,
    write=Permission.CUSTOMERS_WRITE, delete=Permission.CUSTOMERS_DELETE,
    owner="owner_id", filters={**_common_filters(), "tag_ids": LinkedTo(COMPANY_TAGS)},
    custom_fields=True,
)

CONTACT = Entity(
    name="contact", type_name="Contact", model=Contact,
    read=Permission.CUSTOMERS_READ, read_all=Permission.CUSTOMERS_READ_ALL,
    write=Permission.CUSTOMERS_WRITE, delete=Permission.CUSTOMERS_DELETE,
    owner="owner_id",
    filters={**_common_filters(), "company_id": Equals("company_id"),
             "tag_ids": LinkedTo(CONTACT_TAGS), "id_number": IdNumberEquals()},
    fields={"company_id": Field(reference="Company"), "gender": Field(enum=True),
            "id_type": Field(enum=True), "id_number_sealed": Field(secret=True),
            "id_number_index": Field(secret=True), "personal_notes_sealed": Field(secret=True),
            "merged_into": Field(reference="Contact")},
    custom_fields=True,
)

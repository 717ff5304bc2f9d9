"""Companies and contacts, declared once for the kit (`modules.kit`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, or_
from sqlalchemy.sql.elements import ColumnElement

from modules.customers.models import Company, Contact
from modules.customers.schemas import phone_search_term
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
from modules.tags.entities import COMPANY_TAGS, CONTACT_TAGS
from tenancy.context import CallContext
from tenancy.permissions import Permission


@dataclass(frozen=True)
class CustomerSearch(Filter):
    """Part of the name, email or phone number. A term that looks like a phone number also
    matches it the way numbers are stored (`schemas.phone_search_term`), so `010-6552 9988`
    and `01065529988` find `+861065529988`."""

    def clause(self, model: Any, name: str) -> ColumnElement[bool]:
        pattern = bindparam(name, type_=String)
        return or_(model.name.ilike(pattern), model.email.ilike(pattern),
                   model.phone.like(pattern), model.phone.like(bindparam(f"{name}_phone",
                                                                         type_=String)))

    def params(self, name: str, value: Any, ctx: CallContext) -> dict[str, Any]:
        return {name: like_pattern(value),
                f"{name}_phone": like_pattern(phone_search_term(value, ctx.region))}


def _common_filters() -> dict[str, Filter]:
    return {"search": CustomerSearch(), "owner_id": Equals("owner_id"),
            "email": EqualsLower("email"), "created_after": AtLeast("created_at"),
            "created_before": Before("created_at")}


COMPANY = Entity(
    name="company", type_name="Company", model=Company,
    read=Permission.CUSTOMERS_READ, read_all=Permission.CUSTOMERS_READ_ALL,
    write=Permission.CUSTOMERS_WRITE, delete=Permission.CUSTOMERS_DELETE,
    owner="owner_id", filters={**_common_filters(), "tag_ids": LinkedTo(COMPANY_TAGS)},
)

CONTACT = Entity(
    name="contact", type_name="Contact", model=Contact,
    read=Permission.CUSTOMERS_READ, read_all=Permission.CUSTOMERS_READ_ALL,
    write=Permission.CUSTOMERS_WRITE, delete=Permission.CUSTOMERS_DELETE,
    owner="owner_id",
    filters={**_common_filters(), "company_id": Equals("company_id"),
             "tag_ids": LinkedTo(CONTACT_TAGS)},
    fields={"company_id": Field(reference="Company"), "gender": Field(enum=True)},
)

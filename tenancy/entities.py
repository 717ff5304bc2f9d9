"""Tenancy's records declared through the module kit (`modules.kit`): API keys and members.

An API key is issued (its secret shown once), listed and revoked, never edited: its lists,
lookups, loaders, `node(id:)`, audit rows and events are the kit's, from this declaration;
issuing and revoking are its service's own rules (`tenancy.service.ApiKeyService`).
A member is read from the `members` view (a membership joined to its user, keyed by the
user's id), so its list, lookups and rendering are the kit's like any table's; adding a member,
changing their role and disabling them are its service's rules (`tenancy.service`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, or_, select
from sqlalchemy.sql.elements import ColumnElement

from modules.kit import (
    Contains,
    Entity,
    Equals,
    Field,
    Filter,
    Present,
    like_pattern,
    standard_sorts,
)
from tenancy.context import CallContext
from tenancy.models import ApiKey, Member, Role
from tenancy.permissions import Permission

_SORTS = {s.name: s for s in standard_sorts()}

API_KEY = Entity(
    name="api_key", type_name="ApiKey", model=ApiKey, label="API key",
    # Keys are the tenant's credentials: seen and managed by one permission, never owned.
    read=Permission.API_KEYS_MANAGE, write=Permission.API_KEYS_MANAGE,
    sorts=tuple(_SORTS[name] for name in ("CREATED_AT_DESC", "CREATED_AT_ASC", "NAME_ASC",
                                          "NAME_DESC")),
    filters={"search": Contains("name"), "revoked": Present("revoked_at")},
    fields={"key_hash": Field(secret=True), "role_id": Field(reference="Role"),
            "created_by": Field(reference="User")},
)


@dataclass(frozen=True)
class NameOrEmail(Filter):
    """Part of the member's name or email, case-insensitive."""

    def clause(self, model: Any, name: str) -> ColumnElement[bool]:
        pattern = bindparam(name, type_=String)
        return or_(model.name.ilike(pattern), model.email.ilike(pattern))

    def params(self, name: str, value: Any, ctx: CallContext) -> dict[str, Any]:
        return {name: like_pattern(value)}


@dataclass(frozen=True)
class RoleKey(Filter):
    """Holds the role with this key (`manager`), one of the caller's tenant's roles."""

    def clause(self, model: Any, name: str) -> ColumnElement[bool]:
        return model.role_id == (  # type: ignore[no-any-return]
            select(Role.id).where(Role.tenant_id == model.tenant_id,
                                  Role.key == bindparam(name, type_=String))
            .scalar_subquery())


MEMBER = Entity(
    name="membership", type_name="Member", model=Member, label="member",
    read=Permission.MEMBERS_READ, write=Permission.USERS_MANAGE,
    # By name first: how people look for a colleague.
    sorts=tuple(_SORTS[name] for name in ("NAME_ASC", "NAME_DESC", "CREATED_AT_DESC",
                                          "CREATED_AT_ASC", "UPDATED_AT_DESC")),
    filters={"search": NameOrEmail(), "role": RoleKey(), "status": Equals("status"),
             # Their department and reporting line (modules/departments).
             "department_id": Equals("department_id"), "superior_id": Equals("superior_id")},
    fields={"role_id": Field(reference="Role"), "department_id": Field(reference="Department"),
            "superior_id": Field(reference="User")},
)

"""Tenancy's records declared through the module kit (`modules.kit`): API keys.

An API key is issued (its secret shown once), listed and revoked, never edited: its lists,
lookups, loaders, `node(id:)`, audit rows and events are the kit's, from this declaration;
issuing and revoking are its service's own rules (`tenancy.service.ApiKeyService`).
Members stay outside the kit: a membership is keyed by its user (no id of its own) and
reads as a user joined to a role, which is not one table's visible statement.
"""

from __future__ import annotations

from modules.kit import Contains, Entity, Field, Present, standard_sorts
from tenancy.models import ApiKey
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

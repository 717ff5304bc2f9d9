"""Who is calling, on behalf of which tenant: what every service receives as `ctx`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from infra.errors import Forbidden
from tenancy.permissions import Permission


@dataclass(frozen=True, slots=True)
class Actor:
    kind: Literal["user", "api_key", "system"]
    id: uuid.UUID | None  # the user's or the API key's id
    tenant_id: uuid.UUID
    role: str
    permissions: frozenset[str]
    label: str  # an email, an API key's name, "system"
    # The role's data scope when the authenticator read it with the role (own, subordinates,
    # department, department_tree, all); None: unknown, read with the visibility
    # (modules/kit/scopes.py).
    data_scope: str | None = None

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.id if self.kind == "user" else None


@dataclass(slots=True)
class CallContext:
    actor: Actor
    request_id: str = ""
    client_ip: str | None = None
    region: str = "CN"  # the tenant's default phone region
    extra: dict[str, str] = field(default_factory=dict)
    # What the caller's data scope and shares let them see, computed once per request when a
    # rule first needs it (modules/kit/scopes.py); None: not yet, or stale after a write.
    visibility: Any = None

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.actor.tenant_id

    def can(self, permission: Permission) -> bool:
        return permission in self.actor.permissions

    def require(self, permission: Permission) -> None:
        if permission not in self.actor.permissions:
            raise lacks(self.actor.role, permission)


def lacks(role: str, permission: Permission) -> Forbidden:
    """The one FORBIDDEN for a missing permission, wherever it is checked (fields, services):
    the same message and the `permission` the caller would need."""
    return Forbidden(f"the {role} role lacks the {permission} permission",
                     permission=str(permission))


def system_context(tenant_id: uuid.UUID, *, request_id: str = "system") -> CallContext:
    """For platform commands and jobs acting with full rights within one tenant."""
    actor = Actor("system", None, tenant_id, "system", frozenset(Permission), "system")
    return CallContext(actor, request_id=request_id)

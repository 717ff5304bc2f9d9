"""Permissions declared on fields: `@strawberry.field(extensions=needs(Permission.X))`."""

from __future__ import annotations

from typing import Any

from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from infra.errors import Unauthenticated
from tenancy.context import lacks
from tenancy.permissions import Permission


class Can(BasePermission):
    """The caller is authenticated and their role grants `permission`."""

    def __init__(self, permission: Permission | None = None) -> None:
        self.permission = permission

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        # Raises rather than returning False: instances are shared by every request, so the
        # reason cannot be kept on them for on_unauthorized.
        call = info.context.call
        if call is None:
            raise Unauthenticated("authentication required: an API key or a session cookie")
        if self.permission is not None and self.permission not in call.actor.permissions:
            raise lacks(call.actor.role, self.permission)
        return True


def needs(*permissions: Permission) -> list[FieldExtension]:
    perms: list[BasePermission] = [Can(p) for p in permissions] or [Can()]
    return [PermissionExtension(permissions=perms, use_directives=False)]

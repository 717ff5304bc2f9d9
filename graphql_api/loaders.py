"""Per-request data loaders: one query per batch of keys, never one per row (no N+1).

Created lazily per request in the context; a module-level loader would cache across tenants.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from strawberry.dataloader import DataLoader

from modules.customers import service as customers
from modules.customers.models import Company, Contact
from tenancy import directory

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from graphql_api.context import GraphQLContext


def loaded_by(loader: str, key: str) -> Callable[[F], F]:
    """Marks an async resolver whose value is `loaders.<loader>.load(self.<key>)`, or None when
    the key is None. Compiled plans then load the field for a whole list with one `load_many`
    instead of one coroutine per row; the resolver itself stays the reference behaviour."""

    def mark(fn: F) -> F:
        fn.loaded_by = (loader, key)  # type: ignore[attr-defined]
        return fn

    return mark


class Loaders:
    def __init__(self, context: GraphQLContext) -> None:
        self._context = context
        self.company = DataLoader[uuid.UUID, Any](load_fn=self._companies)
        self.contact = DataLoader[uuid.UUID, Any](load_fn=self._contacts)
        self.user = DataLoader[uuid.UUID, Any](load_fn=self._users)

    async def _companies(self, ids: Sequence[uuid.UUID]) -> list[Any]:
        return await self._context.read(customers.load_many, Company, ids)

    async def _contacts(self, ids: Sequence[uuid.UUID]) -> list[Any]:
        return await self._context.read(customers.load_many, Contact, ids)

    async def _users(self, ids: Sequence[uuid.UUID]) -> list[Any]:
        return await self._context.read(directory.users_by_ids, ids)

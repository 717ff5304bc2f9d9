"""Per-request data loaders: one query per batch of keys, never one per row (no N+1).

Created lazily per request in the context; a module-level loader would cache across tenants.
Every entity declared through the kit has one, named as the entity (`loaders.company`);
users have theirs here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from strawberry.dataloader import DataLoader

from graphql_api.kit import load_fn
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
        self.user = DataLoader[uuid.UUID, Any](load_fn=self._users)
        self.role_key = DataLoader[uuid.UUID, Any](load_fn=self._role_keys)

    def __getattr__(self, name: str) -> DataLoader[uuid.UUID, Any]:
        """The loader of the kit entity called `name`, made on first use in this request."""
        if name.startswith("_"):
            raise AttributeError(name)
        loader = DataLoader[uuid.UUID, Any](load_fn=load_fn(self._context, name))
        setattr(self, name, loader)
        return loader

    async def _users(self, ids: Sequence[uuid.UUID]) -> list[Any]:
        return await self._context.read(directory.users_by_ids, ids)

    async def _role_keys(self, ids: Sequence[uuid.UUID]) -> list[Any]:
        return await self._context.read(directory.role_keys_by_ids, ids)

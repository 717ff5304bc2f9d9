"""Composes the domains' queries and mutations into one schema, with its limits and caches.

Each domain's package (`graphql_api/<domain>/`) has a `schema.py` listing its `QUERIES`,
`MUTATIONS` and `TYPES`; they are found here, so adding a domain edits no shared file.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from datetime import datetime
from functools import lru_cache
from types import ModuleType

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxTokensLimiter, ParserCache
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext, Info

import graphql_api
from graphql_api.kit import NODE_LOADERS
from graphql_api.limits import LimitsThenValidation, QueryLimits
from graphql_api.permissions import needs
from graphql_api.relay import Node, from_global_id
from graphql_api.rendering import DATETIME_UTC
from infra.settings import Settings


def _domains() -> list[ModuleType]:
    found = []
    for info in sorted(pkgutil.iter_modules(graphql_api.__path__), key=lambda i: i.name):
        if info.ispkg and importlib.util.find_spec(f"graphql_api.{info.name}.schema"):
            found.append(importlib.import_module(f"graphql_api.{info.name}.schema"))
    return found


DOMAINS = _domains()


@strawberry.type
class NodeQuery:
    @strawberry.field(extensions=needs(), description="Any object by its global ID, or null.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        try:
            type_name, key = from_global_id(id)
        except (ValueError, UnicodeDecodeError):
            return None
        loader = "user" if type_name == "User" else NODE_LOADERS.get(type_name)
        if loader is None:
            return None
        return await getattr(info.context.loaders, loader).load(key)  # type: ignore[no-any-return]


Query = strawberry.type(type("Query", (*(q for d in DOMAINS for q in d.QUERIES), NodeQuery), {}))
Mutation = strawberry.type(type("Mutation", tuple(m for d in DOMAINS for m in d.MUTATIONS), {}))


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        """Client errors are answers, not incidents: `graphql_api.errors` logs the internal ones."""


def build_schema(settings: Settings) -> strawberry.Schema:
    limits = QueryLimits(max_depth=settings.graphql_max_depth,
                         max_aliases=settings.graphql_max_aliases,
                         max_fields=settings.graphql_max_fields)
    # One LRU of validation results for the process (the schema and rules never change).
    validate = lru_cache(maxsize=512)(validate_document)
    return Schema(
        query=Query,
        # Timestamps in UTC with microseconds, the form PostgreSQL renders too (rendering.py).
        scalar_overrides={datetime: DATETIME_UTC},
        mutation=Mutation,
        types=[t for d in DOMAINS for t in d.TYPES],
        # Factories: a fresh extension per request (the caches live outside them).
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
            lambda: ParserCache(maxsize=512),
            lambda: LimitsThenValidation(limits, validate),
        ],
    )

"""Query limits, checked on the parsed document before any validation rule runs.

Depth, aliases and fields are measured in one pass in which each fragment is analysed once and
its measure reused wherever it is spread. Rules that walk into a fragment at every spread (as
Strawberry's depth and alias limiters do) take time doubling with each level of a chain of
fragments that each spread the next twice: a few hundred tokens could hold a server process for
hours, before authentication. Here the cost is linear in the document, and a document over a
limit never reaches graphql-core's own rules (some of which compare fields pairwise) at all.

Fragments are counted as often as they are spread (a fragment of 20 aliases spread 3 times is
60 aliases), so a limit means the same with or without them.

Two more checks run at the same point, before validation, since neither needs it: outside
development, introspection (`__schema`, `__type`) needs an authenticated caller (integrators get
the schema from `crm schema`; GraphiQL keeps working in development); and string literals that
PostgreSQL text cannot hold are refused (graphql_api.unstorable).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

from graphql_api.unstorable import unstorable_literals

TOO_COMPLEX = "QUERY_TOO_COMPLEX"
MAX_NESTING = 64  # selection sets within one another, introspection included


@dataclass(frozen=True)
class Measure:
    depth: int  # nesting below the root fields: `{ a { b } }` is 1, as Strawberry counts it
    aliases: int  # aliased fields, fragments expanded
    fields: int  # field selections, fragments expanded


_LEAF = Measure(0, 0, 0)


class _TooDeep(Exception):  # noqa: N818 - control flow
    pass


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int
    max_aliases: int
    max_fields: int
    max_fragments: int = 100

    def check(self, document: DocumentNode) -> GraphQLError | None:
        """The first limit the document's operations exceed, as an error; None if none."""
        fragments = {d.name.value: d for d in document.definitions
                     if isinstance(d, FragmentDefinitionNode)}
        if len(fragments) > self.max_fragments:
            return _error(f"the document defines {len(fragments)} fragments; at most "
                          f"{self.max_fragments} are allowed")
        measured: dict[str, Measure] = {}
        for operation in document.definitions:
            if not isinstance(operation, OperationDefinitionNode):
                continue
            try:
                found = self._selection_set(operation.selection_set, fragments, measured,
                                            set(), 0, 0)
            except _TooDeep:
                found = Measure(self.max_depth + 1, 0, 0)
            if found.depth > self.max_depth:
                return _error(f"the operation is nested deeper than {self.max_depth} levels")
            if found.aliases > self.max_aliases:
                return _error(f"the operation has {found.aliases} aliases (fragments counted "
                              f"each time they are spread); at most {self.max_aliases}")
            if found.fields > self.max_fields:
                return _error(f"the operation selects {found.fields} fields (fragments counted "
                              f"each time they are spread); at most {self.max_fields}")
        return None

    def _selection_set(self, selection_set: SelectionSetNode,
                       fragments: dict[str, FragmentDefinitionNode],
                       measured: dict[str, Measure], visiting: set[str], level: int | None,
                       nesting: int) -> Measure:
        """`level`: the depth so far as the limit counts it (None inside introspection, which
        it does not count); `nesting`: selection sets entered, introspection's included, which
        bounds the recursion whatever the document."""
        if (level is not None and level > self.max_depth) or nesting > MAX_NESTING:
            raise _TooDeep  # stop walking: recursion stays bounded
        depth = aliases = fields = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                introspection = selection.name.value.startswith("__")
                inner = (_LEAF if selection.selection_set is None else self._selection_set(
                    selection.selection_set, fragments, measured, visiting,
                    None if introspection or level is None else level + 1, nesting + 1))
                # Introspection (`__schema`, `__type`) and all below it add no depth, as in
                # Strawberry's limiter: the standard introspection query nests 14 levels deep,
                # and what it can reach is bounded by the schema itself. Its fields count.
                if selection.selection_set is not None and not introspection:
                    depth = max(depth, inner.depth + 1)
                aliases += inner.aliases + (selection.alias is not None)
                fields += inner.fields + 1
                continue
            if isinstance(selection, FragmentSpreadNode):
                inner = self._fragment(selection.name.value, fragments, measured, visiting,
                                       level, nesting)
            elif isinstance(selection, InlineFragmentNode):
                inner = self._selection_set(selection.selection_set, fragments, measured,
                                            visiting, level, nesting)
            else:
                continue
            depth = max(depth, inner.depth)
            aliases += inner.aliases
            fields += inner.fields
        return Measure(depth, aliases, fields)

    def _fragment(self, name: str, fragments: dict[str, FragmentDefinitionNode],
                  measured: dict[str, Measure], visiting: set[str], level: int | None,
                  nesting: int) -> Measure:
        """A fragment's measure relative to where it is spread. Memoised by name: the depth a
        fragment adds does not depend on where it is spread; `level` only bounds recursion."""
        found = measured.get(name)
        if found is not None:
            if level is not None and level + found.depth > self.max_depth:
                raise _TooDeep
            return found
        definition = fragments.get(name)
        if definition is None or name in visiting:
            return _LEAF  # unknown or cyclic: validation reports it
        visiting.add(name)
        try:
            found = self._selection_set(definition.selection_set, fragments, measured,
                                        visiting, level, nesting)
        finally:
            visiting.discard(name)
        measured[name] = found
        return found


def _error(message: str) -> GraphQLError:
    return GraphQLError(f"query too complex: {message}", extensions={"code": TOO_COMPLEX})


_INTROSPECTION_TEXT = re.compile(r"__(?:schema|type)\b")
_INTROSPECTION_FIELDS = ("__schema", "__type")


def introspects(query: str, document: DocumentNode) -> bool:
    """Whether any operation or fragment of the document selects `__schema` or `__type`
    (`__typename` is no introspection of the schema). The text is looked at first: the walk
    only runs for a document that names one of them somewhere."""
    if not _INTROSPECTION_TEXT.search(query):
        return False
    stack = [d.selection_set for d in document.definitions
             if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode) and \
                    selection.name.value in _INTROSPECTION_FIELDS:
                return True
            if isinstance(selection, FieldNode | InlineFragmentNode) and \
                    selection.selection_set is not None:
                stack.append(selection.selection_set)
    return False


def may_introspect(context: Any) -> bool:
    """Development lets anyone introspect (GraphiQL); elsewhere only an authenticated caller.
    A context without settings (the schema used outside the endpoint) may."""
    settings = getattr(context, "settings", None)
    return (settings is None or settings.env == "development"
            or getattr(context, "call", None) is not None)


INTROSPECTION_REFUSED = (
    "introspection needs an authenticated caller (an API key or a session); the schema is "
    "also printed by `crm schema`")


class LimitsThenValidation(SchemaExtension):
    """Checks the limits, then validates (cached, like Strawberry's ValidationCache) only a
    document within them. Pass a factory: one instance per request."""

    def __init__(self, limits: QueryLimits,
                 validate: Callable[[Any, DocumentNode, Any], list[GraphQLError]]) -> None:
        super().__init__()
        self.limits = limits
        self.validate = validate

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            context.pre_execution_errors = self._errors(context, document)
        yield

    def _errors(self, context: Any, document: DocumentNode) -> list[GraphQLError]:
        error = self.limits.check(document)
        if error is not None:
            return [error]
        query = context.query or ""
        if introspects(query, document) and not may_introspect(context.context):
            return [GraphQLError(INTROSPECTION_REFUSED,
                                 extensions={"code": "UNAUTHENTICATED"})]
        return unstorable_literals(query, document) or self.validate(
            context.schema._schema, document, context.validation_rules)

"""Text PostgreSQL cannot hold, refused at the edge: in the request's variables and in the string
literals of its document, before anything runs.

PostgreSQL `text` takes any Unicode character but NUL; lone surrogates cannot even be encoded
(JSON and GraphQL parsing already refuse them as escapes; checked here too, for any other way in).
Left to the database, such a string fails deep inside a query as a driver error: an internal
error with a traceback, for a request any caller can send. Refused here, it is a `VALIDATION`
error naming the variable or argument, as cheap as any other refusal.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    ObjectFieldNode,
    StringValueNode,
    VariableDefinitionNode,
    Visitor,
    visit,
)

from infra.errors import FieldError

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "contains a NUL character or a lone surrogate, which text cannot hold"
CODE = "invalid_character"


def _printable(name: str) -> str:
    return UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", name)


def unstorable_variables(variables: dict[str, Any]) -> list[FieldError]:
    """Every string (and object key) in the variables that text cannot hold, by its path."""
    found: list[FieldError] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, str):
            if UNSTORABLE.search(value):
                found.append(FieldError(path, MESSAGE, CODE))
        elif isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{_printable(key)}"
                if UNSTORABLE.search(key):
                    found.append(FieldError(where, MESSAGE, CODE))
                walk(item, where)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}.{i}")

    walk(variables, "variables")
    return found


def may_hold_unstorable(query: str) -> bool:
    """False when no literal of the document can hold a NUL: none is written as such, and no
    `\\u` escape could produce one. A cheap test on the text, before walking the document."""
    return "\x00" in query or "\\u" in query


class _Literals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.errors: list[GraphQLError] = []

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        self.names.append(node.name.value)

    def leave_argument(self, node: ArgumentNode, *_: Any) -> None:
        self.names.pop()

    def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        self.names.append(node.name.value)

    def leave_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        self.names.pop()

    def enter_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> None:
        self.names.append(f"${node.variable.name.value}")

    def leave_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> None:
        self.names.pop()

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if UNSTORABLE.search(node.value):
            field = self.names[-1] if self.names else "query"
            self.errors.append(unstorable_literal(field, node))


def unstorable_literal(field: str, node: StringValueNode) -> GraphQLError:
    return GraphQLError(
        f"{field}: {MESSAGE}", node,
        extensions={"code": "VALIDATION", "field": field,
                    "fields": [{"field": field, "message": MESSAGE, "code": CODE}]})


def unstorable_literals(query: str, document: DocumentNode) -> list[GraphQLError]:
    """The document's string literals that text cannot hold, as validation errors."""
    if not may_hold_unstorable(query):
        return []
    visitor = _Literals()
    visit(document, visitor)
    return visitor.errors

"""The one error convention of the API.

Every error carries `extensions.code`: a domain error's own code (`NOT_FOUND`, `FORBIDDEN`,
`VALIDATION` with `field` and `fields`, …), `GRAPHQL_PARSE_FAILED` / `GRAPHQL_VALIDATION_FAILED`
for documents the schema rejects, `QUERY_TOO_COMPLEX` for the depth, alias and token limits, and
`INTERNAL` for anything unexpected, whose details go to the log, never to the caller.
"""

from __future__ import annotations

from typing import Any

import psycopg
import structlog
from graphql import GraphQLError

from infra.errors import AppError

log = structlog.get_logger("graphql")

_LIMIT_MARKERS = ("exceeds maximum operation depth", "aliases found", "exceeds the maximum",
                  "token limit", "max tokens", "Syntax Error: Document contains more than")


def error_payload(message: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extra}}


def format_error(error: GraphQLError, *, request_id: str) -> dict[str, Any]:
    original = error.original_error
    out: dict[str, Any] = {"message": error.message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        out["path"] = error.path
    if isinstance(original, AppError):
        out["message"] = original.message
        out["extensions"] = original.extensions()
    elif original is None or isinstance(original, GraphQLError):
        message = error.message
        if error.extensions and "code" in error.extensions:  # ours, e.g. graphql_api.limits
            out["extensions"] = dict(error.extensions)
            return out
        if any(marker in message for marker in _LIMIT_MARKERS):
            code = "QUERY_TOO_COMPLEX"
        elif message.startswith("Syntax Error"):
            code = "GRAPHQL_PARSE_FAILED"
        else:
            code = "GRAPHQL_VALIDATION_FAILED"
        out["extensions"] = {"code": code}
    elif _unstorable_text(original):
        # The edge refuses such text in variables and literals (graphql_api.unstorable); this is
        # for text hidden inside an opaque value, e.g. a cursor: the caller's mistake, and no
        # incident worth a traceback.
        out["message"] = "a text value contains a NUL character, which text cannot hold"
        out["extensions"] = {"code": "BAD_REQUEST"}
    else:
        log.error("unexpected error", request_id=request_id, path=error.path,
                  exc_info=(type(original), original, original.__traceback__))
        out["message"] = f"internal error (request id {request_id})"
        out["extensions"] = {"code": "INTERNAL", "requestId": request_id}
    return out


def _unstorable_text(error: BaseException) -> bool:
    """psycopg's refusal of a NUL in a text value (client-side, or the server's
    `character_not_in_repertoire`), raised as is or wrapped by SQLAlchemy."""
    seen: BaseException | None = error
    for _ in range(4):
        if seen is None:
            return False
        if isinstance(seen, psycopg.DataError) and (
                "NUL (0x00)" in str(seen) or getattr(seen, "sqlstate", None) == "22021"):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False

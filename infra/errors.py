"""Errors with stable, machine-readable codes.

Services raise these; `graphql_api.errors` turns them into the API's error shape
(`extensions.code`, and `extensions.field` / `extensions.fields` for input errors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


class AppError(Exception):
    code: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def extensions(self) -> dict[str, Any]:
        ext: dict[str, Any] = {"code": self.code}
        if self.field:
            ext["field"] = self.field
        ext.update(self.details)
        return ext


class Unauthenticated(AppError):
    code = "UNAUTHENTICATED"


class Forbidden(AppError):
    code = "FORBIDDEN"


class NotFound(AppError):
    code = "NOT_FOUND"


class Conflict(AppError):
    code = "CONFLICT"


class BadRequest(AppError):
    code = "BAD_REQUEST"


class RateLimited(AppError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retryAfter=retry_after)


class PayloadTooLarge(AppError):
    code = "PAYLOAD_TOO_LARGE"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit:,} bytes")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    code: str = "invalid"


class ValidationFailed(AppError):
    """One or more input fields are wrong; all of them are reported at once."""

    code = "VALIDATION"

    def __init__(self, errors: list[FieldError]) -> None:
        first = errors[0]
        message = "; ".join(f"{e.field}: {e.message}" for e in errors)
        super().__init__(message, field=first.field)
        self.errors = errors

    def extensions(self) -> dict[str, Any]:
        ext = super().extensions()
        ext["fields"] = [
            {"field": e.field, "message": e.message, "code": e.code} for e in self.errors
        ]
        return ext

    @classmethod
    def single(cls, field: str, message: str, code: str = "invalid") -> ValidationFailed:
        return cls([FieldError(field, message, code)])

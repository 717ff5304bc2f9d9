"""Saved filters read as the list reads its own: the stored JSON checked against the list's
filter input type (`CustomerFilter`) as a request's variables would be, converted to that
input, then decoded by the kit (`filter_values`: global ids, conditions the list has). And
`filter.segment` on the customer lists: the segment's saved filter with the request's other
conditions."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import strawberry
from graphql import coerce_input_value, validate_input_value
from strawberry.types import Info
from strawberry.types.arguments import convert_argument

from graphql_api.customers.types import CustomerFilter
from graphql_api.kit import FILTER_EXPANSIONS, filter_values
from graphql_api.relay import decode_id
from graphql_api.rendering import DATETIME_UTC
from infra.errors import FieldError, ValidationFailed
from modules.kit.entity import Entity
from modules.segments import service


@strawberry.type
class _Probe:
    @strawberry.field
    def probe(self, filter: CustomerFilter) -> int:  # pragma: no cover - never resolved
        return 0


@cache
def _schema() -> strawberry.Schema:
    # The filter input as the API's schema has it (its scalars' overrides too), on its own.
    return strawberry.Schema(query=_Probe, scalar_overrides={datetime: DATETIME_UTC})


def _path(path: Any) -> str:
    out = "filter"
    for part in path or ():
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def read_saved(entity: Entity, stored: dict[str, Any]) -> dict[str, Any]:
    schema = _schema()
    input_type = schema._schema.type_map["CustomerFilter"]
    errors: list[FieldError] = []
    validate_input_value(stored, input_type,  # type: ignore[arg-type]
                         lambda error, path: errors.append(
                             FieldError(_path(path), error.message, "invalid")), True)
    if errors:
        raise ValidationFailed(errors[:20])
    value = coerce_input_value(stored, input_type)  # type: ignore[arg-type]
    data = convert_argument(value, CustomerFilter, schema.schema_converter.scalar_registry,
                            schema.config)
    filters = filter_values(entity, data)
    if "segment" in filters:
        raise ValidationFailed.single("filter.segment", "a saved filter cannot name a segment",
                                      "not_applicable")
    return filters


def merged(saved: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Both sets of conditions must hold. Custom-field conditions add up; a condition both set
    to different values is refused (one value per condition in a list's filter)."""
    out = dict(saved)
    for key, value in given.items():
        if key == "custom_fields":
            out[key] = [*saved.get(key, []), *value]
        elif key in saved and saved[key] != value:
            from modules.kit import camel

            raise ValidationFailed.single(f"filter.{camel(key)}", "is set differently by the "
                                          "segment: leave it to the segment", "conflict")
        else:
            out[key] = value
    return out


async def expand_segment(info: Info, entity: Entity, value: Any, filters: dict[str, Any]
                         ) -> dict[str, Any]:
    segment_id = decode_id(value, "Segment", "filter.segment")
    saved = await info.context.read(service.segments.member_filters, segment_id, entity)
    return merged(saved, filters)


service.use_filter_reader(read_saved)
FILTER_EXPANSIONS["segment"] = expand_segment

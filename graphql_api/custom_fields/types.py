"""GraphQL types of custom field definitions; every field is declared, none auto-mapped."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from graphql_api.kit import node, sort_enum
from graphql_api.relay import Node
from modules.custom_fields.entities import CUSTOM_FIELD


@strawberry.enum(description="The entities whose records take custom fields.")
class CustomFieldEntity(Enum):
    CONTACT = "contact"
    COMPANY = "company"


@strawberry.enum(description="What a custom field holds.")
class CustomFieldType(Enum):
    TEXT = "text"
    NUMBER = "number"  # a whole number
    DECIMAL = "decimal"
    DATE = "date"
    BOOLEAN = "boolean"
    SELECT = "select"
    MULTI_SELECT = "multi_select"


CustomFieldSortOrder = sort_enum(CUSTOM_FIELD, "CustomFieldSortOrder",
                                 description="Orderings of the custom field list.")


@strawberry.type(description="One choice of a select field: a stable key, a label to show.")
class CustomFieldOption:
    key: str
    label: str


@node(CUSTOM_FIELD, description="A field of the tenant's own on an entity's records.")
class CustomFieldType_(Node):
    key: str = strawberry.field(description="The API name: how inputs, filters and sorts name "
                                            "it. May change; values are kept.")
    label: str
    required: bool
    sensitive: bool = strawberry.field(
        description="Its values are sealed at rest, shown masked (••••) but to `pii:read` "
                    "holders who reveal them (audited), filtered by exact match only, never "
                    "sorted or unique. Text fields only; set at creation.")
    position: int = strawberry.field(description="Its place in forms, from 0.")
    help_text: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = strawberry.field(
        description="When it was removed: its values are kept, restorable, until the purge.")

    @strawberry.field
    def entity(self) -> CustomFieldEntity:
        return CustomFieldEntity(self.entity)

    @strawberry.field
    def type(self) -> CustomFieldType:
        return CustomFieldType(self.type)

    @strawberry.field(description="No two records hold the same value (text: whatever its "
                                  "case).")
    def unique(self) -> bool:
        return bool(self.is_unique)  # type: ignore[attr-defined]

    @strawberry.field(description="A select's choices, in their order.")
    def options(self) -> list[CustomFieldOption]:
        raw: Any = self.options
        return [CustomFieldOption(key=o["key"], label=o["label"]) for o in raw or ()]


@strawberry.input(description="One choice of a select field.")
class CustomFieldOptionInput:
    key: str
    label: str


@strawberry.input(description="A custom field's definition; on update, only the fields sent "
                              "change (entity and type never do).")
class CustomFieldInput:
    entity: CustomFieldEntity | None = strawberry.UNSET
    key: str | None = strawberry.UNSET
    label: str | None = strawberry.UNSET
    type: CustomFieldType | None = strawberry.UNSET
    required: bool | None = strawberry.UNSET
    is_unique: bool | None = strawberry.field(default=strawberry.UNSET, name="unique")
    sensitive: bool | None = strawberry.UNSET
    position: int | None = strawberry.UNSET
    help_text: str | None = strawberry.UNSET
    options: list[CustomFieldOptionInput] | None = strawberry.UNSET


@strawberry.input(description="Narrows the custom field list.")
class CustomFieldFilter:
    entity: CustomFieldEntity | None = None
    search: str | None = strawberry.field(default=None, description="Part of the label.")
    include_deleted: bool = False
    deleted_only: bool = False

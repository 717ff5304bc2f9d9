"""Custom field queries: the kit's list and lookup, and an entity's fields in form order."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphql_api.custom_fields.types import (
    CustomFieldEntity,
    CustomFieldFilter,
    CustomFieldSortOrder,
    CustomFieldType_,
)
from graphql_api.kit import get_field, list_field
from graphql_api.permissions import needs
from modules.custom_fields import service
from modules.custom_fields.entities import CUSTOM_FIELD


@strawberry.type
class CustomFieldQueries:
    custom_fields = list_field(service.custom_fields, CustomFieldType_, filter=CustomFieldFilter,
                               sort=CustomFieldSortOrder,
                               description="The tenant's custom fields, newest first.")
    custom_field = get_field(service.custom_fields, CustomFieldType_)

    @strawberry.field(extensions=needs(CUSTOM_FIELD.read), description=(
        "An entity's custom fields in their order, as forms show them (at most 100); with "
        "`includeRemoved` (admins) the removed ones follow."))
    async def custom_field_definitions(self, info: Info, entity: CustomFieldEntity,
                                       include_removed: bool = False
                                       ) -> list[CustomFieldType_]:
        return await info.context.read(  # type: ignore[no-any-return]
            service.custom_fields.definitions, entity.value, include_removed=include_removed)

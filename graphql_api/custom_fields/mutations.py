"""Custom field mutations: create, update, remove (soft delete) and restore from the kit, and
reordering an entity's fields."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from graphql_api.custom_fields.types import CustomFieldEntity, CustomFieldInput, CustomFieldType_
from graphql_api.kit import crud_mutations
from graphql_api.permissions import needs
from graphql_api.relay import decode_id
from modules.custom_fields import service
from modules.custom_fields.entities import CUSTOM_FIELD

CustomFieldCrudMutations = crud_mutations(service.custom_fields, CustomFieldType_,
                                          CustomFieldInput)


@strawberry.type
class CustomFieldMutations(CustomFieldCrudMutations):  # type: ignore[misc,valid-type]
    @strawberry.mutation(extensions=needs(CUSTOM_FIELD.write), description=(
        "Puts an entity's live custom fields in this order (each of them, once)."))
    async def reorder_custom_fields(
            self, info: Info, entity: CustomFieldEntity,
            ids: Annotated[list[strawberry.ID], strawberry.argument(
                description="Every live field of the entity, in the new order.")]
    ) -> list[CustomFieldType_]:
        decoded = [decode_id(i, CUSTOM_FIELD.type_name, "ids") for i in ids]
        return await info.context.write(  # type: ignore[no-any-return]
            service.custom_fields.reorder, entity.value, decoded)

"""The tenant's classification rules."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphql_api.classification.types import RulesType
from graphql_api.permissions import needs
from modules.classification import service
from tenancy.permissions import Permission


@strawberry.type
class ClassificationQueries:
    @strawberry.field(extensions=needs(Permission.CUSTOMERS_READ), description=(
        "The tenant's RFM thresholds and level rules (the defaults until an admin sets them)."))
    async def classification_rules(self, info: Info) -> RulesType:
        return RulesType.of(await info.context.read(service.rules_of))

"""Setting the tenant's classification rules; every customer is scored again in a worker."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphql_api.classification.types import ClassificationRulesInput, RulesType
from graphql_api.permissions import needs
from modules.classification import service
from tenancy.permissions import Permission


@strawberry.type
class ClassificationMutations:
    @strawberry.mutation(extensions=needs(Permission.CLASSIFICATION_MANAGE), description=(
        "Replaces the tenant's rules (audited); customers are scored by them again in the "
        "background, within a minute."))
    async def set_classification_rules(self, info: Info, input: ClassificationRulesInput
                                       ) -> RulesType:
        data = {"window_days": input.window_days, "recency_days": input.recency_days,
                "frequency": input.frequency, "monetary": [str(m) for m in input.monetary],
                "levels": [{"key": r.key, "label": r.label, "min_monetary": (str(r.min_monetary)
                                                 if r.min_monetary is not None else None),
                            "min_frequency": r.min_frequency,
                            "max_recency_days": r.max_recency_days, "min_rfm": r.min_rfm}
                           for r in input.levels]}
        return RulesType.of(await info.context.write(service.set_rules, data))

"""GraphQL types of customer classification: a customer's scores and level, and the tenant's
rules."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types import Info

from modules.classification import service
from modules.classification.rules import LevelRule, Rules
from modules.kit import registry
from tenancy.context import CallContext


@strawberry.type(name="CustomerClassification", description=(
    "What the customer's orders make of them, by the tenant's rules: RFM scores (1 to 5, 5 "
    "the best), spend and frequency levels, and the customer level. Within the rules' window "
    "unless said otherwise."))
class ClassificationType:
    level: str | None = strawberry.field(description="The first level rule that holds (A).")
    recency_score: int | None
    frequency_score: int | None
    monetary_score: int | None
    spend_level: str | None = strawberry.field(description="HIGH (M 4-5), MEDIUM (3), LOW.")
    frequency_level: str | None = strawberry.field(description="HIGH (F 4-5), MEDIUM, LOW.")
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    order_count: int = strawberry.field(description="Orders within the window.")
    monetary: Decimal = strawberry.field(description="Spent within the window.")
    lifetime_orders: int
    lifetime_monetary: Decimal
    scored_at: datetime | None

    @staticmethod
    def of(row: Any) -> ClassificationType | None:
        if row is None:
            return None
        return ClassificationType(
            level=row.level, recency_score=row.recency_score,
            frequency_score=row.frequency_score, monetary_score=row.monetary_score,
            spend_level=row.spend_level.upper() if row.spend_level else None,
            frequency_level=row.frequency_level.upper() if row.frequency_level else None,
            first_purchase_at=row.first_purchase_at, last_purchase_at=row.last_purchase_at,
            order_count=row.order_count, monetary=row.monetary,
            lifetime_orders=row.lifetime_orders, lifetime_monetary=row.lifetime_monetary,
            scored_at=row.scored_at)


def _batch(kind: str) -> Any:
    async def load(session: Any, ctx: CallContext, ids: Any) -> list[Any]:
        return await service.read(session, ctx, kind, ids)

    load.reads_only = True  # type: ignore[attr-defined]
    return load


for _kind in ("contact", "company"):
    registry.register_loader(f"{_kind}__classification", _batch(_kind))


def classification_field(kind: str) -> Any:
    """`classification: CustomerClassification` (null: no purchase known), by a per-request
    data loader: one query per batch of customers."""
    loader = f"{kind}__classification"

    async def resolve(self: Any, info: Info) -> ClassificationType | None:
        return ClassificationType.of(await getattr(info.context.loaders, loader).load(self.id))

    return strawberry.field(resolver=resolve, description=(
        "Its RFM scores and level from its order history; null before its first order."))


@strawberry.type(name="LevelRule", description=(
    "A customer level and what it takes; rules are tried in order, the first that holds "
    "gives the level, and one without conditions catches every customer who bought."))
class LevelRuleType:
    key: str
    label: str
    min_monetary: Decimal | None
    min_frequency: int | None
    max_recency_days: int | None
    min_rfm: int | None = strawberry.field(description="R + F + M, at least (3 to 15).")

    @staticmethod
    def of(r: LevelRule) -> LevelRuleType:
        return LevelRuleType(key=r.key, label=r.label, min_monetary=r.min_monetary,
                             min_frequency=r.min_frequency, max_recency_days=r.max_recency_days,
                             min_rfm=r.min_rfm)


@strawberry.type(name="ClassificationRules", description="The tenant's classification rules.")
class RulesType:
    window_days: int
    recency_days: list[int] = strawberry.field(description=(
        "4 ascending day counts: a last purchase at most [0] days ago scores R5, at most [1] "
        "R4, [2] R3, [3] R2, older R1."))
    frequency: list[int] = strawberry.field(description=(
        "4 ascending order counts within the window: at least [3] is F5, [2] F4, [1] F3, "
        "[0] F2, fewer F1."))
    monetary: list[Decimal] = strawberry.field(description=(
        "4 ascending amounts within the window: at least [3] is M5 ... below [0] M1."))
    levels: list[LevelRuleType]

    @staticmethod
    def of(r: Rules) -> RulesType:
        return RulesType(window_days=r.window_days, recency_days=list(r.recency_days),
                         frequency=list(r.frequency), monetary=list(r.monetary),
                         levels=[LevelRuleType.of(x) for x in r.levels])


@strawberry.input
class LevelRuleInput:
    key: str
    label: str | None = None
    min_monetary: Decimal | None = None
    min_frequency: int | None = None
    max_recency_days: int | None = None
    min_rfm: int | None = None


@strawberry.input(description="The whole rules: they replace the tenant's.")
class ClassificationRulesInput:
    window_days: int
    recency_days: list[int]
    frequency: list[int]
    monetary: list[Decimal]
    levels: list[LevelRuleInput]

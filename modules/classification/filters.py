"""Conditions of the customer lists on their classification (`level`, RFM scores): EXISTS
probes of `customer_metrics` by its primary key, compiled into the list's SQL like every
filter, so segments and saved views use them as any other condition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Uuid,
    any_,
    bindparam,
    exists,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from infra.errors import ValidationFailed
from modules.kit import Filter, camel
from tenancy.context import CallContext

METRICS = Table(
    "customer_metrics", MetaData(),
    Column("tenant_id", Uuid, primary_key=True),
    Column("customer_type", String, primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("level", String),
    Column("recency_score", SmallInteger),
    Column("frequency_score", SmallInteger),
    Column("monetary_score", SmallInteger),
    Column("monetary", Numeric),
)
CUSTOMER_TYPE = {"contacts": "'contact'", "companies": "'company'"}  # SQL literals, from code


def _probe(model: Any, name: str, condition: Any) -> ColumnElement[bool]:
    m = METRICS.alias(f"{name}_m")
    kind = CUSTOMER_TYPE[model.__table__.name]
    return exists(select(1).select_from(m).where(  # type: ignore[no-any-return]
        m.c.tenant_id == model.tenant_id, m.c.customer_type == literal_column(kind),
        m.c.customer_id == model.id, condition(m)))


@dataclass(frozen=True)
class LevelIn(Filter):
    """The customer's level is one of these (`["A", "B"]`)."""

    def clause(self, model: Any, name: str) -> ColumnElement[bool]:
        return _probe(model, name, lambda m: m.c.level == any_(
            bindparam(name, type_=ARRAY(String))))

    def params(self, name: str, value: Any, ctx: CallContext) -> dict[str, Any]:
        if (not isinstance(value, list) or not 1 <= len(value) <= 20
                or not all(isinstance(x, str) and 0 < len(x) <= 20 for x in value)):
            raise ValidationFailed.single(f"filter.{camel(name)}",
                                          "must be 1 to 20 level keys", "invalid")
        return {name: [x.upper() for x in value]}


@dataclass(frozen=True)
class ScoreAtLeast(Filter):
    """One RFM score is at least this (1 to 5)."""

    column: str

    def clause(self, model: Any, name: str) -> ColumnElement[bool]:
        return _probe(model, name, lambda m: m.c[self.column] >= bindparam(
            name, type_=SmallInteger))

    def params(self, name: str, value: Any, ctx: CallContext) -> dict[str, Any]:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            raise ValidationFailed.single(f"filter.{camel(name)}", "must be a score from 1 to 5",
                                          "out_of_range")
        return {name: value}


def classification_filters() -> dict[str, Filter]:
    return {"levels": LevelIn(), "min_recency_score": ScoreAtLeast("recency_score"),
            "min_frequency_score": ScoreAtLeast("frequency_score"),
            "min_monetary_score": ScoreAtLeast("monetary_score")}

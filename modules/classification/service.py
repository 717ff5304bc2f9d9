"""Classification rules and the hook the orders module feeds.

The hook (`record_order`, `forget_order`) takes what classification needs of one order, keyed
by the order's id: feeding the same order twice, or feeding it again after a change, leaves the
same facts (idempotent), and an order moved to another customer refreshes both. Each call
refreshes the customers it touches (metrics and scores) in the caller's transaction, so a
customer's level is current the moment the order commits. `recompute` does the same for every
customer of a tenant: nightly (recency and the window move with time) and after the rules
change, in a worker (`tasks.py`). Every step is one set-based statement over the facts: a
crash rolls the whole step back, and running it again gives the same result.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from psycopg.rows import namedtuple_row
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from infra.db import after_commit, fetch
from infra.errors import FieldError, NotFound, ValidationFailed
from modules.classification import rules as rules_module
from modules.classification.rules import Rules
from tenancy.audit import record_change
from tenancy.context import CallContext
from tenancy.permissions import Permission

CUSTOMER_TYPES = {"contact": "contacts", "company": "companies"}
MAX_AMOUNT = Decimal("1e16")


@dataclass(frozen=True)
class OrderFact:
    """What classification knows of one order: its customer, when it was placed, and the
    amount that counts (net of refunds; 0 for an order that does not count)."""

    order_id: uuid.UUID
    customer_type: str  # contact | company
    customer_id: uuid.UUID
    placed_at: datetime
    amount: Decimal


# -- rules ---------------------------------------------------------------------------------

async def rules_of(session: AsyncSession, ctx: CallContext) -> Rules:
    ctx.require(Permission.CUSTOMERS_READ)
    return await _rules(session, ctx)


async def _rules(session: AsyncSession, ctx: CallContext) -> Rules:
    stored = await session.scalar(text(
        "select rules from classification_rules where tenant_id = :t"), {"t": ctx.tenant_id})
    return Rules.from_json(stored) if stored else rules_module.DEFAULT


async def set_rules(session: AsyncSession, ctx: CallContext, data: dict[str, Any]) -> Rules:
    """The tenant's rules replaced (audited and evented); every customer is scored by them
    again in a worker once this commits."""
    ctx.require(Permission.CLASSIFICATION_MANAGE)
    new = rules_module.validate(data)
    old = await _rules(session, ctx)
    await session.execute(text("""
        insert into classification_rules (tenant_id, rules) values (:t, cast(:r as jsonb))
        on conflict (tenant_id) do update set rules = excluded.rules, updated_at = now()"""),
        {"t": ctx.tenant_id, "r": orjson.dumps(new.to_json()).decode()})
    await record_change(session, ctx, entity_type="classification_rules",
                        entity_id=ctx.tenant_id, action="updated", before=old.to_json(),
                        after=new.to_json())
    tenant_id = ctx.tenant_id

    async def send() -> None:
        from modules.classification.tasks import recompute_tenant

        try:
            await recompute_tenant.send_async(tenant_id)
        except Exception:  # noqa: BLE001  (committed: the nightly run scores them anyway)
            import structlog

            structlog.get_logger().warning("classification recompute not sent")

    after_commit(session, ("classification.recompute", tenant_id), send)
    return new


# -- the hook ------------------------------------------------------------------------------

def _check(fact: OrderFact) -> None:
    errors = []
    if fact.customer_type not in CUSTOMER_TYPES:
        errors.append(FieldError("customerType", "is contact or company"))
    if not fact.amount.is_finite() or fact.amount < 0 or fact.amount >= MAX_AMOUNT:
        errors.append(FieldError("amount", "must be an amount from 0 to 10^16", "out_of_range"))
    if fact.placed_at.tzinfo is None:
        errors.append(FieldError("placedAt", "must carry its time zone"))
    if errors:
        raise ValidationFailed(errors)


async def record_order(session: AsyncSession, ctx: CallContext, fact: OrderFact) -> None:
    """An order placed or changed: its fact stored (replacing what was known of it) and the
    customers it touches refreshed. For the orders module, in its own write's transaction."""
    _check(fact)
    table = CUSTOMER_TYPES[fact.customer_type]
    found = await session.scalar(text(
        f"select 1 from {table} where tenant_id = :t and id = :id"),
        {"t": ctx.tenant_id, "id": fact.customer_id})
    if not found:
        raise NotFound(f"no {fact.customer_type} with this id", field="customerId")
    previous = (await session.execute(text("""
        select customer_type, customer_id from customer_order_facts
        where tenant_id = :t and order_id = :o"""),
        {"t": ctx.tenant_id, "o": fact.order_id})).first()
    await session.execute(text("""
        insert into customer_order_facts
            (tenant_id, order_id, customer_type, customer_id, placed_at, amount)
        values (:t, :o, :ct, :c, :at, :amount)
        on conflict (tenant_id, order_id) do update set
            customer_type = excluded.customer_type, customer_id = excluded.customer_id,
            placed_at = excluded.placed_at, amount = excluded.amount, recorded_at = now()"""),
        {"t": ctx.tenant_id, "o": fact.order_id, "ct": fact.customer_type,
         "c": fact.customer_id, "at": fact.placed_at, "amount": fact.amount})
    touched = [(fact.customer_type, fact.customer_id)]
    if previous is not None and tuple(previous) != touched[0]:
        touched.append((previous.customer_type, previous.customer_id))
    await refresh(session, ctx, touched)


async def forget_order(session: AsyncSession, ctx: CallContext, order_id: uuid.UUID) -> None:
    """An order deleted or cancelled: it no longer counts (idempotent)."""
    gone = (await session.execute(text("""
        delete from customer_order_facts where tenant_id = :t and order_id = :o
        returning customer_type, customer_id"""), {"t": ctx.tenant_id, "o": order_id})).first()
    if gone is not None:
        await refresh(session, ctx, [(gone.customer_type, gone.customer_id)])


# -- metrics and scores --------------------------------------------------------------------
# `:only` false: every customer of the tenant; true: those in (:types, :ids).

_RESTRICT = """(not :only or (f.customer_type, f.customer_id) in (
    select * from unnest(cast(:types as text[]), cast(:ids as uuid[]))))"""

_SINCE = "now() - make_interval(days => cast(:{} as integer))"
_IN_WINDOW = "f.placed_at > " + _SINCE.format("window")

_METRICS_SQL = f"""
insert into customer_metrics as m
    (tenant_id, customer_type, customer_id, first_purchase_at, last_purchase_at, order_count,
     monetary, lifetime_orders, lifetime_monetary, metrics_at)
select f.tenant_id, f.customer_type, f.customer_id, min(f.placed_at), max(f.placed_at),
       count(*) filter (where {_IN_WINDOW}),
       coalesce(sum(f.amount) filter (where {_IN_WINDOW}), 0),
       count(*), sum(f.amount), now()
from customer_order_facts f
where f.tenant_id = :t and {_RESTRICT}
group by f.tenant_id, f.customer_type, f.customer_id
on conflict (tenant_id, customer_type, customer_id) do update set
    first_purchase_at = excluded.first_purchase_at, last_purchase_at = excluded.last_purchase_at,
    order_count = excluded.order_count, monetary = excluded.monetary,
    lifetime_orders = excluded.lifetime_orders, lifetime_monetary = excluded.lifetime_monetary,
    metrics_at = excluded.metrics_at"""

_ORPHANS_SQL = f"""
delete from customer_metrics f
where f.tenant_id = :t and {_RESTRICT} and not exists (
    select 1 from customer_order_facts o where o.tenant_id = f.tenant_id
    and o.customer_type = f.customer_type and o.customer_id = f.customer_id)"""


def _band(column: str, params: str, *, recency: bool = False) -> str:
    """The 1-5 score of `column` by four ascending thresholds `:<params>0..3`."""
    if recency:  # fewer days since the last purchase is better
        steps = " ".join(f"when f.last_purchase_at >= {_SINCE.format(params + str(i))} "
                         f"then {5 - i}" for i in range(4))
        return f"case when f.last_purchase_at is null then null {steps} else 1 end"
    steps = " ".join(f"when f.{column} >= :{params}{i} then {i + 2}" for i in (3, 2, 1, 0))
    return f"case {steps} else 1 end"


_SCORES_SQL = f"""
update customer_metrics f set
    recency_score = {_band("last_purchase_at", "r", recency=True)},
    frequency_score = {_band("order_count", "f")},
    monetary_score = {_band("monetary", "m")}
where f.tenant_id = :t and {_RESTRICT}"""

_LEVELS_SQL = f"""
update customer_metrics f set
    spend_level = case when f.monetary_score >= 4 then 'high'
                       when f.monetary_score = 3 then 'medium' else 'low' end,
    frequency_level = case when f.frequency_score >= 4 then 'high'
                           when f.frequency_score = 3 then 'medium' else 'low' end,
    level = (select r ->> 'key' from jsonb_array_elements(cast(:levels as jsonb))
                 with ordinality as e (r, n)
             where (r ->> 'min_monetary' is null
                    or f.monetary >= cast(r ->> 'min_monetary' as numeric))
               and (r ->> 'min_frequency' is null
                    or f.order_count >= cast(r ->> 'min_frequency' as integer))
               and (r ->> 'max_recency_days' is null or f.last_purchase_at >=
                    now() - make_interval(days => cast(r ->> 'max_recency_days' as integer)))
               and (r ->> 'min_rfm' is null or f.recency_score + f.frequency_score
                    + f.monetary_score >= cast(r ->> 'min_rfm' as integer))
             order by n limit 1),
    scored_at = now()
where f.tenant_id = :t and {_RESTRICT}"""


async def refresh(session: AsyncSession, ctx: CallContext,
                  customers: Sequence[tuple[str, uuid.UUID]] | None = None) -> int:
    """Metrics from the facts, then scores and levels by the tenant's rules: for these
    customers, or (None) every customer of the tenant. How many hold metrics afterwards."""
    rules = await _rules(session, ctx)
    params: dict[str, Any] = {
        "t": ctx.tenant_id, "only": customers is not None,
        "types": [c[0] for c in customers or ()], "ids": [c[1] for c in customers or ()],
        "window": rules.window_days,
        **{f"r{i}": d for i, d in enumerate(rules.recency_days)},
        **{f"f{i}": n for i, n in enumerate(rules.frequency)},
        **{f"m{i}": a for i, a in enumerate(rules.monetary)},
        "levels": orjson.dumps(rules.to_json()["levels"]).decode(),
    }

    def bound(sql: str) -> Any:
        names = [k for k in params if f":{k}" in sql]
        return text(sql), {k: params[k] for k in names}

    for sql in (_METRICS_SQL, _ORPHANS_SQL, _SCORES_SQL, _LEVELS_SQL):
        statement, values = bound(sql)
        await session.execute(statement, values)
    counted = await session.scalar(text(
        "select count(*) from customer_metrics where tenant_id = :t"), {"t": ctx.tenant_id})
    return int(counted or 0)


# -- reading ---------------------------------------------------------------------------------

_READ_SQL = """
select customer_id, level, recency_score, frequency_score, monetary_score, spend_level,
       frequency_level, first_purchase_at, last_purchase_at, order_count, monetary,
       lifetime_orders, lifetime_monetary, scored_at
from customer_metrics
where tenant_id = %(tenant_id)s and customer_type = %(type)s and customer_id = any(%(ids)s)"""


async def read(session: Any, ctx: CallContext, customer_type: str,
               ids: Sequence[uuid.UUID]) -> list[Any]:
    """Each customer's metrics and scores (None: no purchase known), in the order of `ids`:
    one query per batch (a data loader's). The customers themselves were read through their
    own record rule; this adds nothing a caller could not see on them."""
    rows = await fetch(session, _READ_SQL, {"tenant_id": ctx.tenant_id, "type": customer_type,
                                            "ids": list(ids)}, namedtuple_row)
    found = {r.customer_id: r for r in rows}
    return [found.get(i) for i in ids]

"""Classification in the background: a tenant's customers scored again (after its rules
change, and nightly for every tenant holding metrics: recency and the window move with time),
and the consumer of the orders module's events, which feeds the hook.

The event contract (docs/classification.md): `order.created`, `order.updated` and
`order.restored` carry the order's API form in `payload.data` with `contactId` or `companyId`
(global ids), `placedAt` (DateTime) and `total` (a decimal as text), and optionally `status`
(`cancelled` and `draft` orders do not count); `order.deleted` forgets the order.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import text

from infra.global_ids import from_global_id
from modules.classification import service
from workers.events import Event, consumer
from workers.kit import Job, actor, database
from workers.schedule import periodic

ORDER_EVENTS = frozenset({"order.created", "order.updated", "order.restored", "order.deleted"})
NOT_COUNTED = frozenset({"cancelled", "draft"})


@actor("classification.recompute", queue="classification", time_limit=timedelta(minutes=10),
       max_retries=3)
async def recompute_tenant(job: Job) -> None:
    """Every customer of the tenant: metrics from the facts, then scores and levels by the
    current rules. One transaction of set-based statements: a pure function of the facts, the
    rules and the day, so a redelivered or concurrent run writes the same values (nothing to
    keep to once), and a crash leaves the previous scores whole."""
    await service.refresh(job.session, job.ctx)


@periodic("classification.nightly", cron="0 18 * * *", time_limit=timedelta(minutes=5))
async def nightly() -> None:
    """02:00 in China: one recompute per tenant holding metrics (found through a security
    definer function: the app's role reads no other tenant's rows)."""
    async with database().scoped(None) as session:
        tenants = list(await session.scalars(text("select classification_tenants()")))
    for tenant_id in tenants:
        await recompute_tenant.send_async(tenant_id)


def order_fact(data: dict[str, Any]) -> service.OrderFact | None:
    """The fact an order event carries, or None when the order does not count (cancelled,
    draft, deleted, no customer). A malformed payload raises: the orders module broke the
    contract, which should show in worker failures rather than be skipped."""
    if data.get("deletedAt") or str(data.get("status") or "").lower() in NOT_COUNTED:
        return None
    customer = data.get("contactId") or data.get("companyId")
    if not customer:
        return None
    type_name, customer_id = from_global_id(customer)
    kind = {"Contact": "contact", "Company": "company"}[type_name]
    try:
        amount = Decimal(str(data["total"]))
    except (KeyError, InvalidOperation) as exc:
        raise ValueError("order event without a valid total") from exc
    order_type, order_id = from_global_id(data["id"])
    return service.OrderFact(order_id=order_id, customer_type=kind, customer_id=customer_id,
                             placed_at=datetime.fromisoformat(data["placedAt"]), amount=amount)


@consumer("classification", event_types=ORDER_EVENTS)
async def on_order(job: Job, event: Event) -> None:
    """Orders feed the hook: exactly once per event (the runner's marks), in order per tenant."""
    data = (event.payload or {}).get("data") or {}
    fact = None if event.event_type == "order.deleted" else order_fact(data)
    if fact is not None:
        await service.record_order(job.session, job.ctx, fact)
    elif event.aggregate_id is not None:
        await service.forget_order(job.session, job.ctx, uuid.UUID(str(event.aggregate_id)))

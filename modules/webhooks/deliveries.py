"""The delivery log: which events went (or go) to which subscription, and what happened.

Deliveries are made by the fan-out of each committed outbox event (`fan_out`, the workers'
consumer), by a test send, and set going again by redelivery; they are sent by `delivery.py`.
Reads and the manual verbs here need `webhooks:manage`; every manual verb is audited on its
subscription.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import any_, exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from infra.db import new_id
from infra.errors import NotFound
from infra.global_ids import to_global_id
from infra.pagination import Page, SortKey, apply_keyset, build_page, counted
from modules.webhooks import events, signing
from modules.webhooks.errors import SubscriptionDisabled
from modules.webhooks.models import (
    DISABLED,
    HOLD_RECHECK,
    OPEN_STATUSES,
    PENDING,
    WAITING,
    WebhookDelivery,
    WebhookSubscription,
)
from modules.webhooks.service import webhook_subscriptions
from tenancy.audit import record_change
from tenancy.context import CallContext
from tenancy.permissions import Permission

DELIVERY_SORT = SortKey("CREATED_AT_DESC", (WebhookDelivery.created_at, WebhookDelivery.id),
                        (datetime, uuid.UUID), True)
MAX_REDELIVER = 10_000  # deliveries one `redeliver_since` sets going again


def _deliveries(ctx: CallContext, filters: dict[str, Any]) -> Any:
    ctx.require(Permission.WEBHOOKS_MANAGE)
    stmt = select(WebhookDelivery).where(WebhookDelivery.tenant_id == ctx.tenant_id)
    for key in ("subscription_id", "status", "event_type"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(WebhookDelivery, key) == filters[key])
    if filters.get("since") is not None:
        stmt = stmt.where(WebhookDelivery.created_at >= filters["since"])
    if filters.get("until") is not None:
        stmt = stmt.where(WebhookDelivery.created_at < filters["until"])
    return stmt


async def list_deliveries(session: AsyncSession, ctx: CallContext, *, filters: dict[str, Any],
                          first: int, after: str | None) -> Page[WebhookDelivery]:
    """The log, newest first."""
    stmt = _deliveries(ctx, filters)
    rows = list((await session.scalars(apply_keyset(stmt, DELIVERY_SORT, after, first))).all())
    return build_page(rows, lambda r: (r.created_at, r.id), first, after)


async def count_deliveries(session: AsyncSession, ctx: CallContext, *,
                           filters: dict[str, Any]) -> int:
    return int(await session.scalar(counted(_deliveries(ctx, filters))) or 0)


async def get_delivery(session: AsyncSession, ctx: CallContext, id: uuid.UUID, *,
                       for_update: bool = False) -> WebhookDelivery:
    stmt = _deliveries(ctx, {}).where(WebhookDelivery.id == id)
    if for_update:
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None:
        raise NotFound("no webhook delivery with this id", field="id")
    return row  # type: ignore[no-any-return]


async def _sendable(session: AsyncSession, ctx: CallContext, subscription_id: uuid.UUID
                    ) -> WebhookSubscription:
    subscription = await webhook_subscriptions.live(session, ctx, subscription_id)
    if subscription.status == DISABLED:
        raise SubscriptionDisabled()
    return subscription


async def _audit(session: AsyncSession, ctx: CallContext, subscription: WebhookSubscription,
                 action: str, details: dict[str, Any]) -> None:
    """A manual verb's audit row and event, on its subscription (which it does not change)."""
    await record_change(session, ctx, entity_type="webhook_subscription",
                        entity_id=subscription.id, action=action, before=None, after=details,
                        payload={"id": to_global_id("WebhookSubscription", subscription.id),
                                 "data": details, "changed": []})


async def redeliver(session: AsyncSession, ctx: CallContext, id: uuid.UUID
                    ) -> WebhookDelivery:
    """Sends one delivery again, now (after the earlier events of its record, if any wait):
    with the same `webhook-id`, so a receiver that has it already can tell."""
    ctx.require(Permission.WEBHOOKS_MANAGE)
    delivery = await get_delivery(session, ctx, id, for_update=True)
    subscription = await _sendable(session, ctx, delivery.subscription_id)
    now = await session.scalar(select(func.now()))
    if delivery.status not in OPEN_STATUSES:
        delivery.status = PENDING
    delivery.next_attempt_at = now
    delivery.status_detail = f"redelivery requested by {ctx.actor.label}"
    await session.flush()
    await _audit(session, ctx, subscription, "redelivery_requested",
                 {"deliveryId": _gid(delivery.id), "eventType": delivery.event_type})
    return delivery


async def redeliver_since(session: AsyncSession, ctx: CallContext, subscription_id: uuid.UUID,
                          since: datetime) -> list[uuid.UUID]:
    """Sends again every delivery of the subscription made at or after `since` (at most
    10,000, oldest first, each record's events in order); the ids set going."""
    ctx.require(Permission.WEBHOOKS_MANAGE)
    subscription = await _sendable(session, ctx, subscription_id)
    chosen = (select(WebhookDelivery.id)
              .where(WebhookDelivery.tenant_id == ctx.tenant_id,
                     WebhookDelivery.subscription_id == subscription.id,
                     WebhookDelivery.created_at >= since)
              .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
              .limit(MAX_REDELIVER).scalar_subquery())
    result = await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.tenant_id == ctx.tenant_id, WebhookDelivery.id.in_(chosen))
        .values(status=PENDING, next_attempt_at=func.now(),
                status_detail=f"redelivery requested by {ctx.actor.label}")
        .returning(WebhookDelivery.id))
    ids = [r[0] for r in result]
    await _audit(session, ctx, subscription, "redelivery_requested",
                 {"since": since.isoformat(), "deliveries": len(ids)})
    return ids


async def send_test(session: AsyncSession, ctx: CallContext, subscription_id: uuid.UUID
                    ) -> WebhookDelivery:
    """A `webhook.test` event to this subscription alone, signed like any other."""
    ctx.require(Permission.WEBHOOKS_MANAGE)
    subscription = await _sendable(session, ctx, subscription_id)
    now = await session.scalar(select(func.now()))
    event_id = new_id()
    payload = {"id": _gid(subscription.id, "WebhookSubscription"),
               "data": {"message": "A test event: your endpoint receives and verifies "
                                   "webhooks."}, "changed": []}
    delivery = WebhookDelivery(
        tenant_id=ctx.tenant_id, id=new_id(), subscription_id=subscription.id,
        event_id=event_id, event_type=events.TEST_EVENT, occurred_at=now,
        ordering_key=events.ordering_key(events.TEST_EVENT, None, event_id),
        message_id=signing.message_id(subscription.id, event_id), payload=payload,
        status=PENDING, next_attempt_at=now, attempts=[])
    session.add(delivery)
    await session.flush()
    await _audit(session, ctx, subscription, "test_sent",
                 {"deliveryId": _gid(delivery.id), "eventType": events.TEST_EVENT})
    return delivery


async def due(session: AsyncSession, tenant_id: uuid.UUID, subscription_id: uuid.UUID, *,
              limit: int = 1000) -> list[uuid.UUID]:
    """The subscription's open deliveries due now, oldest event first (the sweep finds any
    beyond `limit`)."""
    return list((await session.scalars(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.tenant_id == tenant_id,
               WebhookDelivery.subscription_id == subscription_id,
               WebhookDelivery.status.in_(OPEN_STATUSES),
               WebhookDelivery.next_attempt_at <= func.now())
        .order_by(WebhookDelivery.event_id).limit(limit))).all())


def _gid(id: uuid.UUID, type_name: str = "WebhookDelivery") -> str:
    return to_global_id(type_name, id)


async def lock_record(session: AsyncSession, tenant_id: uuid.UUID, ordering_key: str) -> None:
    """Until the transaction ends, be the only one making or ending deliveries of this record
    (of this tenant). A fan-out holds a new delivery back when an earlier one of the record is
    open, and that one's end wakes its successor: taken by both, this lock means the end
    either sees the held delivery (its fan-out committed first) or the fan-out sees the
    earlier one ended (and holds nothing back). Without it, an end racing a fan-out left the
    held delivery to the sweep."""
    await session.execute(select(func.pg_advisory_xact_lock(
        func.hashtextextended(f"webhooks:{tenant_id}:{ordering_key}", 0))))


async def fan_out(session: AsyncSession, event: Any) -> list[uuid.UUID]:
    """Deliveries of one committed outbox event (`workers.events.Event`: its tenant, id, type,
    aggregate, payload and time), one per subscription that asked for its type (not deleted,
    not disabled; a paused one keeps them for later). Idempotent: an event relayed twice makes
    no second delivery. The ids of the new deliveries that may go now (an earlier open event
    of the same record holds the others back until it is done)."""
    tenant_id = event.tenant_id
    subscribed = (select(WebhookSubscription.id).where(
        WebhookSubscription.tenant_id == tenant_id,
        WebhookSubscription.deleted_at.is_(None),
        WebhookSubscription.status != DISABLED,
        literal(event.event_type) == any_(WebhookSubscription.event_types)))
    subscriptions = list((await session.scalars(subscribed)).all())
    if not subscriptions:
        return []
    key = events.ordering_key(event.aggregate_type, event.aggregate_id, event.id)
    await lock_record(session, tenant_id, key)
    rows = [{"tenant_id": tenant_id, "id": new_id(), "subscription_id": s,
             "event_id": event.id, "event_type": event.event_type,
             "occurred_at": event.occurred_at, "ordering_key": key,
             "message_id": signing.message_id(s, event.id), "payload": event.payload,
             "status": PENDING, "attempts": [], "next_attempt_at": func.now()}
            for s in subscriptions]
    # Held back: those with an earlier open delivery of the same record (sent when it is done),
    # known from the insert's own answer (its subquery sees the rows before this insert).
    earlier = aliased(WebhookDelivery)
    held_back = exists().where(
        earlier.tenant_id == tenant_id, earlier.ordering_key == key,
        earlier.subscription_id == WebhookDelivery.subscription_id,
        earlier.event_id < event.id, earlier.status.in_(OPEN_STATUSES))
    stmt = pg_insert(WebhookDelivery).values(rows).on_conflict_do_nothing(
        index_elements=["tenant_id", "subscription_id", "event_id"]).returning(
        WebhookDelivery.id, held_back)
    created = (await session.execute(stmt)).all()
    held = {d for d, waits in created if waits}
    if held:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.id.in_(held))
            .values(next_attempt_at=func.now() + HOLD_RECHECK, status_detail=WAITING))
    return [d for d, _ in created if d not in held]


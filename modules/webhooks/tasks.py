"""The webhooks' background work: the outbox consumer that makes deliveries, the actor that
attempts one, the sweep that finds due ones (retries, and any whose message was lost), and
the log's retention. See `delivery.py` for what an attempt does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import dramatiq
import httpx
from sqlalchemy import text

from modules.webhooks import deliveries, delivery
from modules.webhooks.targets import TargetPolicy
from workers.events import Event, consumer
from workers.kit import Job, actor, database, runtime
from workers.schedule import periodic

SWEEP_BATCH = 1000
# A delivery the sweep sent is not sent again by a sweep for this long (a lost message costs
# at most this much delay; a queued one is not doubled).
SWEEP_LEASE_MS = 5 * 60 * 1000
PRUNE_BATCH = 5000
# Retries due within this are sent as delayed messages; later ones are found by the sweep.
DELAYED_SEND_LIMIT = timedelta(minutes=10)

_client: httpx.AsyncClient | None = None


def _http() -> httpx.AsyncClient:
    # One per worker process, on its one event loop (no connection is kept alive: see
    # `delivery.make_client`).
    global _client
    if _client is None:
        _client = delivery.make_client()
    return _client


def _config() -> delivery.DeliveryConfig:
    settings = runtime.get_settings()
    return delivery.DeliveryConfig(
        policy=TargetPolicy(allow_private=bool(settings.webhooks_allow_private_targets)),
        timeout=settings.webhook_timeout_seconds)


# Manual verbs whose event means "deliveries of this subscription are due now": their messages
# go out through the outbox, so a committed request never lacks them.
KICKS = frozenset({"webhook_subscription.test_sent", "webhook_subscription.redelivery_requested",
                   "webhook_subscription.resumed"})


@consumer("webhooks")
async def fan_out(job: Job, event: Event) -> None:
    """Each committed event: a delivery per subscription asking for it, sent after commit;
    and for a test send, a redelivery or a resume, what it made due."""
    for delivery_id in await deliveries.fan_out(job.session, event):
        job.send_after_commit(deliver, job.tenant_id, delivery_id)
    if event.event_type in KICKS and event.aggregate_id is not None:
        for delivery_id in await deliveries.due(job.session, job.tenant_id, event.aggregate_id):
            job.send_after_commit(deliver, job.tenant_id, delivery_id)


@actor("webhooks.deliver", queue="webhooks", time_limit=timedelta(seconds=60), max_retries=5,
       max_backoff=timedelta(minutes=1))
async def deliver(job: Job, delivery_id: str) -> None:
    """One attempt of one delivery, if it is due (a doubled message does nothing). Failures
    of the endpoint are the delivery's own retries (`delivery.RETRY_DELAYS`), not this
    actor's: it is retried only for our own transient errors (the database, Redis)."""
    out = await delivery.attempt(job.session, job.tenant_id, uuid.UUID(delivery_id),
                                 client=_http(), config=_config())
    for due in out.due_now:
        job.send_after_commit(deliver, job.tenant_id, due)
    if out.retry_in is not None and out.retry_in <= DELAYED_SEND_LIMIT:
        job.send_after_commit(deliver, job.tenant_id, delivery_id,
                              delay=out.retry_in + timedelta(seconds=1))


def _sweep_every(settings: object) -> timedelta:
    return timedelta(seconds=float(getattr(settings, "webhook_sweep_seconds", 15.0)))


@periodic("webhooks.sweep", every=_sweep_every, time_limit=timedelta(seconds=60))
async def sweep() -> None:
    """Deliveries due for a while that no message has taken: retries beyond the delayed
    messages' reach, and those whose message was lost (Redis restarted, a send failed)."""
    settings = runtime.get_settings()
    grace = timedelta(seconds=2 * settings.webhook_sweep_seconds)
    async with database().scoped(None) as session:
        rows = (await session.execute(
            text("select tenant_id, id from webhook_due_deliveries(:before, :n)"),
            {"before": datetime.now(UTC) - grace, "n": SWEEP_BATCH})).all()
    broker = dramatiq.get_broker()
    client = getattr(broker, "client", None)
    namespace = getattr(broker, "namespace", "dramatiq")
    for tenant_id, delivery_id in rows:
        # Sent by a sweep lately and still due: its message is queued or running (a backlog),
        # or lost; resending it every sweep would only pile copies onto the queue.
        key = f"{namespace}:webhooks.swept:{delivery_id}"
        if client is not None and not client.set(key, b"1", nx=True, px=SWEEP_LEASE_MS):
            continue
        await deliver.send_async(tenant_id, delivery_id)


@periodic("webhooks.prune", every=timedelta(hours=1), time_limit=timedelta(minutes=5))
async def prune() -> None:
    """The delivery log keeps finished deliveries WEBHOOK_DELIVERY_RETENTION_DAYS."""
    settings = runtime.get_settings()
    cutoff = datetime.now(UTC) - timedelta(days=settings.webhook_delivery_retention_days)
    while True:
        async with database().scoped(None) as session:
            gone = await session.scalar(
                text("select webhook_prune_deliveries(:cutoff, :n)"),
                {"cutoff": cutoff, "n": PRUNE_BATCH})
        if not gone or gone < PRUNE_BATCH:
            return

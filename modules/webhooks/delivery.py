"""Sending one delivery: the attempt, its retries, the per-record order, the circuit breaker.

One attempt runs in one transaction scoped to the delivery's tenant, holding the delivery's row
(`FOR UPDATE SKIP LOCKED`: a second message for it finds it taken and does nothing). A worker
killed mid-attempt rolls the transaction back, so the delivery stays due and is attempted
again, with the same `webhook-id` (receivers de-duplicate on it): at least once, never lost.

Retries: a failed attempt (no answer within the timeout, a refused connection, a status other
than 2xx) is tried again after the delays of `RETRY_DELAYS`, each ±20 % at random (jitter, so
a receiver coming back is not hit by every retry at once): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
14 h, 20 h, 20 h: ten attempts over about three days (71.6 h), then the delivery has failed.

Order: a delivery is not sent while an earlier event of the same record (the `ordering_key`)
to the same subscription is still open (pending or retrying); it waits, and is made due when
that one ends (delivered, failed for good, or skipped).

The circuit breaker: after `BREAKER_THRESHOLD` failed attempts in a row (any deliveries) a
subscription is paused (reason `failing`): nothing is sent but one probe after a cool-down
(1 min, doubling to 1 h); the probe's success closes it (active again, what waited is due at
once). Failing for the whole retry span (three days) without one success, or one `410 Gone`,
disables the subscription and notifies the tenant's admins: an audit row and the outbox event
`webhook_subscription.disabled` (which other subscriptions may receive, and the web app shows).

What a delivery carries is read as the subscription's creator at the time of each attempt: a
record the creator may not read (another owner's contact, for a creator who sees only their
own) is not sent (`skipped`), nor anything once the creator has left the tenant or their key is
revoked.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import importlib.util
import logging
import pkgutil
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from infra.global_ids import from_global_id
from modules.kit import registry
from modules.kit import repository as kit_repository
from modules.webhooks import deliveries, events, signing, signing_secrets, targets
from modules.webhooks.models import (
    ACTIVE,
    BY_HAND,
    DISABLED,
    FAILED,
    FAILING,
    GONE,
    HOLD_RECHECK,
    OPEN_STATUSES,
    PAUSED,
    RETRYING,
    SKIPPED,
    SUCCEEDED,
    WAITING,
    WebhookDelivery,
    WebhookSubscription,
)
from modules.webhooks.service import webhook_subscriptions
from tenancy.audit import record_change
from tenancy.context import Actor, CallContext, system_context
from tenancy.models import ApiKey, Membership, Role

RETRY_DELAYS = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30),
                timedelta(hours=2), timedelta(hours=5), timedelta(hours=10),
                timedelta(hours=14), timedelta(hours=20), timedelta(hours=20))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
RETRY_SPAN = sum(RETRY_DELAYS, timedelta())
JITTER = 0.2
BREAKER_THRESHOLD = 5
BREAKER_COOLDOWN = (timedelta(minutes=1), timedelta(hours=1))  # first, longest
MAX_EXCERPT = 1024  # characters of a response body kept in the log
MAX_ATTEMPTS_KEPT = 50  # attempts kept per delivery (manual redeliveries add more)
USER_AGENT = "crm-webhooks/1"
# httpx logs each request's URL at INFO: a webhook URL's query may carry the integrator's token.
# Attempts are recorded in the delivery log instead.
logging.getLogger("httpx").setLevel(logging.WARNING)


@dataclass(frozen=True)
class DeliveryConfig:
    policy: targets.TargetPolicy = targets.STRICT
    timeout: float = 10.0


@dataclass
class Outcome:
    """What an attempt leaves for after its commit: deliveries now due (to send at once) and
    when this one is due again, if it is."""

    due_now: list[uuid.UUID] = field(default_factory=list)
    retry_in: timedelta | None = None
    sent: bool = False
    status: str | None = None


def retry_delay(attempts_made: int, rand: random.Random | None = None) -> timedelta | None:
    """The wait after the `attempts_made`-th failed attempt, jittered; None: no more."""
    if attempts_made >= MAX_ATTEMPTS:
        return None
    base = RETRY_DELAYS[attempts_made - 1]
    return base * (rand or random).uniform(1 - JITTER, 1 + JITTER)


def cooldown(probes_failed: int) -> timedelta:
    first, longest = BREAKER_COOLDOWN
    return min(first * (2 ** max(probes_failed, 0)), longest)


# -- whose eyes ------------------------------------------------------------------------------

async def creator_context(session: AsyncSession, subscription: WebhookSubscription
                          ) -> CallContext | None:
    """The subscription's creator as they are now (their role's current permissions), or
    None if they are no longer an active member, or their key is revoked or expired."""
    tenant_id = subscription.tenant_id
    if subscription.creator_user_id is not None:
        row = (await session.execute(
            select(Role.key, Role.permissions).join(
                Membership, (Membership.tenant_id == Role.tenant_id)
                & (Membership.role_id == Role.id))
            .where(Membership.tenant_id == tenant_id,
                   Membership.user_id == subscription.creator_user_id,
                   Membership.status == "active"))).first()
        if row is None:
            return None
        return CallContext(Actor("user", subscription.creator_user_id, tenant_id, row.key,
                                 frozenset(row.permissions), "webhook creator"))
    if subscription.creator_key_id is not None:
        row = (await session.execute(
            select(Role.key, Role.permissions).join(
                ApiKey, (ApiKey.tenant_id == Role.tenant_id) & (ApiKey.role_id == Role.id))
            .where(ApiKey.tenant_id == tenant_id, ApiKey.id == subscription.creator_key_id,
                   ApiKey.revoked_at.is_(None),
                   (ApiKey.expires_at.is_(None)) | (ApiKey.expires_at > func.now())))).first()
        if row is None:
            return None
        return CallContext(Actor("api_key", subscription.creator_key_id, tenant_id, row.key,
                                 frozenset(row.permissions), "webhook creator"))
    return system_context(tenant_id)


@functools.cache
def declare_every_entity() -> None:
    """Entities register when their module is imported; a worker imports only actor modules.
    The record rule of any event's entity must be known here, so import every declaration."""
    import modules

    for info in pkgutil.iter_modules(modules.__path__):
        name = f"modules.{info.name}.entities"
        if info.ispkg and importlib.util.find_spec(name):
            importlib.import_module(name)


async def readable_by(session: AsyncSession, ctx: CallContext, delivery: WebhookDelivery
                      ) -> bool:
    """Whether `ctx` may read the record the delivery's event is about: the kit's record rule
    of its entity (tenant, owner; deleted records count, an event may be their deletion)."""
    declare_every_entity()
    try:
        type_name, record_id = from_global_id(str(delivery.payload.get("id")))
    except (ValueError, UnicodeDecodeError):
        return False
    entity = registry.by_type(type_name)
    if entity is None or not ctx.can(entity.read):
        return False
    found = await kit_repository.get(session, ctx, entity, record_id, include_deleted=True)
    return found is not None


# -- one attempt -------------------------------------------------------------------------------

@dataclass
class Response:
    status: int | None = None
    latency_ms: int = 0
    excerpt: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def make_client() -> httpx.AsyncClient:
    """One per worker process. No proxies from the environment (a proxy would resolve and
    connect for us, around the address check), no redirects (a 3xx is a failed attempt), and
    no kept-alive connections: requests go to the checked address with the name in SNI, and
    httpx pools connections by address, so a connection verified for one host name would be
    reused for another name on the same address without its certificate being checked."""
    return httpx.AsyncClient(trust_env=False, follow_redirects=False,
                             limits=httpx.Limits(max_connections=100,
                                                 max_keepalive_connections=0))


async def post(client: httpx.AsyncClient, target: targets.Target, headers: dict[str, str],
               body: str, seconds: float) -> Response:
    """POST to an address the target was checked against (never resolving its name again);
    the name goes in `Host` and in TLS (SNI and the certificate's check). `seconds` bounds the
    whole attempt, connection to last byte read: httpx's own timeout bounds each read, and a
    receiver that drips a byte at a time would otherwise hold the attempt (and a worker
    thread, and the row's lock) until the actor's time limit kills it unrecorded."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(seconds):
            return await _post(client, target, headers, body, seconds)
    except TimeoutError:
        return Response(latency_ms=_ms(started),
                        error=f"no complete answer within {seconds:g} s")


async def _post(client: httpx.AsyncClient, target: targets.Target, headers: dict[str, str],
                body: str, seconds: float) -> Response:
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    is_literal = any(str(a) == target.host for a in target.addresses)
    extensions: dict[str, Any] = {}
    if target.scheme == "https" and not is_literal:
        extensions["sni_hostname"] = target.host
    sorted_addresses = sorted(target.addresses, key=lambda a: a.version)  # IPv4 first
    started = time.monotonic()
    result = Response(error="no address to connect to")
    for address in sorted_addresses:
        literal = f"[{address}]" if address.version == 6 else str(address)
        url = f"{target.scheme}://{literal}:{target.port}{target.path}"
        try:
            async with client.stream(
                    "POST", url, content=body.encode(), extensions=extensions,
                    headers={**headers, "host": host_header, "user-agent": USER_AGENT},
                    timeout=httpx.Timeout(seconds)) as response:
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_raw():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size >= MAX_EXCERPT * 4:
                        break
                text = b"".join(chunks).decode("utf-8", errors="replace")
                return Response(response.status_code, _ms(started),
                                _clean(text)[:MAX_EXCERPT] or None)
        except httpx.ConnectError as exc:
            result = Response(error=f"could not connect: {_clean(str(exc))[:200]}")
            continue  # the next address, if any
        except httpx.TimeoutException:
            return Response(latency_ms=_ms(started), error=f"no answer within {seconds:g} s")
        except httpx.HTTPError as exc:
            return Response(latency_ms=_ms(started),
                            error=f"{type(exc).__name__}: {_clean(str(exc))[:200]}")
    result.latency_ms = _ms(started)
    return result


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _clean(text: str) -> str:
    """Text PostgreSQL can store (no NUL) and a log can show."""
    return text.replace("\x00", "\ufffd")


_other = aliased(WebhookDelivery)


def _open_sibling(condition: Any) -> Any:
    """Whether an open delivery of the same record to the same subscription meets
    `condition(other)` (correlated with the delivery being attempted)."""
    return exists().where(
        _other.tenant_id == WebhookDelivery.tenant_id,
        _other.subscription_id == WebhookDelivery.subscription_id,
        _other.ordering_key == WebhookDelivery.ordering_key,
        _other.status.in_(OPEN_STATUSES), condition(_other))


async def _successor(session: AsyncSession, delivery: WebhookDelivery) -> list[uuid.UUID]:
    """The next open delivery of the same record to the same subscription, made due now."""
    nxt = (select(WebhookDelivery.id)
           .where(WebhookDelivery.tenant_id == delivery.tenant_id,
                  WebhookDelivery.subscription_id == delivery.subscription_id,
                  WebhookDelivery.ordering_key == delivery.ordering_key,
                  WebhookDelivery.event_id > delivery.event_id,
                  WebhookDelivery.status.in_(OPEN_STATUSES))
           .order_by(WebhookDelivery.event_id).limit(1).scalar_subquery())
    rows = (await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.tenant_id == delivery.tenant_id, WebhookDelivery.id == nxt)
        .values(next_attempt_at=func.now(), status_detail=None)
        .returning(WebhookDelivery.id))).all()
    return [r[0] for r in rows]


async def _disable(session: AsyncSession, subscription: WebhookSubscription, reason: str
                   ) -> None:
    """Disabled, and the tenant's admins told: the audit row and the outbox event
    `webhook_subscription.disabled`, written by the system."""
    before = webhook_subscriptions.snapshot(subscription)
    subscription.status, subscription.status_reason = DISABLED, reason
    subscription.probe_at = None
    await session.flush()
    await record_change(session, system_context(subscription.tenant_id, request_id="webhooks"),
                        entity_type="webhook_subscription", entity_id=subscription.id,
                        action="disabled", before=before,
                        after=webhook_subscriptions.snapshot(subscription))


async def _close_breaker(session: AsyncSession, subscription: WebhookSubscription,
                         now: datetime) -> None:
    was_open = subscription.status == PAUSED and subscription.status_reason == FAILING
    if subscription.failure_streak or was_open:
        subscription.failure_streak, subscription.failing_since = 0, None
        subscription.probe_at = None
        if was_open:
            subscription.status, subscription.status_reason = ACTIVE, None
            # What the open breaker held back is due now.
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.tenant_id == subscription.tenant_id,
                       WebhookDelivery.subscription_id == subscription.id,
                       WebhookDelivery.status.in_(OPEN_STATUSES),
                       WebhookDelivery.next_attempt_at > now)
                .values(next_attempt_at=now))
    if subscription.last_success_at is None or now - subscription.last_success_at > timedelta(
            minutes=1):
        subscription.last_success_at = now  # to the minute: one write a minute at most


async def _count_failure(session: AsyncSession, subscription: WebhookSubscription,
                         now: datetime) -> None:
    # Atomic: concurrent attempts to one endpoint each count.
    streak, since = (await session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.tenant_id == subscription.tenant_id,
               WebhookSubscription.id == subscription.id)
        .values(failure_streak=WebhookSubscription.failure_streak + 1,
                failing_since=func.coalesce(WebhookSubscription.failing_since, now))
        .returning(WebhookSubscription.failure_streak, WebhookSubscription.failing_since)
        .execution_options(synchronize_session=False))).one()
    await session.refresh(subscription)
    if since is not None and now - since >= RETRY_SPAN:
        await _disable(session, subscription, FAILING)
    elif streak >= BREAKER_THRESHOLD:
        if subscription.status == ACTIVE:
            before = webhook_subscriptions.snapshot(subscription)
            subscription.status, subscription.status_reason = PAUSED, FAILING
            subscription.probe_at = now + cooldown(0)
            await session.flush()
            await record_change(session, system_context(subscription.tenant_id,
                                                        request_id="webhooks"),
                                entity_type="webhook_subscription", entity_id=subscription.id,
                                action="paused", before=before,
                                after=webhook_subscriptions.snapshot(subscription))
        elif subscription.status_reason == FAILING:
            subscription.probe_at = now + cooldown(streak - BREAKER_THRESHOLD)


async def attempt(session: AsyncSession, tenant_id: uuid.UUID, delivery_id: uuid.UUID, *,
                  client: httpx.AsyncClient, config: DeliveryConfig) -> Outcome:
    """Attempt one delivery if it is due, in the caller's transaction (scoped to `tenant_id`),
    which the caller commits; then sends `Outcome.due_now`. Flushes what it changed (a unit
    of work commits the connection's transaction, not the ORM's pending changes)."""
    out = await _attempt(session, tenant_id, delivery_id, client=client, config=config)
    await session.flush()
    return out


async def _attempt(session: AsyncSession, tenant_id: uuid.UUID, delivery_id: uuid.UUID, *,
                   client: httpx.AsyncClient, config: DeliveryConfig) -> Outcome:
    out = Outcome()
    # One round trip: the delivery (locked), its subscription, the time, and whether an earlier
    # event of the same record is open (this one waits).
    found = (await session.execute(
        select(WebhookDelivery, WebhookSubscription, func.now(),
               _open_sibling(lambda other: other.event_id < WebhookDelivery.event_id))
        .join(WebhookSubscription,
              (WebhookSubscription.tenant_id == WebhookDelivery.tenant_id)
              & (WebhookSubscription.id == WebhookDelivery.subscription_id))
        .where(WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.id == delivery_id)
        .with_for_update(of=WebhookDelivery, skip_locked=True))).first()
    if found is None:
        return out  # taken by another attempt, or gone
    delivery, subscription, now, earlier = found
    if delivery.status not in OPEN_STATUSES:
        return out
    if delivery.next_attempt_at is None or delivery.next_attempt_at > now:
        return out  # not due (a stale or doubled message): the sweep knows when it is

    def hold(detail: str, until: datetime | None = None) -> Outcome:
        delivery.next_attempt_at, delivery.status_detail = until, detail
        return out

    if subscription.deleted_at is not None:
        return await _end(session, delivery, SKIPPED, "the subscription is deleted", out)
    if subscription.status == DISABLED:
        return hold("held: the subscription is disabled")
    if subscription.status == PAUSED and subscription.status_reason == BY_HAND:
        return hold("held: the subscription is paused")
    if subscription.status == PAUSED:  # the breaker is open: one probe per cool-down
        claimed = (await session.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.tenant_id == tenant_id,
                   WebhookSubscription.id == subscription.id,
                   WebhookSubscription.probe_at <= now)
            .values(probe_at=now + BREAKER_COOLDOWN[1])
            .returning(WebhookSubscription.id)
            .execution_options(synchronize_session=False))).first()
        if claimed is None:
            return hold("held: the endpoint is failing; waiting to probe it",
                        subscription.probe_at)
    if earlier:
        return hold(WAITING, now + HOLD_RECHECK)
    if delivery.event_type != events.TEST_EVENT:
        creator = await creator_context(session, subscription)
        if creator is None:
            return await _end(session, delivery, SKIPPED, "not sent: the subscription's "
                              "creator no longer has access to this tenant", out)
        if not await readable_by(session, creator, delivery):
            return await _end(session, delivery, SKIPPED, "not sent: the subscription's "
                              "creator may not read this record", out)

    if delivery.body is None:
        delivery.body = events.body(delivery.event_type, delivery.occurred_at, delivery.payload)
    keys = signing_secrets.valid(subscription, now)
    stamp = datetime.now(UTC)
    headers = signing.headers(keys, delivery.message_id, stamp, delivery.body)
    try:
        target = await targets.check(subscription.url, config.policy)
    except targets.TargetRefused as exc:
        response = Response(error=f"refused: the URL {exc}")
    else:
        response = await post(client, target, headers, delivery.body, config.timeout)
    out.sent = True

    delivery.attempt_count += 1
    delivery.last_attempt_at = now
    delivery.response_status, delivery.latency_ms = response.status, response.latency_ms
    entry = {"at": stamp.isoformat(timespec="milliseconds"), "status": response.status,
             "latencyMs": response.latency_ms, "error": response.error,
             "response": response.excerpt, "timestamp": headers["webhook-timestamp"],
             "manual": bool(delivery.status_detail and "requested" in delivery.status_detail)}
    delivery.attempts = [*delivery.attempts, entry][-MAX_ATTEMPTS_KEPT:]
    if response.ok:
        await _close_breaker(session, subscription, now)
        return await _end(session, delivery, SUCCEEDED, None, out)
    if response.status == 410:
        await _disable(session, subscription, GONE)
        return await _end(session, delivery, FAILED, "410 Gone: the endpoint asked to stop; "
                          "the subscription is disabled", out)
    await _count_failure(session, subscription, now)
    delay = retry_delay(delivery.attempt_count)
    what = f"HTTP {response.status}" if response.status is not None else response.error
    if delay is None:
        return await _end(session, delivery, FAILED, f"gave up after {delivery.attempt_count} "
                          f"attempts; the last: {what}", out)
    delivery.status, delivery.status_detail = RETRYING, f"attempt failed: {what}"
    delivery.next_attempt_at = now + delay
    out.retry_in, out.status = delay, RETRYING
    return out


async def _end(session: AsyncSession, delivery: WebhookDelivery, status: str,
               detail: str | None, out: Outcome) -> Outcome:
    delivery.status, delivery.status_detail, delivery.next_attempt_at = status, detail, None
    await session.flush()
    # Always, not only if a later event was open when the attempt began: one may have been
    # fanned out during the HTTP call. Under the record's lock, so that a fan-out still in
    # progress either commits first (and its delivery is woken here) or sees this one ended.
    await deliveries.lock_record(session, delivery.tenant_id, delivery.ordering_key)
    out.due_now += await _successor(session, delivery)
    out.status = status
    return out

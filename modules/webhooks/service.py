"""Webhook subscription rules: who may subscribe where, to what; pausing, resuming, rotating
the signing secret. Lists, lookups, soft delete and restore, audit rows and events are the
kit's, from `entities.py`; the delivery log is `deliveries.py`, sending is `delivery.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from infra.db import new_id
from infra.errors import BadRequest, ValidationFailed
from modules.kit import EntityService
from modules.webhooks import signing, signing_secrets, targets
from modules.webhooks.entities import WEBHOOK_SUBSCRIPTION
from modules.webhooks.models import (
    ACTIVE,
    BY_HAND,
    OPEN_STATUSES,
    PAUSED,
    SKIPPED,
    WebhookDelivery,
    WebhookSubscription,
)
from modules.webhooks.schemas import validate_subscription
from tenancy.context import CallContext
from tenancy.permissions import Permission

# The target policy of the write in progress (set by `create` / `update` around the kit's).
_policy: ContextVar[targets.TargetPolicy] = ContextVar("webhook_target_policy",
                                                        default=targets.STRICT)
MAX_OVERLAP_HOURS = 7 * 24


@contextmanager
def _using(policy: targets.TargetPolicy) -> Iterator[None]:
    token = _policy.set(policy)
    try:
        yield
    finally:
        _policy.reset(token)


def reveal(row: WebhookSubscription) -> WebhookSubscription:
    """Marks the row as one whose secret this answer may show (creation, rotation): the only
    way `signingSecret` is ever non-null."""
    row.revealed_secret = signing.secret_text(  # type: ignore[attr-defined]
        signing_secrets.current(row))
    return row


def without_query(url: str) -> str:
    """The URL as audit rows and events show it: its query (where integrators put tokens)
    replaced by `…`, its fragment dropped."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "…" if parts.query else "", ""))


class WebhookSubscriptionService(EntityService[WebhookSubscription]):
    entity = WEBHOOK_SUBSCRIPTION

    def snapshot(self, row: Any) -> dict[str, Any]:
        """The kit's, with the URL's query hidden: audit rows are read with `audit:read` and
        subscription events go to other receivers, neither of which may read subscriptions."""
        image = super().snapshot(row)
        if image.get("url"):
            image["url"] = without_query(image["url"])
        return image

    def validate(self, ctx: CallContext, data: dict[str, Any], *,
                 row: WebhookSubscription | None) -> dict[str, Any]:
        return validate_subscription(data, current=row, policy=_policy.get())

    async def check(self, session: AsyncSession, ctx: CallContext, values: dict[str, Any], *,
                    row: WebhookSubscription | None) -> None:
        """Where the URL points now: public addresses only, unless the policy allows others
        (checked again before each delivery)."""
        if "url" in values:
            try:
                await targets.check(values["url"], _policy.get())
            except targets.TargetRefused as exc:
                raise ValidationFailed.single("url", str(exc), exc.code) from None

    def defaults(self, ctx: CallContext) -> dict[str, Any]:
        secret, id = signing.new_secret(), new_id()  # the id: the sealed secret is bound to it
        actor = ctx.actor
        return {"id": id, "secret": signing_secrets.seal(secret, ctx.tenant_id, id),
                "secret_hint": signing.hint(secret), "status": ACTIVE,
                "failure_streak": 0,
                "creator_user_id": actor.id if actor.kind == "user" else None,
                "creator_key_id": actor.id if actor.kind == "api_key" else None}

    async def create(self, session: AsyncSession, ctx: CallContext, data: dict[str, Any], *,
                     policy: targets.TargetPolicy = targets.STRICT) -> WebhookSubscription:
        """A new subscription, its secret shown in this answer only (`reveal`)."""
        with _using(policy):
            return reveal(await super().create(session, ctx, data))

    async def update(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID,
                     data: dict[str, Any], *,
                     policy: targets.TargetPolicy = targets.STRICT) -> WebhookSubscription:
        with _using(policy):
            return await super().update(session, ctx, id, data)

    async def _set_status(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID,
                          status: str, reason: str | None, action: str) -> WebhookSubscription:
        ctx.require(Permission.WEBHOOKS_MANAGE)
        row = await self.live(session, ctx, id)
        if row.status == status and row.status_reason == reason:
            return row  # idempotent, like the kit's delete and restore
        before = self.snapshot(row)
        row.status, row.status_reason = status, reason
        if status == ACTIVE:  # a fresh start: the breaker closed, held deliveries due now
            row.failure_streak, row.failing_since, row.probe_at = 0, None, None
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.tenant_id == ctx.tenant_id,
                       WebhookDelivery.subscription_id == row.id,
                       WebhookDelivery.status.in_(OPEN_STATUSES))
                .values(next_attempt_at=func.now()))
        await session.flush()
        await self.record(session, ctx, row, action, before, self.snapshot(row))
        return row

    async def delete(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID
                     ) -> WebhookSubscription:
        """The kit's soft delete; and what it had not yet delivered is closed as skipped, so
        held deliveries (paused, disabled, waiting) do not stay open, unpruned, for ever."""
        row = await super().delete(session, ctx, id)
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.tenant_id == ctx.tenant_id,
                   WebhookDelivery.subscription_id == row.id,
                   WebhookDelivery.status.in_(OPEN_STATUSES))
            .values(status=SKIPPED, next_attempt_at=None,
                    status_detail="not sent: the subscription was deleted"))
        return row

    async def pause(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID
                    ) -> WebhookSubscription:
        """Stops sending (deliveries are kept, and sent in order on resume)."""
        return await self._set_status(session, ctx, id, PAUSED, BY_HAND, "paused")

    async def resume(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID
                     ) -> WebhookSubscription:
        """Active again, from paused (by hand or by the circuit breaker) or disabled; what
        waited is due at once."""
        return await self._set_status(session, ctx, id, ACTIVE, None, "resumed")

    async def rotate_secret(self, session: AsyncSession, ctx: CallContext, id: uuid.UUID, *,
                            overlap_hours: int = 24) -> WebhookSubscription:
        """A new secret, shown in this answer only; the old one still signs (beside the new)
        for `overlap_hours`, so receivers can switch without missing a delivery."""
        ctx.require(Permission.WEBHOOKS_MANAGE)
        if not 0 <= overlap_hours <= MAX_OVERLAP_HOURS:
            raise BadRequest(f"overlapHours must be between 0 and {MAX_OVERLAP_HOURS}",
                             field="overlapHours")
        row = await self.live(session, ctx, id)
        before = self.snapshot(row)
        now = await self._now(session)
        secret = signing.new_secret()
        row.previous_secret = signing_secrets.seal(
            signing_secrets.current(row), ctx.tenant_id, row.id, previous=True) \
            if overlap_hours else None
        row.previous_secret_expires_at = now + timedelta(hours=overlap_hours) \
            if overlap_hours else None
        row.secret = signing_secrets.seal(secret, ctx.tenant_id, row.id)
        row.secret_hint = signing.hint(secret)
        await session.flush()
        await self.record(session, ctx, row, "secret_rotated", before, self.snapshot(row))
        return reveal(row)


webhook_subscriptions = WebhookSubscriptionService()

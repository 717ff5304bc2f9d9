"""Webhook mutations: the kit's four verbs on subscriptions (create and update with the
server's target policy), pause, resume, rotate the secret, test send, redeliver. Each is
audited by its service; the deliveries a test send, a redelivery or a resume makes due go to
the workers through that audit's outbox event (`modules/webhooks/tasks.py`), so a committed
request is never without its messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.kit import input_values
from graphql_api.permissions import needs
from graphql_api.relay import decode_id
from graphql_api.webhooks.types import (
    WebhookDeliveryType,
    WebhookSubscriptionInput,
    WebhookSubscriptionType,
)
from modules.webhooks import deliveries
from modules.webhooks.entities import WEBHOOK_SUBSCRIPTION
from modules.webhooks.service import webhook_subscriptions as service
from modules.webhooks.targets import TargetPolicy
from tenancy.permissions import Permission

MANAGE = needs(Permission.WEBHOOKS_MANAGE)
TYPE = "WebhookSubscription"


def policy(info: Info) -> TargetPolicy:
    return TargetPolicy(allow_private=bool(info.context.settings.webhooks_allow_private_targets))


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(extensions=MANAGE, description=(
        "Subscribe a URL to event types; the answer's `signingSecret` is the only time the "
        "secret is shown."))
    async def create_webhook_subscription(self, info: Info, input: WebhookSubscriptionInput
                                          ) -> WebhookSubscriptionType:
        return await info.context.write(service.create,  # type: ignore[no-any-return]
                                        input_values(WEBHOOK_SUBSCRIPTION, input),
                                        policy=policy(info))

    @strawberry.mutation(extensions=MANAGE, description="Changes only the fields sent.")
    async def update_webhook_subscription(self, info: Info, id: strawberry.ID,
                                          input: WebhookSubscriptionInput
                                          ) -> WebhookSubscriptionType:
        return await info.context.write(service.update,  # type: ignore[no-any-return]
                                        decode_id(id, TYPE),
                                        input_values(WEBHOOK_SUBSCRIPTION, input),
                                        policy=policy(info))

    @strawberry.mutation(extensions=MANAGE, description=(
        "Soft delete (idempotent): nothing more is sent; `restoreWebhookSubscription` undoes "
        "it."))
    async def delete_webhook_subscription(self, info: Info, id: strawberry.ID
                                          ) -> WebhookSubscriptionType:
        return await info.context.write(service.delete,  # type: ignore[no-any-return]
                                        decode_id(id, TYPE))

    @strawberry.mutation(extensions=MANAGE, description="Undoes a soft delete (idempotent).")
    async def restore_webhook_subscription(self, info: Info, id: strawberry.ID
                                           ) -> WebhookSubscriptionType:
        return await info.context.write(service.restore,  # type: ignore[no-any-return]
                                        decode_id(id, TYPE))

    @strawberry.mutation(extensions=MANAGE, description=(
        "Stop sending (idempotent); deliveries wait, in order, until resumed."))
    async def pause_webhook_subscription(self, info: Info, id: strawberry.ID
                                         ) -> WebhookSubscriptionType:
        return await info.context.write(service.pause,  # type: ignore[no-any-return]
                                        decode_id(id, TYPE))

    @strawberry.mutation(extensions=MANAGE, description=(
        "Send again (idempotent), whether paused by hand, by the circuit breaker, or "
        "disabled; what waited is sent at once."))
    async def resume_webhook_subscription(self, info: Info, id: strawberry.ID
                                          ) -> WebhookSubscriptionType:
        return await info.context.write(service.resume,  # type: ignore[no-any-return]
                                        decode_id(id, TYPE))

    @strawberry.mutation(extensions=MANAGE, description=(
        "A new signing secret, shown in this answer only. The previous one keeps signing "
        "(a second signature) for `overlapHours` (24 by default, at most 168; 0: at once "
        "no more)."))
    async def rotate_webhook_secret(self, info: Info, id: strawberry.ID,
                                    overlap_hours: int = 24) -> WebhookSubscriptionType:
        return await info.context.write(service.rotate_secret,  # type: ignore[no-any-return]
                                        decode_id(id, TYPE), overlap_hours=overlap_hours)

    @strawberry.mutation(extensions=MANAGE, description=(
        "Send a `webhook.test` event to this subscription now."))
    async def send_test_webhook_event(self, info: Info, id: strawberry.ID
                                      ) -> WebhookDeliveryType:
        row = await info.context.write(deliveries.send_test, decode_id(id, TYPE))
        return WebhookDeliveryType(row=row)

    @strawberry.mutation(extensions=MANAGE, description=(
        "Send this delivery again now, with the same `webhook-id`."))
    async def redeliver_webhook(self, info: Info, id: strawberry.ID) -> WebhookDeliveryType:
        row = await info.context.write(deliveries.redeliver, decode_id(id, "WebhookDelivery"))
        return WebhookDeliveryType(row=row)

    @strawberry.mutation(extensions=MANAGE, description=(
        "Send again every delivery to this subscription made since `since` (at most 10,000; "
        "each record's events in order). Answers how many."))
    async def redeliver_webhooks_since(self, info: Info, subscription_id: strawberry.ID,
                                       since: datetime) -> int:
        ids: list[Any] = await info.context.write(
            deliveries.redeliver_since, decode_id(subscription_id, TYPE, "subscriptionId"),
            since)
        return len(ids)

"""Webhook queries: subscriptions (from the kit), the delivery log, the event types."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.kit import get_field, list_field
from graphql_api.permissions import needs
from graphql_api.relay import Connection, decode_id
from graphql_api.webhooks.types import (
    WebhookDeliveryFilter,
    WebhookDeliveryType,
    WebhookSubscriptionFilter,
    WebhookSubscriptionSort,
    WebhookSubscriptionType,
)
from modules.webhooks import deliveries, events
from modules.webhooks.service import webhook_subscriptions as subscription_service
from tenancy.permissions import Permission


def delivery_filters(f: WebhookDeliveryFilter | None) -> dict[str, Any]:
    if f is None:
        return {}
    values: dict[str, Any] = {k: v for k, v in vars(f).items() if v is not None}
    if "subscription_id" in values:
        values["subscription_id"] = decode_id(values["subscription_id"], "WebhookSubscription",
                                              "filter.subscriptionId")
    if "status" in values:
        values["status"] = values["status"].value
    return values


@strawberry.type
class WebhookQueries:
    webhook_subscriptions = list_field(
        subscription_service, WebhookSubscriptionType, filter=WebhookSubscriptionFilter,
        sort=WebhookSubscriptionSort, description="The tenant's webhook subscriptions.")
    webhook_subscription = get_field(subscription_service, WebhookSubscriptionType)

    @strawberry.field(extensions=needs(Permission.WEBHOOKS_MANAGE),
                      description="The event types a subscription may name.")
    def webhook_event_types(self) -> list[str]:
        return events.catalogue()

    @strawberry.field(extensions=needs(Permission.WEBHOOKS_MANAGE),
                      description="The delivery log, newest first.")
    async def webhook_deliveries(self, info: Info, first: int | None = None,
                                 after: str | None = None,
                                 filter: WebhookDeliveryFilter | None = None
                                 ) -> Connection[WebhookDeliveryType]:
        context = info.context
        size = context.page_size(first)
        filters = delivery_filters(filter)
        page = await context.read(deliveries.list_deliveries, filters=filters, first=size,
                                  after=after)
        return Connection(page=page.map(lambda row: WebhookDeliveryType(row=row),
                                        lambda d: (d.row.created_at, d.row.id)),
                          counter=lambda: context.read(deliveries.count_deliveries,
                                                       filters=filters))

    @strawberry.field(extensions=needs(Permission.WEBHOOKS_MANAGE))
    async def webhook_delivery(self, info: Info, id: strawberry.ID) -> WebhookDeliveryType:
        row = await info.context.read(deliveries.get_delivery,
                                      decode_id(id, "WebhookDelivery"))
        return WebhookDeliveryType(row=row)

"""Webhook subscriptions, declared once for the kit (`modules.kit`)."""

from __future__ import annotations

from modules.kit import Contains, Entity, Field, standard_sorts
from modules.webhooks.models import WebhookSubscription
from tenancy.permissions import Permission

WEBHOOK_SUBSCRIPTION = Entity(
    name="webhook_subscription", type_name="WebhookSubscription", model=WebhookSubscription,
    # Subscriptions send the tenant's data out: one permission for all of it, the admins'.
    read=Permission.WEBHOOKS_MANAGE, write=Permission.WEBHOOKS_MANAGE,
    delete=Permission.WEBHOOKS_MANAGE,
    sorts=standard_sorts(name=None),
    filters={"search": Contains("url")},
    fields={
        "status": Field(enum=True), "status_reason": Field(enum=True),
        "secret": Field(secret=True), "previous_secret": Field(secret=True),
        "creator_user_id": Field(reference="User"), "creator_key_id": Field(reference="ApiKey"),
    },
    label="webhook subscription",
)

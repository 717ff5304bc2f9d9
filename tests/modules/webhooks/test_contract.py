"""Webhook subscriptions run the kit's contract (tests/modules/kit/contract.py).

Only owners and admins have `webhooks:manage`, which reads, writes and deletes: the contract's
cases that need a role reading without writing skip; `tests/graphql_api/webhooks` checks that
every other role is refused everything."""

from __future__ import annotations

from modules.webhooks.entities import WEBHOOK_SUBSCRIPTION
from tests.modules.kit.contract import EntityContract


class TestWebhookSubscriptionContract(EntityContract):
    entity = WEBHOOK_SUBSCRIPTION
    list_field, get_field = "webhookSubscriptions", "webhookSubscription"
    # A public address as a literal: no DNS needed, and the test server refuses private ones.
    create = {"url": "https://93.184.215.14/hooks/crm", "eventTypes": ["contact.created"]}
    update = {"url": "https://93.184.215.14/hooks/crm-v2"}
    name_field = name_column = "description"
    unrendered_selection = "eventTypes"

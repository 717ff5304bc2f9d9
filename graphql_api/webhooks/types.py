"""GraphQL types of the webhooks domain; every field is declared, none auto-mapped (the
signing secrets above all: `signingSecret` answers only where a secret was just made)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from graphql_api.kit import node, sort_enum
from graphql_api.relay import Node, to_global_id
from modules.webhooks.entities import WEBHOOK_SUBSCRIPTION

WebhookSubscriptionSort = sort_enum(WEBHOOK_SUBSCRIPTION, "WebhookSubscriptionSort",
                                    description="Orderings of webhook subscriptions.")


@strawberry.enum(description="Whether a subscription sends.")
class WebhookSubscriptionStatus(enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"  # by hand, or by the circuit breaker (statusReason FAILING)
    DISABLED = "disabled"  # by `410 Gone`, or failing for three days: resume to send again


@strawberry.enum(description="Why a subscription is paused or disabled.")
class WebhookStatusReason(enum.Enum):
    BY_HAND = "by_hand"
    FAILING = "failing"
    GONE = "gone"


@strawberry.enum(description="Where a delivery stands.")
class WebhookDeliveryStatus(enum.Enum):
    PENDING = "pending"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


@node(WEBHOOK_SUBSCRIPTION, description=(
    "An endpoint that receives the tenant's events, signed per Standard Webhooks."))
class WebhookSubscriptionType(Node):
    url: str
    event_types: list[str]
    description: str
    secret_hint: str = strawberry.field(description=(
        "The signing secret's first characters, to tell secrets apart; never the secret."))
    previous_secret_expires_at: datetime | None = strawberry.field(description=(
        "Until then deliveries carry a second signature, made with the secret before the "
        "last rotation."))
    failure_streak: int = strawberry.field(description="Failed attempts in a row.")
    failing_since: datetime | None
    probe_at: datetime | None = strawberry.field(description=(
        "While the circuit breaker holds deliveries back: when the endpoint is tried again."))
    last_success_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None

    @strawberry.field
    def status(self) -> WebhookSubscriptionStatus:
        return WebhookSubscriptionStatus(self.status)

    @strawberry.field
    def status_reason(self) -> WebhookStatusReason | None:
        value = self.status_reason
        return WebhookStatusReason(value) if value else None

    @strawberry.field(description=(
        "The signing secret (`whsec_…`): only in the answer of the mutation that made it "
        "(create, rotateWebhookSecret); null everywhere else, for good."))
    def signing_secret(self) -> str | None:
        return getattr(self, "revealed_secret", None)


@strawberry.input(description="A subscription's fields; on update, only those sent change.")
class WebhookSubscriptionInput:
    url: str | None = strawberry.field(default=strawberry.UNSET, description=(
        "https:// (public addresses only)."))
    event_types: list[str] | None = strawberry.field(default=strawberry.UNSET, description=(
        "Event types to receive, from `webhookEventTypes`."))
    description: str | None = strawberry.UNSET


@strawberry.input(description="Narrows a subscription list; all given conditions must hold.")
class WebhookSubscriptionFilter:
    search: str | None = strawberry.field(default=None, description="Part of the URL.")
    include_deleted: bool = False
    deleted_only: bool = False


@strawberry.type(description="One attempt to send a delivery.")
class WebhookAttempt:
    at: datetime
    http_status: int | None
    latency_ms: int | None
    error: str | None
    response_excerpt: str | None = strawberry.field(description="The first 1,024 characters.")
    webhook_timestamp: str | None
    manual: bool


@strawberry.type(name="WebhookDelivery", description=(
    "One event to one subscription: what was (or will be) sent, and every attempt."))
class WebhookDeliveryType:
    row: strawberry.Private[Any]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("WebhookDelivery", self.row.id))

    @strawberry.field
    def subscription_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("WebhookSubscription", self.row.subscription_id))

    @strawberry.field
    def event_type(self) -> str:
        return self.row.event_type  # type: ignore[no-any-return]

    @strawberry.field(description="`webhook-id`: the same for every attempt.")
    def message_id(self) -> str:
        return self.row.message_id  # type: ignore[no-any-return]

    @strawberry.field
    def status(self) -> WebhookDeliveryStatus:
        return WebhookDeliveryStatus(self.row.status)

    @strawberry.field
    def status_detail(self) -> str | None:
        return self.row.status_detail  # type: ignore[no-any-return]

    @strawberry.field
    def occurred_at(self) -> datetime:
        return self.row.occurred_at  # type: ignore[no-any-return]

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at  # type: ignore[no-any-return]

    @strawberry.field
    def attempt_count(self) -> int:
        return self.row.attempt_count  # type: ignore[no-any-return]

    @strawberry.field
    def next_attempt_at(self) -> datetime | None:
        return self.row.next_attempt_at  # type: ignore[no-any-return]

    @strawberry.field
    def last_attempt_at(self) -> datetime | None:
        return self.row.last_attempt_at  # type: ignore[no-any-return]

    @strawberry.field
    def response_status(self) -> int | None:
        return self.row.response_status  # type: ignore[no-any-return]

    @strawberry.field
    def latency_ms(self) -> int | None:
        return self.row.latency_ms  # type: ignore[no-any-return]

    @strawberry.field(description="The event as the outbox holds it: `{id, data, changed}`.")
    def payload(self) -> JSON:
        return self.row.payload  # type: ignore[no-any-return]

    @strawberry.field(description=(
        "The request body as sent (fixed by the first attempt); null before it."))
    def request_body(self) -> str | None:
        return self.row.body  # type: ignore[no-any-return]

    @strawberry.field(description=(
        "The request's headers but the signature (sent, but of no use to read): "
        "`webhook-timestamp` is the last attempt's."))
    def request_headers(self) -> JSON:
        attempts = self.row.attempts or []
        headers = {"content-type": "application/json", "webhook-id": self.row.message_id}
        if attempts and attempts[-1].get("timestamp"):
            headers["webhook-timestamp"] = attempts[-1]["timestamp"]
        return headers  # type: ignore[return-value]

    @strawberry.field
    def attempts(self) -> list[WebhookAttempt]:
        return [WebhookAttempt(at=datetime.fromisoformat(a["at"]), http_status=a.get("status"),
                               latency_ms=a.get("latencyMs"), error=a.get("error"),
                               response_excerpt=a.get("response"),
                               webhook_timestamp=a.get("timestamp"),
                               manual=bool(a.get("manual")))
                for a in self.row.attempts or []]


@strawberry.input(description="Narrows the delivery log; all given conditions must hold.")
class WebhookDeliveryFilter:
    subscription_id: strawberry.ID | None = None
    status: WebhookDeliveryStatus | None = None
    event_type: str | None = None
    since: datetime | None = strawberry.field(default=None, description="Made at or after.")
    until: datetime | None = strawberry.field(default=None, description="Made before.")

"""GraphQL types of the workers' status panel; every field declared."""

from __future__ import annotations

from datetime import datetime

import strawberry

from graphql_api.relay import to_global_id
from workers.models import WorkerFailure


@strawberry.type(description="A queue of the background workers (shared by every tenant).")
class QueueStatus:
    name: str
    ready: int = strawberry.field(description="Messages waiting for a worker.")
    in_progress: int = strawberry.field(description="Taken by a worker, not yet finished.")
    delayed: int = strawberry.field(description="Waiting for their time (retries, delays).")
    dead: int = strawberry.field(
        description="Dead letters: retries exhausted, or an error not worth retrying.")


@strawberry.type(name="WorkerFailure",
                 description="A failed attempt of a background job or event consumer.")
class WorkerFailureType:
    occurred_at: datetime
    name: str = strawberry.field(description="The job (`outbox.relay`) or the consumer "
                                             "(`consumer:webhooks`).")
    attempt: int
    error_type: str
    error: str = strawberry.field(description="The error's message, secrets redacted.")

    @strawberry.field
    def id(self) -> strawberry.ID:
        failure: WorkerFailure = self  # type: ignore[assignment]
        return strawberry.ID(to_global_id("WorkerFailure", failure.id))

    @strawberry.field(description="The event being consumed, when a consumer failed.")
    def event_id(self) -> strawberry.ID | None:
        failure: WorkerFailure = self  # type: ignore[assignment]
        if failure.event_id is None:
            return None
        return strawberry.ID(to_global_id("Event", failure.event_id))


@strawberry.type(description="The background workers as this tenant's administrators see them.")
class WorkerStatus:
    broker_reachable: bool = strawberry.field(description="False when Redis does not answer.")
    workers_online: int = strawberry.field(
        description="Worker processes with a recent heartbeat.")
    queues: list[QueueStatus]
    pending_events: int = strawberry.field(
        description="This tenant's events not yet relayed to every consumer.")
    oldest_pending_event_at: datetime | None
    checked_at: datetime

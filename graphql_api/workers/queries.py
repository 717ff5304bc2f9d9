"""The workers' status panel: queues, this tenant's backlog and recent failures."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry.types import Info

from graphql_api.permissions import needs
from graphql_api.relay import Connection
from graphql_api.workers.types import QueueStatus, WorkerFailureType, WorkerStatus
from workers import status


@strawberry.type
class WorkerQueries:
    @strawberry.field(extensions=needs(status.STATUS_PERMISSION),
                      description="Queue depths and this tenant's backlog, for administrators.")
    async def worker_status(self, info: Info) -> WorkerStatus:
        context = info.context
        backlog = await context.read(status.tenant_backlog)
        redis = context.throttle.redis if context.throttle is not None else None
        broker = await status.broker_status(redis, context.settings)
        return WorkerStatus(
            broker_reachable=broker.reachable, workers_online=broker.workers_online,
            queues=[QueueStatus(name=q.name, ready=q.ready, in_progress=q.in_progress,
                                delayed=q.delayed, dead=q.dead) for q in broker.queues],
            pending_events=backlog.pending_events,
            oldest_pending_event_at=backlog.oldest_pending_at, checked_at=datetime.now(UTC))

    @strawberry.field(extensions=needs(status.STATUS_PERMISSION),
                      description="This tenant's failed job and consumer attempts, newest first.")
    async def worker_failures(self, info: Info, first: int | None = None,
                              after: str | None = None) -> Connection[WorkerFailureType]:
        context = info.context
        page = await context.read(status.recent_failures, first=context.page_size(first),
                                  after=after)
        return Connection(page=page, counter=lambda: context.read(status.count_failures))

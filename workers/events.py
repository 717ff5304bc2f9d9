"""Consumers of the outbox: `@consumer("webhooks")` on `async def handle(job, event)`.

The relay (`workers.outbox`) hands every committed event to every registered consumer at least
once, in the order of the events' ids within a tenant. The consumer runner writes
`consumed_events (tenant_id, event_id, consumer)` in the same transaction as the handler's
effects, inside a savepoint of its own: an event the consumer has had is skipped, and a handler
that fails leaves none of its effects nor its mark, so each consumer's effects happen exactly
once. A handler's follow-up messages (`job.send_after_commit`) are sent after that commit.

A handler should be short database work (write rows, decide what to do) and leave slow work
(HTTP calls) to actors it sends after commit. It is retried on the relay's next pass when it
raises, and given up after CONSUMER_MAX_ATTEMPTS (each attempt is in `worker_failures`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workers.kit import Job

Handler = Callable[[Job, "Event"], Awaitable[None]]
_NAME = re.compile(r"^[a-z][a-z0-9_.]{0,99}$")


@dataclass(frozen=True)
class Event:
    """One outbox row, as consumers receive it. `payload` is what `events(…)` shows:
    `{id, data, changed}` in the API's form (global ids, camelCase)."""

    tenant_id: uuid.UUID
    id: uuid.UUID
    event_type: str  # `contact.created`, `company.updated`, …
    aggregate_type: str  # `contact`
    aggregate_id: uuid.UUID | None
    payload: dict[str, Any]
    occurred_at: datetime
    request_id: str | None = None


@dataclass(frozen=True)
class Consumer:
    name: str
    handle: Handler
    event_types: frozenset[str] | None  # None: every event


CONSUMERS: dict[str, Consumer] = {}


def consumer(name: str, *, event_types: set[str] | frozenset[str] | None = None
             ) -> Callable[[Handler], Handler]:
    """Register `handle(job, event)` as the consumer `name` (stable: it keys the consumer's
    de-duplication rows). `event_types` limits it to those types; events of other types count
    as had without calling it."""
    if not _NAME.match(name):
        raise ValueError(f"consumer names are short, lower-case: {name!r}")

    def register(handle: Handler) -> Handler:
        if name in CONSUMERS:
            raise ValueError(f"consumer {name!r} is registered twice")
        CONSUMERS[name] = Consumer(name, handle,
                                   frozenset(event_types) if event_types is not None else None)
        return handle

    return register

"""A consumer for the tests: one row per event it has, in the same transaction as its mark.

Loaded into test workers by WORKER_IMPORTS (tests/workers/harness.py); its table is made by the
harness. Counting its rows counts the consumer's effects: exactly one per event is the goal.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta

from sqlalchemy import text

from workers.events import Event, consumer
from workers.kit import Job, actor

TABLE = "test_consumer_effects"
CREATE = f"""
create table if not exists {TABLE} (
    tenant_id uuid not null,
    event_id uuid not null,
    event_type text not null,
    at timestamptz not null default clock_timestamp()
);
alter table {TABLE} enable row level security;
alter table {TABLE} force row level security;
drop policy if exists tenant_isolation on {TABLE};
create policy tenant_isolation on {TABLE} using (tenant_id = app_tenant_id())
    with check (tenant_id = app_tenant_id());
"""


# A little work per event (TEST_EFFECTS_DELAY seconds), so that a worker killed during a
# stream is killed in the middle of a batch.
DELAY = float(os.environ.get("TEST_EFFECTS_DELAY", "0"))


@consumer("test_effects")
async def record(job: Job, event: Event) -> None:
    if DELAY:
        await asyncio.sleep(DELAY)
    await job.session.execute(
        text(f"insert into {TABLE} (tenant_id, event_id, event_type) values (:t, :e, :y)"),
        {"t": event.tenant_id, "e": event.id, "y": event.event_type})


# Actors for the tests of the kit (tests/workers/test_kit.py), with their effects in the same
# table under event types of their own.
async def _effect(job: Job, kind: str) -> None:
    await job.session.execute(
        text(f"insert into {TABLE} (tenant_id, event_id, event_type) values (:t, :e, :y)"),
        {"t": job.tenant_id, "e": uuid.uuid4(), "y": kind})


@actor("tests.touch", time_limit=timedelta(seconds=30), max_retries=0)
async def touch(job: Job, key: str) -> None:
    """Once per key, whatever the messages: an effect, then a follow-up after commit."""
    if await job.once(key):
        await _effect(job, f"touch:{key}:{job.ctx.actor.kind}")
        job.send_after_commit(touched, job.tenant_id, key)


@actor("tests.touched", time_limit=timedelta(seconds=30), max_retries=0)
async def touched(job: Job, key: str) -> None:
    await _effect(job, f"touched:{key}")


@actor("tests.fail", time_limit=timedelta(seconds=30), max_retries=3)
async def fail(job: Job, key: str) -> None:
    """Bad data, not worth retrying: straight to the dead letters, recorded without the
    secret its message holds."""
    raise ValueError(f"cannot parse row {key}: Authorization: Bearer crm_{'0' * 32}_{key}tok")

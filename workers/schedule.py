"""Periodic jobs: `@periodic("outbox.sweep", every=timedelta(seconds=30))` on `async def fn()`.

A periodic job is a platform actor (not tenant-scoped: it finds its tenants itself, through the
narrow functions of migration 0004) that `crm scheduler` sends at each fire time; the work runs
on the workers. Fire times come from APScheduler's triggers (intervals aligned to the epoch,
or cron expressions in UTC), so every scheduler host computes the same ones; before sending, a
scheduler takes a Redis key named after the job and the fire time (`SET NX` with an expiry),
so with schedulers on several hosts each fire time is sent once.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from infra.settings import Settings
from workers.kit import ActorFn, Task, actor, send

log = structlog.get_logger("scheduler")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # intervals count from here on every host

Every = timedelta | Callable[[Settings], timedelta]


@dataclass(frozen=True)
class Periodic:
    name: str
    task: Task
    every: Every | None
    cron: str | None

    def trigger(self, settings: Settings) -> BaseTrigger:
        if self.cron is not None:
            return CronTrigger.from_crontab(self.cron, timezone=UTC)
        every = self.every(settings) if callable(self.every) else self.every
        assert every is not None
        return IntervalTrigger(seconds=max(every.total_seconds(), 0.1), start_date=EPOCH,
                               timezone=UTC)

    def period(self, settings: Settings) -> timedelta:
        if self.cron is not None:
            return timedelta(minutes=1)  # cron's finest grain
        every = self.every(settings) if callable(self.every) else self.every
        assert every is not None
        return every


PERIODIC: dict[str, Periodic] = {}


def periodic(name: str, *, every: Every | None = None, cron: str | None = None,
             time_limit: timedelta, max_retries: int = 0, queue: str = "default"
             ) -> Callable[[ActorFn], Task]:
    """Declare a periodic job: `every` (a timedelta, or a function of the settings) or `cron`
    (five fields, UTC). Each run is one message; a run that fails is not retried unless
    `max_retries` says so (the next run comes anyway). A message older than one period is
    dropped rather than run late."""
    if (every is None) == (cron is None):
        raise ValueError("give a periodic job either `every` or `cron`")
    if cron is not None:
        CronTrigger.from_crontab(cron)  # refuses a bad expression at import
    max_age = every if isinstance(every, timedelta) else None

    def declare(fn: ActorFn) -> Task:
        task = actor(name, time_limit=time_limit, max_retries=max_retries, queue=queue,
                     tenant=False, max_age=max_age)(fn)
        PERIODIC[name] = Periodic(name, task, every, cron)
        return task

    return declare


class Firing:
    """What one scheduler process does at a fire time: take the slot's key, then send."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self.settings = settings
        self.client = client
        self.me = f"{socket.gethostname()}:{os.getpid()}"

    def slot(self, job: Periodic, trigger: BaseTrigger, now: datetime) -> datetime:
        """The fire time this run is for: the trigger's, within half a period of now (so a
        scheduler a little late agrees with one on time)."""
        grace = min(job.period(self.settings) / 2, timedelta(seconds=30))
        found = trigger.get_next_fire_time(None, now - grace)
        return found or now

    def __call__(self, job: Periodic, trigger: BaseTrigger) -> bool:
        slot = self.slot(job, trigger, datetime.now(UTC))
        key = f"{self.settings.redis_key_prefix}scheduler:{job.name}:{slot.timestamp():.3f}"
        expiry = max(job.period(self.settings) * 2, timedelta(minutes=2))
        try:
            if not self.client.set(key, self.me, nx=True, px=int(expiry.total_seconds() * 1000)):
                return False  # another scheduler sent this one
            send(job.task.message())
        except redis.RedisError as error:
            log.warning("periodic job not sent", job=job.name, error=type(error).__name__)
            return False
        return True


def build_scheduler(settings: Settings, redis_url: str) -> BackgroundScheduler:
    """The scheduler of every declared periodic job (import their modules first), on a thread
    of its own: the caller's main thread waits for a stop signal. (Run in the main thread,
    APScheduler's loop catches every exception while it submits a job, so the SystemExit a
    SIGTERM handler raises there was swallowed and the scheduler ran on.)"""
    # APScheduler logs every run at INFO: once a second with tests' sweeps. Failures still show.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=5, socket_timeout=10)
    firing = Firing(settings, client)
    scheduler = BackgroundScheduler(timezone=UTC, daemon=True)
    for job in PERIODIC.values():
        trigger = job.trigger(settings)
        grace = max(int(job.period(settings).total_seconds() / 2), 1)
        scheduler.add_job(firing, trigger, args=(job, trigger), id=job.name, name=job.name,
                          coalesce=True, max_instances=1, misfire_grace_time=grace)
    return scheduler


def describe(settings: Settings) -> list[dict[str, Any]]:
    return [{"name": job.name, "cron": job.cron,
             "every": None if job.cron else job.period(settings).total_seconds()}
            for job in PERIODIC.values()]

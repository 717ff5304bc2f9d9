"""Background work on Dramatiq over Redis: actors, outbox consumers, periodic jobs.

How to write each: docs/workers.md. The pieces:

broker    Dramatiq's Redis broker from the settings (key prefix, middleware, heartbeats)
kit       `@actor("area.verb", time_limit=…, max_retries=…)`, `Job`, `RetryLater`
events    `@consumer("name")` on `async def handle(job, event)`; `Event`
schedule  `@periodic("area.verb", every=…)` or `cron=…`, run by `crm scheduler`
outbox    the relay of committed events to consumers, its sweep, retention
status    queue depths and failures for the status panel
entry     what `crm worker` runs (`dramatiq workers.entry`): the broker and every actor module

Actor modules are found, not listed: every module of this package, every
`modules/<domain>/tasks.py`, and the modules named in WORKER_IMPORTS.
"""

from __future__ import annotations

import importlib
import pkgutil

from infra.settings import Settings
from workers.broker import build_broker, configure_broker, redis_namespace
from workers.events import CONSUMERS, Consumer, Event, consumer
from workers.kit import TASKS, FollowUp, Job, RetryLater, Task, actor, bind_all, database
from workers.schedule import PERIODIC, periodic

# The machinery; every other module of this package holds actors, consumers or periodic jobs.
_MACHINERY = {"broker", "kit", "events", "schedule", "models", "entry", "status"}


def load_actor_modules(settings: Settings) -> list[str]:
    """Import every module that declares actors, consumers or periodic jobs; their names."""
    import modules
    import workers

    names = [f"workers.{info.name}" for info in pkgutil.iter_modules(workers.__path__)
             if info.name not in _MACHINERY]
    for info in pkgutil.iter_modules(modules.__path__):
        if info.ispkg and importlib.util.find_spec(f"modules.{info.name}.tasks"):
            names.append(f"modules.{info.name}.tasks")
    names += [n.strip() for n in settings.worker_imports.split(",") if n.strip()]
    for name in names:
        importlib.import_module(name)
    return names


__all__ = [
    "CONSUMERS", "PERIODIC", "TASKS", "Consumer", "Event", "FollowUp", "Job", "RetryLater",
    "Task", "actor", "bind_all", "build_broker", "configure_broker", "consumer", "database",
    "load_actor_modules", "periodic", "redis_namespace",
]

"""What each worker process imports (`python -m dramatiq workers.entry`): the settings' broker
and every actor module, declared on it. `crm worker` runs it; so does `crm dev`."""

from __future__ import annotations

import multiprocessing
import signal
import sys

from infra.logging import configure_logging
from infra.settings import get_settings
from workers import bind_all, configure_broker, load_actor_modules
from workers.kit import runtime
from workers.outbox import relay_from_this_process

if multiprocessing.parent_process() is not None and sys.platform.startswith("linux"):
    # A worker process Dramatiq forked: stop if its main process dies (SIGKILL, OOM) rather
    # than run on unsupervised; its unacknowledged messages go back to the queue.
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

settings = get_settings()
configure_logging(settings.log_level, json=settings.log_json)
if not settings.redis_url:
    raise SystemExit("workers need REDIS_URL: `crm worker` sets it (embedded Redis included)")
broker = configure_broker(settings, settings.redis_url)
runtime.configure(settings)
load_actor_modules(settings)
bind_all(broker)
relay_from_this_process(broker)

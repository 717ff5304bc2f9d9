"""What each worker process imports (`python -m dramatiq workers.entry`): the settings' broker
and every actor module, declared on it. `crm worker` runs it; so does `crm dev`."""

from __future__ import annotations

from infra.logging import configure_logging
from infra.settings import get_settings
from workers import bind_all, configure_broker, load_actor_modules
from workers.kit import runtime
from workers.outbox import relay_from_this_process

settings = get_settings()
configure_logging(settings.log_level, json=settings.log_json)
if not settings.redis_url:
    raise SystemExit("workers need REDIS_URL: `crm worker` sets it (embedded Redis included)")
broker = configure_broker(settings, settings.redis_url)
runtime.configure(settings)
load_actor_modules(settings)
bind_all(broker)
relay_from_this_process(broker)

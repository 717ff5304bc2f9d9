"""Dramatiq's Redis broker, configured from the settings: one place decides the middleware.

- Keys live under `REDIS_KEY_PREFIX` + `dramatiq` (several deployments or test runs can share a
  Redis, as the login throttle's keys do).
- Middleware, on purpose: `AgeLimit` (a message older than its actor's `max_age` is dropped: the
  sweeps resend what matters), `TimeLimit` (an actor's `time_limit`, required by
  `workers.kit.actor`), `ShutdownNotifications`, `Retries` (exponential backoff; whether an
  error is retried is the actor's `retry_when`: transient errors only, see `workers.kit`),
  `AsyncIO` (our database layer is async: each worker process runs one event loop thread, and
  `async def` actors run on it), `CurrentMessage` (the message id, an idempotency key).
  `Callbacks` and `Pipelines` are left out: follow-up work is
  sent after commit by the kit instead, where a rolled-back effect sends nothing.
- Heartbeats: a worker that dies (SIGKILL, OOM) holds its prefetched messages until it has
  missed heartbeats for `WORKER_HEARTBEAT_TIMEOUT_MS` and a broker command draws the
  maintenance chance; then they go back on their queue (without counting a retry).
"""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    AsyncIO,
    CurrentMessage,
    Middleware,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from infra.settings import Settings


def redis_namespace(settings: Settings) -> str:
    return f"{settings.redis_key_prefix}dramatiq"


def build_broker(settings: Settings, redis_url: str) -> RedisBroker:
    """A broker on `redis_url` (the embedded Redis's `unix://` URL, or REDIS_URL)."""
    client = redis.Redis.from_url(
        redis_url,
        # A Redis that does not answer must not hang a request's after-commit trigger or a
        # worker: fail fast, the outbox sweep resends.
        socket_connect_timeout=5, socket_timeout=30, health_check_interval=30)
    middleware: list[Middleware] = [
        AgeLimit(), TimeLimit(), ShutdownNotifications(), Retries(), AsyncIO(),
        CurrentMessage()]
    return RedisBroker(client=client, middleware=middleware,
                       namespace=redis_namespace(settings),
                       heartbeat_timeout=settings.worker_heartbeat_timeout_ms,
                       maintenance_chance=settings.worker_maintenance_chance,
                       dead_message_ttl=settings.worker_dead_message_ttl_ms)


def configure_broker(settings: Settings, redis_url: str) -> RedisBroker:
    """Build the broker and make it the process's (`dramatiq.get_broker()`), which the worker
    command consumes from and `Task.send` sends through."""
    broker = build_broker(settings, redis_url)
    dramatiq.set_broker(broker)
    return broker

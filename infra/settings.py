"""Typed settings read from the environment (and an optional `.env` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET_KEY = "dev-insecure-secret-key-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Owner connection: runs migrations and platform-operator commands. Unset: embedded server.
    database_url: str | None = None
    # Application connection: a role that owns nothing and cannot bypass RLS. Unset: derived from
    # DATABASE_URL with the user swapped for APP_DB_ROLE / APP_DB_PASSWORD.
    app_database_url: str | None = None
    app_db_role: str = "crm_app"
    app_db_password: str = "crm_app"
    redis_url: str | None = None
    redis_key_prefix: str = "crm:"  # every key this deployment writes; lets several share a Redis
    data_dir: Path = Path(".crm")

    env: Literal["development", "production", "test"] = "development"
    secret_key: str = DEVELOPMENT_SECRET_KEY
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "INFO"
    # JSON log lines; unset: JSON in production, readable text elsewhere (infra/logging.py).
    log_json: bool | None = None  # a bool once validated

    db_pool_size: int = 10
    db_pool_overflow: int = 5
    db_read_pool_size: int = 10  # the read lane's autocommit connections (infra/read_pool.py)
    max_page_size: int = 100
    default_page_size: int = 20
    session_max_age_seconds: int = 14 * 24 * 3600
    # Failed logins allowed per email and per client address within the window (tenancy/throttle).
    login_max_failures_per_email: int = 10
    login_max_failures_per_address: int = 100
    login_failure_window_seconds: int = 900
    cookie_secure: bool = Field(default=False, description="Secure flag on the session cookie")

    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 4000
    graphql_max_fields: int = 1000  # field selections, fragments expanded
    graphql_max_body_bytes: int = 1_000_000  # a request body; files come by upload, not here
    graphql_compiled_plans: bool = True  # see graphql_api/compiled.py
    api_key_cache_seconds: float = 5.0  # see tenancy.auth.ApiKeyCache; 0 turns it off
    # Light pages' first frames drawn by the server (infra/ssr.py): a Node process per server
    # process; a render slower than this many ms is not waited for (the app draws the page).
    first_frames: bool = True
    first_frame_timeout_ms: int = 500

    # Background work (workers/, docs/workers.md). Dramatiq's Redis broker gives a dead
    # worker's unacknowledged messages back once it has missed heartbeats this long, when a
    # broker command draws the maintenance chance (per million commands).
    worker_processes: int = 1  # `crm worker` processes (each with WORKER_THREADS threads)
    worker_threads: int = 4
    worker_poll_ms: int = 100  # an idle worker looks at its queues at most this often
    worker_heartbeat_timeout_ms: int = 60_000
    worker_maintenance_chance: int = 1000
    worker_dead_message_ttl_ms: int = 7 * 24 * 3600 * 1000  # how long dead letters are kept
    worker_imports: str = ""  # more actor/consumer modules to load, comma-separated
    # The outbox: relayed after each commit, swept for anything older than the grace period
    # every OUTBOX_SWEEP_SECONDS (Redis down at commit, a worker killed), kept
    # OUTBOX_RETENTION_DAYS once published.
    outbox_sweep_seconds: float = 30.0
    outbox_sweep_grace_seconds: float = 10.0
    outbox_relay_batch: int = 200
    outbox_retention_days: float = 7.0
    consumer_max_attempts: int = 5  # a consumer failing an event this often gives it up
    consumer_timeout_seconds: float = 30.0  # one handler call on one event
    consumer_retry_seconds: float = 10.0  # first wait after a failure; x4 each time, max 1 h
    retention_sweep_seconds: float = 600.0
    retention_batch: int = 5000  # rows deleted per statement by the retention job
    worker_failures_retention_days: float = 30.0

    # Webhooks (modules/webhooks). Targets on private, loopback or link-local addresses, and
    # plain http, are refused unless allowed; unset: allowed only with ENV=development.
    webhooks_allow_private_targets: bool | None = None  # a bool once validated
    webhook_timeout_seconds: float = 10.0  # one attempt, connection to last byte
    webhook_delivery_retention_days: float = 30.0  # the delivery log, once a delivery is done
    webhook_sweep_seconds: float = 15.0  # how often due deliveries (retries) are looked for

    # Custom fields (modules/custom_fields): a removed field's values stay restorable this
    # long (at least a day, whatever is set), then the hourly purge deletes them.
    custom_field_retention_days: float = 30.0

    # Sensitive data at rest (infra/crypto.py): `id:base64key` pairs, comma-separated, the
    # first seals and all open (rotation: put a new key first, run `crm pii rotate`, then drop
    # the old); and the key of the blind indexes (equality lookups), never rotated in place.
    # Unset outside production: a key file generated once in DATA_DIR.
    pii_keys: str | None = Field(default=None, repr=False)
    pii_index_key: str | None = Field(default=None, repr=False)
    pii_rotation_batch: int = 500  # rows re-sealed per transaction by `pii.rotate`

    @model_validator(mode="after")
    def _json_logs_in_production(self) -> Settings:
        if self.log_json is None:
            self.log_json = self.env == "production"
        return self

    @model_validator(mode="after")
    def _private_webhook_targets_in_development(self) -> Settings:
        if self.webhooks_allow_private_targets is None:
            self.webhooks_allow_private_targets = self.env == "development"
        return self

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if self.env == "production" and (self.secret_key == DEVELOPMENT_SECRET_KEY
                                         or len(self.secret_key) < 32):
            raise ValueError("ENV=production needs SECRET_KEY set: at least 32 random "
                             "characters (e.g. `python -c 'import secrets; "
                             "print(secrets.token_urlsafe(48))'`)")
        return self

    @property
    def is_production(self) -> bool:
        return self.env == "production"


@lru_cache
def get_settings() -> Settings:
    return Settings()

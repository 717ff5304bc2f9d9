"""ASGI entry point for server processes: `uvicorn --factory infra.asgi:create`.

Reads the servers from the environment; `crm serve` and `crm dev` start embedded ones first when
they are unset and pass their URLs down.
"""

from __future__ import annotations

import gc

from starlette.types import ASGIApp

from infra.app import create_app
from infra.embedded import derive_app_url, normalise_db_url
from infra.logging import configure_logging
from infra.settings import Settings


def create() -> ASGIApp:
    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError("DATABASE_URL and REDIS_URL must be set (crm serve sets them)")
    owner = normalise_db_url(settings.database_url)
    app_url = (normalise_db_url(settings.app_database_url) if settings.app_database_url
               else derive_app_url(owner, settings))
    access_log = settings.log_level.upper() == "DEBUG" or not settings.is_production
    app = create_app(settings, app_database_url=app_url, redis_url=settings.redis_url,
                     access_log=access_log)
    # Everything built so far (schema, plans' code, SQLAlchemy metadata) lives as long as the
    # process: keep it out of the cyclic collector's scans, and collect young objects less often
    # (a request allocates thousands of short-lived ones; full scans were the p99 outliers).
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)
    return app

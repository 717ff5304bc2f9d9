"""The purge of removed custom fields' values, once they are past the retention."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from infra.db import Database
from infra.settings import Settings
from workers.kit import database, runtime
from workers.schedule import periodic

PURGE_BATCH = 5000


@periodic("custom_fields.purge", every=timedelta(hours=1), time_limit=timedelta(minutes=10))
async def purge() -> None:
    """Values of fields removed more than CUSTOM_FIELD_RETENTION_DAYS ago, then the fields."""
    await purge_removed(database(), runtime.get_settings())


async def purge_removed(db: Database, settings: Settings) -> int:
    """Delete, batch by batch, what retention no longer keeps; how many values went. The
    database function never deletes a field removed less than a day ago."""
    retention = timedelta(days=settings.custom_field_retention_days)
    total = 0
    while True:
        async with db.scoped(None) as session:
            n = await session.scalar(text("select custom_fields_purge(:retention, :n)"),
                                     {"retention": retention, "n": PURGE_BATCH})
        total += n or 0
        if (n or 0) < PURGE_BATCH:
            return total

"""The purge of removed fields: their values go once the field has been removed longer than the
retention (in batches, through the job's own database function as the app role), with the
field itself and its key; fields removed lately, and live ones, keep everything."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import psycopg

from infra.db import Database
from modules.custom_fields import tasks
from tests.conftest import GraphQLClient, Servers
from tests.factories import TenantFactory
from tests.graphql_api.custom_fields.helpers import (
    CREATE_FIELD,
    DELETE_FIELD,
    GET_CONTACT,
    RESTORE_FIELD,
    contact,
    define,
    values_of,
)
from workers.schedule import PERIODIC


def _values(conn: psycopg.Connection[Any], field_id: str) -> int:
    from graphql_api.relay import decode_id

    row = conn.execute("select count(*) from custom_field_values where field_id = %s",
                       (decode_id(field_id, "CustomField"),)).fetchone()
    assert row is not None
    return int(row[0])


def _removed_days_ago(conn: psycopg.Connection[Any], field_id: str, days: float) -> None:
    from graphql_api.relay import decode_id

    conn.execute("update custom_fields set deleted_at = now() - %s where id = %s",
                 (timedelta(days=days), decode_id(field_id, "CustomField")))


def test_values_of_fields_removed_past_the_retention_are_purged(
    servers: Servers, tenants: TenantFactory, gql: GraphQLClient
) -> None:
    tenant = tenants.make()
    admin, manager = tenant.keys["admin"], tenant.keys["manager"]
    old = define(gql, admin, key="old", type="MULTI_SELECT",
                 options=[{"key": "x", "label": "X"}, {"key": "y", "label": "Y"}])
    recent = define(gql, admin, key="recent", type="TEXT")
    live = define(gql, admin, key="live", type="NUMBER")
    made = [contact(gql, manager, f"客户{i}", old=["x", "y"], recent="r", live=i)
            for i in range(3)]
    for field in (old, recent):
        gql.data(DELETE_FIELD, {"id": field["id"]}, key=admin)
    with psycopg.connect(servers.owner_dsn, autocommit=True) as conn:
        _removed_days_ago(conn, old["id"], 31)
        _removed_days_ago(conn, recent["id"], 0.5)  # under a day: never purged

    async def run() -> int:
        db = Database(servers.app_url, pool_size=2, max_overflow=0, read_pool_size=1)
        try:  # retention 0 and batches of 2: the function's one-day floor still holds
            settings = servers.settings.model_copy(update={"custom_field_retention_days": 0})
            tasks.PURGE_BATCH = 2
            return await tasks.purge_removed(db, settings)
        finally:
            tasks.PURGE_BATCH = 5000
            await db.dispose()

    gone = asyncio.run(run())
    assert gone >= 6  # two options on each of three contacts (other tests' fields may add)
    with psycopg.connect(servers.owner_dsn, autocommit=True) as conn:
        assert _values(conn, old["id"]) == 0
        assert _values(conn, recent["id"]) == 3
        assert _values(conn, live["id"]) == 3
    # The purged field is gone, its key free again; the recent one is still restorable.
    gql.data(CREATE_FIELD, {"input": {"entity": "CONTACT", "type": "TEXT", "key": "old",
                                      "label": "Old"}}, key=admin)
    gql.data(RESTORE_FIELD, {"id": recent["id"]}, key=admin)
    got = gql.data(GET_CONTACT, {"id": made[1]["id"]}, key=manager)["contact"]
    assert values_of(got) == {"recent": "r", "live": 1}


def test_the_purge_is_a_periodic_job() -> None:
    job = PERIODIC["custom_fields.purge"]
    assert job.task is tasks.purge and job.every == timedelta(hours=1)

"""An API key's `lastUsedAt` records every authenticated use, a refused request's too, at a
granularity of five minutes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import psycopg

from tenancy.auth import api_key_cache
from tests.conftest import GraphQLClient, LiveServer
from tests.factories import TenantFactory

CREATE_CONTACT = 'mutation { createContact(input: {name: "王小明"}) { id } }'
CONTACTS = "{ contacts(first: 1) { nodes { id name } } }"


def _key(owner_conn: psycopg.Connection[Any], tenant_id: uuid.UUID, name: str
         ) -> tuple[uuid.UUID, datetime | None]:
    row = owner_conn.execute("select id, last_used_at from api_keys where tenant_id = %s "
                             "and name = %s", (tenant_id, name)).fetchone()
    assert row is not None
    return row[0], row[1]


def _used(owner_conn: psycopg.Connection[Any], tenant_id: uuid.UUID, key_id: uuid.UUID,
          minutes_ago: int) -> datetime:
    """Pretend the key was last used some minutes ago, and make the server look it up again
    (`forget` keeps it out of the cache for a minute)."""
    row = owner_conn.execute(
        "update api_keys set last_used_at = now() - make_interval(mins => %s) "
        "where tenant_id = %s and id = %s returning last_used_at",
        (minutes_ago, tenant_id, key_id)).fetchone()
    owner_conn.commit()
    api_key_cache.forget(key_id)
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def test_a_request_refused_with_forbidden_is_a_use_of_its_key(
    gql: GraphQLClient, tenants: TenantFactory, owner_conn: psycopg.Connection[Any]
) -> None:
    tenant = tenants.make()
    key_id, never = _key(owner_conn, tenant.id, "viewer key")
    assert never is None
    error = gql.error(CREATE_CONTACT, key=tenant.keys["viewer"])
    assert error["extensions"]["code"] == "FORBIDDEN"
    owner_conn.rollback()
    _, first_use = _key(owner_conn, tenant.id, "viewer key")
    assert first_use is not None

    # Stale by more than five minutes: a refused request moves it on.
    stale = _used(owner_conn, tenant.id, key_id, minutes_ago=10)
    assert gql.error(CREATE_CONTACT, key=tenant.keys["viewer"])["extensions"]["code"] == \
        "FORBIDDEN"
    owner_conn.rollback()
    _, moved = _key(owner_conn, tenant.id, "viewer key")
    assert moved is not None and moved > stale

    # Used a minute ago: coarse on purpose, no write.
    recent = _used(owner_conn, tenant.id, key_id, minutes_ago=1)
    assert gql.error(CREATE_CONTACT, key=tenant.keys["viewer"])["extensions"]["code"] == \
        "FORBIDDEN"
    owner_conn.rollback()
    assert _key(owner_conn, tenant.id, "viewer key")[1] == recent


def test_a_read_on_the_read_lane_is_a_use_of_its_key(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory,
    owner_conn: psycopg.Connection[Any]
) -> None:
    tenant = tenants.make()
    key_id, _ = _key(owner_conn, tenant.id, "viewer key")
    gql.data(CONTACTS, key=tenant.keys["viewer"])  # learns the plan
    plans = live_server.app.state.graphql.plans  # type: ignore[attr-defined]
    stale = _used(owner_conn, tenant.id, key_id, minutes_ago=10)
    hits = plans.hits
    gql.data(CONTACTS, key=tenant.keys["viewer"])
    assert plans.hits == hits + 1  # answered by the compiled plan
    owner_conn.rollback()
    _, moved = _key(owner_conn, tenant.id, "viewer key")
    assert moved is not None and moved > stale

"""Migration 0015 on a database that holds webhook secrets in clear (as 0005 stored them): it
seals them with the keys of the settings it runs with, and the built-in owner and admin roles
get the pii permissions. A database of its own, migrated to 0011 first."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from infra import crypto
from infra.migrate import libpq_dsn, upgrade
from modules.pii.sealed import WEBHOOK_PREVIOUS_SECRET, WEBHOOK_SECRET
from tests.conftest import Servers


@pytest.fixture
def old_database(servers: Servers) -> Iterator[str]:
    name = f"crm_test_0015_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(servers.owner_dsn, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = make_url(servers.owner_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with psycopg.connect(servers.owner_dsn, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def test_existing_webhook_secrets_are_sealed_and_roles_get_pii(servers: Servers,
                                                               old_database: str) -> None:
    upgrade(old_database, servers.settings, revision="0011")
    tenant, subscription = uuid.uuid4(), uuid.uuid4()
    current, previous = secrets.token_bytes(32), secrets.token_bytes(32)
    with psycopg.connect(libpq_dsn(old_database)) as conn:
        conn.execute("insert into tenants (id, name, slug) values (%s, '旧公司', %s)",
                     (tenant, f"old-{tenant.hex[:8]}"))
        conn.execute("select set_config('app.tenant_id', %s, true)", (str(tenant),))
        conn.execute("insert into roles (tenant_id, id, key, name, permissions, is_builtin) "
                     "values (%s, %s, 'admin', 'Administrator', array['customers:read'], true)",
                     (tenant, uuid.uuid4()))
        conn.execute("insert into webhook_subscriptions (tenant_id, id, url, event_types, "
                     "secret, previous_secret, secret_hint) values (%s, %s, "
                     "'https://example.com/h', array['contact.created'], %s, %s, 'whsec_abcd')",
                     (tenant, subscription, current, previous))
        conn.commit()

    upgrade(old_database, servers.settings)

    with psycopg.connect(libpq_dsn(old_database)) as conn:
        conn.execute("select set_config('app.tenant_id', %s, true)", (str(tenant),))
        row: Any = conn.execute("select secret, previous_secret from webhook_subscriptions "
                                "where tenant_id = %s", (tenant,)).fetchone()
        permissions: Any = conn.execute("select permissions from roles where tenant_id = %s",
                                        (tenant,)).fetchone()
    ring = crypto.load_keyring(servers.settings)
    assert current not in bytes(row[0]) and previous not in bytes(row[1])
    assert ring.open_bytes(row[0], WEBHOOK_SECRET.context(tenant, subscription)) == current
    assert ring.open_bytes(row[1], WEBHOOK_PREVIOUS_SECRET.context(tenant, subscription)) \
        == previous
    assert {"pii:read", "pii:erase"} <= set(permissions[0])

"""Migration 0012 on data written before it: names-only addresses get their division codes
where the names match the data exactly (others are left as they were), search keeps finding
old rows, and the downgrade restores 0008's search columns."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from alembic import command
from sqlalchemy.engine import make_url

from infra.migrate import alembic_config, ensure_app_role, libpq_dsn
from tests.conftest import Servers

ADDRESSES = {
    "exact": {"country": "CN", "province": "广东省", "city": "深圳市", "district": "南山区",
              "street": "高新南一道 8 号"},
    "municipality": {"province": "北京市", "city": "北京市", "district": "朝阳区"},
    "typo": {"country": "CN", "province": "广东省", "city": "深证市", "district": "南山区"},
    "abroad": {"country": "US", "province": "CA", "city": "Mountain View"},
}


@pytest.fixture
def scratch(servers: Servers) -> Iterator[str]:
    """A database of its own, migrated to 0011 (the shared one must stay at head)."""
    name = f"crm_m12_{uuid.uuid4().hex[:10]}"
    admin = libpq_dsn(servers.owner_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = make_url(servers.owner_url).set(database=name).render_as_string(hide_password=False)
    ensure_app_role(url, servers.settings)
    command.upgrade(alembic_config(url, servers.settings.app_db_role), "0011")
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def test_old_addresses_get_codes_and_search_covers_old_rows(scratch: str,
                                                            servers: Servers) -> None:
    tenant = uuid.uuid4()
    ids = {key: uuid.uuid4() for key in ADDRESSES}
    with psycopg.connect(libpq_dsn(scratch), autocommit=True) as conn:
        conn.execute("insert into tenants (id, name, slug) values (%s, 'T', %s)",
                     (tenant, f"t{tenant.hex[:8]}"))
        for key, address in ADDRESSES.items():
            conn.execute("insert into contacts (tenant_id, id, name, phone, address) "
                         "values (%s, %s, %s, '+8613800138000', %s)",
                         (tenant, ids[key], key, json.dumps(address)))
    cfg = alembic_config(scratch, servers.settings.app_db_role)
    command.upgrade(cfg, "0012")

    with psycopg.connect(libpq_dsn(scratch)) as conn:
        def address(key: str) -> dict[str, Any]:
            row = conn.execute("select address from contacts where id = %s",
                               (ids[key],)).fetchone()
            assert row is not None
            return row[0]  # type: ignore[no-any-return]

        assert address("exact") == {**ADDRESSES["exact"], "provinceCode": "440000",
                                    "cityCode": "440300", "districtCode": "440305"}
        assert address("municipality") == {**ADDRESSES["municipality"],
                                           "provinceCode": "110000", "cityCode": "110100",
                                           "districtCode": "110105"}
        # 深证市 matches no city: the province's code only, the names untouched.
        assert address("typo") == {**ADDRESSES["typo"], "provinceCode": "440000"}
        assert address("abroad") == ADDRESSES["abroad"]
        # Search's columns were made again over every row: old ones are found as before.
        found = conn.execute("select count(*) from contacts where search_text like "
                             "'%+8613800138000%'").fetchone()
        assert found == (4,)

    command.downgrade(cfg, "0011")
    with psycopg.connect(libpq_dsn(scratch)) as conn:
        columns = {r[0] for r in conn.execute(
            "select column_name from information_schema.columns "
            "where table_name = 'contacts'")}
        assert {"search_text", "search_grams"} <= columns
        assert not {"phones", "emails"} & columns
        indexes = {r[0] for r in conn.execute(
            "select indexname from pg_indexes where tablename = 'contacts'")}
        assert {"contacts_search_trgm_idx", "contacts_search_grams_idx"} <= indexes

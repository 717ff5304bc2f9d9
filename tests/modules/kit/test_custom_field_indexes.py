"""A list sorted or filtered by a custom field reads indexes, never sorts: proved on the plans
of the statements the kit sends (as tests/modules/kit/test_sort_indexes.py does for declared
sorts).

A sorted page is two statements (`repository.field_page_sql`): the records holding a value,
read in order from the field's slice of `(tenant_id, field_id, <value>, record_id)` and joined
to the entity by primary key; then those holding none, by the entity's primary key, each
checked against `(tenant_id, record_id, field_id)`. Filters are EXISTS probes on the same
indexes.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import psycopg
import pytest

from modules.customers.entities import COMPANY, CONTACT
from modules.kit.entity import Entity
from modules.kit.repository import LIVE, ListShape, _count_sql, _page_sql, field_page_sql
from tests.modules.kit.test_sort_indexes import _nodes

COLUMNS = ("value_text", "value_number", "value_date", "value_bool")
MARKS = {"value_text": "m", "value_number": 7, "value_date": date(2026, 6, 1),
         "value_bool": False}  # a cursor's values


def _plan(conn: psycopg.Connection[Any], sql: str, params: dict[str, Any]) -> dict[str, Any]:
    row = conn.execute(f"explain (format json) {sql}", params).fetchone()
    assert row is not None
    return (row[0] if isinstance(row[0], list) else json.loads(row[0]))[0][  # type: ignore[no-any-return]
        "Plan"]


def _indexes(plan: dict[str, Any]) -> list[str]:
    found = [plan["Index Name"]] if "Index Name" in plan else []
    for child in plan.get("Plans", []):
        found += _indexes(child)
    return found


@pytest.fixture
def planner(owner_conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    # Near-empty tables make any plan cheap: price everything but index scans out, so that a
    # Sort (or a scan of a whole table) shows only where no index can serve.
    for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
        owner_conn.execute(f"set local {setting} = off")
    return owner_conn


def _params(**extra: Any) -> dict[str, Any]:
    return {"tenant_id": uuid.uuid4(), "actor_user_id": uuid.uuid4(), "limit": 21,
            "scope_owners": [uuid.uuid4()], "sort_field": uuid.uuid4(), **extra}


@pytest.mark.parametrize("entity", [CONTACT, COMPANY], ids=lambda e: e.name)
@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("read_all", [True, False], ids=["manager", "sales"])
def test_a_page_sorted_by_a_custom_field_reads_indexes_in_order(
    planner: psycopg.Connection[Any], entity: Entity, column: str, descending: bool,
    read_all: bool
) -> None:
    shape = ListShape(entity, read_all, LIVE, frozenset())
    table = entity.model.__table__.name
    for valued in (True, False):
        for seek in (False, True):
            sql = field_page_sql(shape, column, descending, valued, seek)
            params = _params(k0=MARKS[column], k1=uuid.uuid4()) if seek else _params()
            plan = _plan(planner, sql, params)
            nodes = _nodes(plan)
            where = f"{'valued' if valued else 'empty'}{' after a cursor' if seek else ''}"
            assert "Sort" not in nodes and "Incremental Sort" not in nodes, (where, nodes)
            assert nodes[0] == "Limit", (where, nodes)
            indexes = _indexes(plan)
            if valued:  # driven by the field's slice of its value index, in order
                kind = "key" if column == "value_text" else column.removeprefix("value_")
                assert f"custom_field_values_{kind}_idx" in indexes, (where, indexes)
            else:  # by the entity's key, each record probed for a value of the field
                assert f"pk_{table}" in indexes or f"{table}_pkey" in indexes, (where, indexes)
                assert "custom_field_values_record_idx" in indexes, (where, indexes)


@pytest.mark.parametrize(("column", "op"), [
    ("value_text", "in"), ("value_number", "in"), ("value_number", "min"),
    ("value_date", "max"), ("value_bool", "in"), ("value_text", "present"),
    ("value_text", "absent"),
])
def test_a_custom_field_condition_probes_an_index(
    planner: psycopg.Connection[Any], column: str, op: str
) -> None:
    shape = ListShape(CONTACT, True, LIVE, frozenset(), custom=((column, op),))
    sql = _page_sql(shape, "CREATED_AT_DESC", False, None)
    value: Any = ([MARKS[column]] if op == "in" else MARKS[column]
                  if op in ("min", "max") else None)
    plan = _plan(planner, sql, _params(cf0_field=uuid.uuid4(), cf0=value))
    nodes = _nodes(plan)
    assert "Seq Scan" not in nodes and "Sort" not in nodes, nodes
    assert any(i.startswith("custom_field_values_") for i in _indexes(plan)), _indexes(plan)


# The same conditions as the application role, under row-level security: a comparison that is
# not leakproof (`lower(value_text) = …`, `numeric >= …`) is only ever a filter there, over the
# field's every value, never an index condition (migration 0016). The table's other indexes are
# dropped for the test (in its transaction, rolled back), so that the value's index is the only
# way in, and its index condition shows what it searches by.
@pytest.mark.parametrize(("column", "op", "value", "searched"), [
    ("value_text", "keys", ["gold"], "value_key"),
    ("value_text", "eq", "WXID_Ab", "value_key"),
    ("value_text", "in", ["a", "B"], "value_key"),
    ("value_float", "in", [7], "value_float"),
    ("value_float", "min", 7, "value_float"),
    ("value_number", "between", 7, "value_float"),
    ("value_date", "between", date(2026, 6, 1), "value_date"),
    ("value_bool", "in", [True], "value_bool"),
])
def test_a_condition_searches_its_index_as_the_app_role(
    owner_conn: psycopg.Connection[Any], servers: Any, column: str, op: str, value: Any,
    searched: str
) -> None:
    try:
        scans = _value_scans(owner_conn, servers.settings.app_db_role, column, op, value,
                             searched)
    finally:
        owner_conn.rollback()  # the dropped indexes and the rows with it
    assert scans
    for scan in scans:
        assert searched in scan.get("Index Cond", ""), scan
        assert searched not in scan.get("Filter", ""), scan


def _value_scans(conn: psycopg.Connection[Any], app_role: str, column: str, op: str,
                 value: Any, searched: str) -> list[dict[str, Any]]:
    """The scans of custom_field_values in the plan of a count with this condition, as the
    app role, with the value's index the only one left on the table."""
    tenant, field = uuid.uuid4(), uuid.uuid4()
    kind = {"value_key": "key", "value_float": "number"}.get(searched, searched[6:])
    kept = f"custom_field_values_{kind}_idx"
    conn.execute("alter table custom_field_values drop constraint custom_field_values_pkey")
    for (name,) in conn.execute("select indexname from pg_indexes where tablename = "
                                "'custom_field_values' and indexname <> %s", (kept,)).fetchall():
        conn.execute(f"drop index {name}")
    # Some values of the field, so that the planner weighs a search of the index against a
    # filter as it does on a tenant's data (the keys are not checked here: replica mode).
    conn.execute("set local session_replication_role = replica")
    conn.execute("""
        insert into custom_field_values (tenant_id, field_id, record_id, position, value_text,
                                         value_number, value_date, value_bool)
        select %s, %s, gen_random_uuid(), 0, 'v' || g, g, date '2020-01-01' + g, g %% 50 = 0
        from generate_series(1, 5000) g""", (tenant, field))
    conn.execute("analyze custom_field_values")
    conn.execute(f"set local role {app_role}")
    conn.execute("select set_config('app.tenant_id', %s, true)", (str(tenant),))
    for setting in ("enable_seqscan", "enable_bitmapscan", "enable_nestloop",
                    "enable_mergejoin"):
        conn.execute(f"set local {setting} = off")
    shape = ListShape(CONTACT, True, LIVE, frozenset(), custom=((column, op),))
    params = _params(tenant_id=tenant, cf0_field=field, cf0=value,
                     cf0_max=MARKS[column] if op == "between" else None)
    plan = _plan(conn, _count_sql(shape), params)
    return [n for n in _walk(plan) if n.get("Relation Name") == "custom_field_values"]


def _walk(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _walk(child))]

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
from modules.kit.repository import LIVE, ListShape, _page_sql, field_page_sql
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
                kind = column.removeprefix("value_")
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

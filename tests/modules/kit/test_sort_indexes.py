"""Every sort a kit entity declares reads its pages from an index, in order: the plan of a list
page holds no Sort node, only a scan of a `(tenant_id, <sort keys>, id)` index cut by LIMIT.

A sort without its index still answers correctly, but sorts the tenant's whole table for every
page: fast in tests, slow for the tenant with a million rows. Entities read from a view (members:
a membership joined to its user) are excused by name, with the reason.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import uuid
from typing import Any

import psycopg
import pytest

import modules
import tenancy
from modules.kit import registry
from modules.kit.entity import Entity
from modules.kit.repository import LIVE, ListShape, _page_sql

# Lists read from a view sort rows joined from two tables; no one index can serve them. Each is
# excused with its reason, and the excuse is itself checked (the relation must be a view).
FROM_VIEWS = {"membership": "a tenant's members are few (tens), sorted by their users' names"}


def _entities() -> list[Entity]:
    for package in (modules, tenancy):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(info.name)
    return sorted(registry.entities(), key=lambda e: e.name)


def _nodes(plan: dict[str, Any]) -> list[str]:
    return [plan["Node Type"], *(n for child in plan.get("Plans", []) for n in _nodes(child))]


@pytest.mark.parametrize("entity", _entities(), ids=lambda e: e.name)
def test_every_declared_sort_pages_from_an_index(
    entity: Entity, owner_conn: psycopg.Connection[Any]
) -> None:
    table = entity.model.__table__.name
    kind = owner_conn.execute("select relkind from pg_class where relname = %s",
                              (table,)).fetchone()
    assert kind is not None, f"{table}: no such relation"
    if entity.name in FROM_VIEWS:
        assert kind[0] == "v", f"{table} is excused as a view but is not one"
        return
    # The tables are near empty in tests, where any plan is cheap: make every plan but an
    # ordered index scan cost a fortune, so that a Sort shows only where no index can help.
    for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
        owner_conn.execute(f"set local {setting} = off")
    params = {"tenant_id": uuid.uuid4(), "actor_user_id": uuid.uuid4(), "limit": 21}
    for sort in entity.sorts:
        for seek in (False, True):
            shape = ListShape(entity, True, LIVE if entity.soft_deletes else "all", frozenset())
            sql = _page_sql(shape, sort.name, seek, None)
            values = dict(params)
            if seek:  # a cursor's values: their types come from the statement
                values.update({f"k{i}": None for i in range(len(sort.keys) + 1)})
            plan = owner_conn.execute(f"explain (format json) {sql}", values).fetchone()
            assert plan is not None
            root = (plan[0] if isinstance(plan[0], list) else json.loads(plan[0]))[0]["Plan"]
            nodes = _nodes(root)
            assert "Sort" not in nodes and "Incremental Sort" not in nodes, (
                f"{entity.name} sorted {sort.name}{' after a cursor' if seek else ''}: "
                f"no index gives this order, the plan sorts ({' > '.join(nodes)}). Add "
                f"`(tenant_id, <its keys>, id)` to the table's indexes in its migration.")
            assert any("Index" in n for n in nodes), nodes

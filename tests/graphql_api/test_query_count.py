"""No N+1: the statements a list request runs do not grow with the page or with nesting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from infra import db
from tenancy.auth import api_key_cache
from tests.conftest import GraphQLClient, LiveServer
from tests.factories import TenantFactory


@contextmanager
def count_statements(live_server: LiveServer) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = live_server.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    db.statement_listeners.append(statements.append)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
        db.statement_listeners.remove(statements.append)


FLAT = "query($n: Int) { contacts(first: $n) { nodes { id name email phone createdAt } } }"
NESTED = """query($n: Int) { contacts(first: $n) { nodes {
  id name company { name owner { name } } owner { name email } } } }"""
# `gender` (an enum) and `address` (an object) are not rendered by the database: loaders.
LOADED = """query($n: Int) { contacts(first: $n) { nodes {
  id name gender company { name address { city } owner { name } } owner { name email } } } }"""


def test_statements_per_request_do_not_grow_with_page_size_or_nesting(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A verified key is trusted for API_KEY_CACHE_SECONDS; a count that crossed its expiry
    # would see one more lookup. Keep it for the test (it is looked up afresh, then kept).
    monkeypatch.setattr(api_key_cache, "ttl", 3600.0)
    monkeypatch.setattr(api_key_cache, "_entries", {})
    tenant = tenants.make(members={"s1": "sales", "s2": "sales"})
    key = tenant.keys["owner"]
    owners = [m.user_id for m in tenant.members.values()]
    company_ids = [gql.data("mutation($i: CompanyInput!) { createCompany(input: $i) { id } }",
                            {"i": {"name": f"公司{i}"}}, key=key)["createCompany"]["id"]
                   for i in range(5)]
    users = [m["user"] for m in
             gql.data("{ members { nodes { user { id } } } }", key=key)["members"]["nodes"]]
    for i in range(60):
        gql.data("mutation($i: ContactInput!) { createContact(input: $i) { id } }",
                 {"i": {"name": f"联系人{i}", "companyId": company_ids[i % 5],
                        "ownerId": users[i % len(users)]["id"]}}, key=key)
    assert len(owners) == 3

    counts = {}
    for name, query in (("flat", FLAT), ("nested", NESTED), ("loaded", LOADED)):
        # The first run of a document goes through Strawberry in one transaction: set_config,
        # the page, and one batch per loader (companies, users) for the nested queries.
        with count_statements(live_server) as statements:
            gql.data(query, {"n": 20}, key=key)
        assert len(statements) == {"flat": 2, "nested": 4, "loaded": 4}[name]
        for n in (10, 50):  # then its compiled plan, on the read lane
            with count_statements(live_server) as statements:
                data = gql.data(query, {"n": n}, key=key)
            assert len(data["contacts"]["nodes"]) == n
            counts[(name, n)] = len(statements)
            # Every read is its own one-round-trip transaction: set_config, then the query.
            assert statements[::2] == [db.SET_SCOPE_SQL] * (len(statements) // 2)
    # set_config + the page (the API key was verified moments ago and is cached); the database
    # renders company and owner within the page's statement; where it cannot, loaders add one
    # batch each (companies, users), each with its set_config.
    assert counts[("flat", 10)] == counts[("flat", 50)] == 2
    assert counts[("nested", 10)] == counts[("nested", 50)] == 2
    assert counts[("loaded", 10)] == counts[("loaded", 50)] == 6

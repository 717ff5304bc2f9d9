"""Global IDs rendered by PostgreSQL are the very IDs the API gives out in Python."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from graphql_api.relay import to_global_id
from graphql_api.rendering import _base64_is_url_safe, global_id_sql

IDS = [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), *(uuid.uuid4() for _ in range(200))]


@pytest.mark.parametrize("type_name", [
    "Contact", "Company", "User", "Q",
    # Long enough that PostgreSQL's base64 breaks the line: needs the URL-safe translation.
    "ContactTagAssignmentHistoryRecord",
    "ContactTagAssignmentHist",  # 57 bytes: exactly one 76-character line, and a break
    "ContactTagAssignmentHis",  # 56 bytes: 76 characters with padding, no break
])
def test_global_ids_rendered_in_sql_match_the_api(
    owner_conn: psycopg.Connection[Any], type_name: str
) -> None:
    sql = global_id_sql(type_name)("t")
    assert ("translate(" in sql) != _base64_is_url_safe(f"{type_name}:".encode(), 32)
    rows = owner_conn.execute(
        f"select t.id, {sql} from unnest(%s::uuid[]) as t(id)", (IDS,)).fetchall()
    assert [rendered for _, rendered in rows] == [to_global_id(type_name, i) for i, _ in rows]


def test_the_url_safety_proof_finds_what_would_need_translating() -> None:
    assert _base64_is_url_safe(b"Contact:", 32)
    assert not _base64_is_url_safe(b"ContactTagAssignmentHistoryRecord:", 32)  # > 76 chars
    assert not _base64_is_url_safe(b"ab?:", 32)  # "?" ends a group: its low six bits are "/"
    assert not _base64_is_url_safe(b"ab>", 0)  # ">" likewise gives "+"

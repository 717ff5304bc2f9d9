"""The search's finder functions (migration 0008) in the database itself: they use the search
indexes, see only the current tenant, and only the application role may call them; the page
query then reads the rows by key under row-level security.

Plans are read where the planner's choice is the one it makes in production: a tenant of 4,000
contacts among 40,000 (with one tenant holding nearly the whole table, reading the tenant's rows
through its btree index and filtering them is cheaper, and the planner rightly prefers it). The
finders also run with `enable_seqscan` off (their own setting, see the migration), since a
cached generic plan of a LIKE can guess a sequential scan."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from modules.customers import search
from tests.conftest import Servers
from tests.factories import TenantData, TenantFactory

SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = "伟芳娜敏静丽强磊军洋"


CROWD = 4000


def _name(i: int) -> str:
    return SURNAMES[i % 10] + GIVEN[(i // 10) % 10] if i % 3 else f"Person{i} Smith"


@pytest.fixture(scope="module")
def crowd(tenants: TenantFactory, servers: Servers) -> TenantData:
    """A tenant of 4,000 contacts beside another of 36,000, written in bulk by the owner role
    (as the bench does)."""
    tenant, filler = tenants.make(), tenants.make()
    with psycopg.connect(servers.owner_dsn) as conn:
        with conn.cursor().copy("copy contacts (tenant_id, id, name, email, phone) "
                                "from stdin") as copy:
            for i in range(CROWD):
                copy.write_row((tenant.id, uuid.uuid4(), _name(i), f"user{i}@example.com",
                                f"+86138{i:08d}"))
        conn.execute("""insert into contacts (tenant_id, id, name, email, phone)
                        select %s, gen_random_uuid(), '客户' || i, 'c' || i || '@example.org',
                               '+86139' || lpad(i::text, 8, '0')
                        from generate_series(1, 36000) as i""", (filler.id,))
        conn.execute("analyze contacts")
    return tenant


def _plans(servers: Servers, tenant_id: Any, sql: str, params: dict[str, Any]) -> str:
    """The plans of `sql` and of every statement inside the functions it calls, as the app
    role with the tenant set (auto_explain, loaded by the owner, reports nested statements)."""
    notices: list[str] = []
    with psycopg.connect(servers.owner_dsn) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        conn.execute("load 'auto_explain'")
        for setting, value in [("log_min_duration", "0"), ("log_nested_statements", "on"),
                               ("log_level", "notice")]:
            conn.execute(f"set auto_explain.{setting} = {value}")
        conn.execute(f"set role {servers.settings.app_db_role}")
        conn.execute("select set_config('app.tenant_id', %s, true)", (str(tenant_id),))
        conn.execute(sql, params).fetchall()
    return "\n".join(notices)


@pytest.mark.parametrize(("term", "index"), [
    ("张", "contacts_search_grams_idx"),             # one Chinese character
    ("张伟", "contacts_search_grams_idx"),           # a Chinese name
    ("smith", "contacts_search_trgm_idx"),          # a word of three letters and more
    ("138000012", "contacts_search_trgm_idx"),      # part of a phone number
    ("Persn12 Smiht", "contacts_search_trgm_idx"),  # a typo: similar spellings
])
def test_every_kind_of_term_is_found_through_an_index(servers: Servers, crowd: TenantData,
                                                      term: str, index: str) -> None:
    parsed = search.parse_term(term, "CN")
    shape = search.SearchShape(parsed.route, parsed.phone_route, parsed.similar, True, True,
                               False)
    params = {**search.term_params(parsed), "tenant_id": crowd.id, "actor_user_id": None,
              "limit": 21}

    plans = _plans(servers, crowd.id, search.page_sql(shape), params)

    assert f"Bitmap Index Scan on {index}" in plans, plans
    assert "Seq Scan on contacts" not in plans, plans
    # The page query reads what the finders found by key, under row-level security.
    assert "contacts_pkey" in plans, plans


def test_the_finders_see_only_the_current_tenant(servers: Servers, crowd: TenantData,
                                                 tenants: TenantFactory) -> None:
    other = tenants.make()
    with psycopg.connect(servers.owner_dsn) as conn:
        conn.execute("insert into contacts (tenant_id, id, name) values (%s, %s, '张伟')",
                     (other.id, uuid.uuid4()))
    find = ("select count(*) from search_contact_ids(customer_search_query_grams('张伟'), "
            "'%%张伟%%', null, null)")
    with psycopg.connect(servers.app_dsn) as conn:
        assert conn.execute(find).fetchone() == (0,)  # no tenant set: nothing
        conn.execute("select set_config('app.tenant_id', %s, true)", (str(other.id),))
        assert conn.execute(find).fetchone() == (1,)
    with psycopg.connect(servers.app_dsn) as conn:
        conn.execute("select set_config('app.tenant_id', %s, true)", (str(crowd.id),))
        own = sum(1 for i in range(CROWD) if _name(i) == "张伟")
        assert conn.execute(find).fetchone() == (own,)  # crowd's own 张伟s only


def test_only_the_application_role_may_call_the_finders(owner_conn: psycopg.Connection[Any],
                                                        servers: Servers) -> None:
    for function in ("search_contact_ids", "search_company_ids"):
        signature = f"{function}(text[], text, text, text)"
        assert owner_conn.execute("select has_function_privilege(%s, %s, 'execute')",
                                  (servers.settings.app_db_role, signature)).fetchone() == (True,)
        acl = owner_conn.execute("select proacl::text from pg_proc where proname = %s",
                                 (function,)).fetchone()
        assert acl is not None, function
        grantees = [item.split("=")[0] for item in acl[0].strip("{}").split(",")]
        assert "" not in grantees, acl  # PUBLIC (an empty grantee) may not execute it

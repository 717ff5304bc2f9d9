"""A contact list under a department data scope against the same list with scope "all"
(issue 12, item 8: goal within 1.2x), at 100,000 contacts in one tenant. Not a test.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/customer_scope.py
    .venv/bin/python bench/customer_scope.py --contacts 100000 --rounds 300

Seeds (once) a `crm_bench_scope` database: one tenant, 60 sales members in a tree (销售中心 >
3 regions > 3 teams each, 6 members per team, 6 more at the regions), each team member reporting
to their team's first member; 100,000 contacts with realistic Chinese and English names spread
over the members. Then, as the application role (row-level security on), for one sales member:

- the first page of the contact list (50 rows, newest first, the kit's page query) and its
  totalCount, each as a request would run them, with a new caller context every time whose
  visibility is read first (as a session's authentication reads it, with the caller; the
  visibility query alone is timed apart);
- under the scopes own, department (a team: ~10% of contacts), department_tree (their team has
  no sub-department here: the same ~10%) and all (with `customers:read_all`, no owner
  condition), every scope once per round, in turn, so the shared machine's load weighs on all
  alike;
- the same list through GraphQL over HTTP, signed in by cookie as the sales member (scope
  department) and as a manager (scope all), with and without totalCount, request by request
  in turn;
- p50 and p95 of each, the ratio to "all", and the EXPLAIN (ANALYZE, BUFFERS) of the page and
  count statements under department and all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.db import Database  # noqa: E402
from infra.db.statements import driver_connection  # noqa: E402
from infra.embedded import derive_app_url, normalise_db_url  # noqa: E402
from infra.migrate import libpq_dsn, upgrade  # noqa: E402
from infra.settings import Settings  # noqa: E402
from modules.customers.entities import CONTACT  # noqa: E402
from modules.departments.service import set_role_data_scope  # noqa: E402
from modules.kit import repository, scopes  # noqa: E402
from tenancy.context import Actor, CallContext, system_context  # noqa: E402
from tenancy.permissions import BUILTIN_ROLES  # noqa: E402
from tenancy.service import add_member, create_tenant  # noqa: E402

DB_NAME = "crm_bench_scope"
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
            "彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文斌宇浩然欣怡子轩梓涵"
ENGLISH = ["James", "Mary", "John", "Linda", "David", "Susan", "Michael", "Karen", "Daniel",
           "Emily", "Grace", "Oliver", "Sophia", "Lucas", "Chloe", "Henry", "Zoë", "Ethan"]
ENGLISH_LAST = ["Smith", "Chen", "Wong", "Brown", "Taylor", "Lee", "Walker", "Müller", "Hall"]


def owner_url() -> str:
    base = os.environ.get("DATABASE_URL")
    if not base:
        sys.exit("set DATABASE_URL (an owner connection to a PostgreSQL server)")
    admin = normalise_db_url(base)
    with psycopg.connect(libpq_dsn(admin), autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s",
                            (DB_NAME,)).fetchone():
            conn.execute(f"create database {DB_NAME}")
    return make_url(admin).set(database=DB_NAME).render_as_string(hide_password=False)


async def seed(url: str, contacts: int) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """(tenant, the measured sales member, the admin); seeded once, reused after."""
    db = Database(url, pool_size=2, max_overflow=0)
    try:
        async with db.scoped(None) as session:
            row = (await session.execute(text(
                "select t.id, (select count(*) from contacts c where c.tenant_id = t.id) "
                "from tenants t where slug = 'scope-bench'"))).first()
        if row is not None and row[1] == contacts:
            tenant_id = row[0]
        else:
            tenant_id = await _seed(db, contacts)
        async with db.scoped(tenant_id) as session:
            if not (await session.execute(text("select 1 from users where email = :e"),
                                          {"e": ALL_SCOPE_MEMBER})).first():
                await add_member(session, system_context(tenant_id), email=ALL_SCOPE_MEMBER,
                                 name="全部数据主管", password="bench-password",
                                 role_key="manager")
            sales = (await session.execute(text(
                "select u.id from users u join memberships m on m.user_id = u.id "
                "where m.tenant_id = :t and u.email = 'sales-0-0-1@scope-bench.example.com'"),
                {"t": tenant_id})).scalar_one()
            admin = (await session.execute(text(
                "select u.id from users u where u.email = 'admin@scope-bench.example.com'"))
            ).scalar_one()
        return tenant_id, sales, admin
    finally:
        await db.dispose()


async def _seed(db: Database, contacts: int) -> uuid.UUID:
    print(f"seeding {contacts:,} contacts ...", flush=True)
    async with db.scoped(None) as session:
        await session.execute(text(
            "truncate tenants, users, roles, memberships, api_keys, web_sessions, companies, "
            "contacts, audit_log, outbox, departments, department_managers, record_shares "
            "cascade"))
    async with db.sessions() as session, session.begin():
        new = await create_tenant(session, name="数据权限基准", slug="scope-bench",
                                  admin_email="admin@scope-bench.example.com",
                                  admin_password="bench-password")
        tenant_id, ctx = new.tenant.id, new.ctx
        members: list[uuid.UUID] = []
        root = uuid.uuid4()
        await session.execute(text("insert into departments (tenant_id, id, name) values "
                                   "(:t, :id, '销售中心')"), {"t": tenant_id, "id": root})
        for r in range(3):
            region = uuid.uuid4()
            await session.execute(text(
                "insert into departments (tenant_id, id, name, parent_id, position) values "
                "(:t, :id, :n, :p, :pos)"), {"t": tenant_id, "id": region,
                                              "n": f"{'华东华北华南'[2 * r:2 * r + 2]}大区",
                                              "p": root, "pos": r})
            for team in range(3):
                dept = uuid.uuid4()
                await session.execute(text(
                    "insert into departments (tenant_id, id, name, parent_id, position) values "
                    "(:t, :id, :n, :p, :pos)"), {"t": tenant_id, "id": dept,
                                                  "n": f"第{team + 1}组", "p": region,
                                                  "pos": team})
                lead = None
                for i in range(6):
                    user = await add_member(session, ctx, email=f"sales-{r}-{team}-{i}@scope-bench"
                                            ".example.com", name=f"销售{r}{team}{i}",
                                            password="bench-password", role_key="sales")
                    members.append(user.id)
                    await session.execute(text(
                        "update memberships set department_id = :d, superior_id = :s "
                        "where tenant_id = :t and user_id = :u"),
                        {"d": dept, "s": lead, "t": tenant_id, "u": user.id})
                    lead = lead or user.id
            for i in range(2):
                user = await add_member(session, ctx, email=f"sales-{r}-x-{i}@scope-bench"
                                        ".example.com", name=f"区域销售{r}{i}",
                                        password="bench-password", role_key="sales")
                members.append(user.id)
                await session.execute(text("update memberships set department_id = :d "
                                           "where tenant_id = :t and user_id = :u"),
                                      {"d": region, "t": tenant_id, "u": user.id})
    async with db.scoped(tenant_id) as session:
        await session.execute(text("""
            insert into contacts (tenant_id, id, name, email, phone, owner_id, created_at,
                                  updated_at)
            select :t, gen_random_uuid(),
                   case when g % 5 = 0
                        then (cast(:en as text[]))[1 + g % cardinality(cast(:en as text[]))]
                             || ' ' || (cast(:enl as text[]))[
                                 1 + (g / 7) % cardinality(cast(:enl as text[]))]
                        else substr(:sur, 1 + g % char_length(:sur), 1) ||
                             substr(:giv, 1 + (g / 3) % char_length(:giv), 1) ||
                             case when g % 3 = 0 then '' else
                                  substr(:giv, 1 + (g / 11) % char_length(:giv), 1) end
                   end,
                   'c' || g || '@example.com', '+86138' || lpad((g % 100000000)::text, 8, '0'),
                   (cast(:owners as uuid[]))[1 + (g * 7919) % cardinality(cast(:owners as uuid[]))],
                   now() - make_interval(secs => g * 37), now() - make_interval(secs => g * 37)
            from generate_series(1, :n) as g"""),
            {"t": tenant_id, "n": contacts, "sur": SURNAMES, "giv": GIVEN, "en": ENGLISH,
             "enl": ENGLISH_LAST, "owners": members})
    async with db.scoped(None) as session:
        await session.execute(text("analyze"))
    return tenant_id


def sales_ctx(tenant_id: uuid.UUID, user_id: uuid.UUID, scope: str) -> CallContext:
    """A sales member's context as the app builds one per request (permissions as stored)."""
    permissions = set(BUILTIN_ROLES["sales"][1])
    if scope == "all":
        permissions.add("customers:read_all")
    actor = Actor("user", user_id, tenant_id, "sales", frozenset(permissions), "bench", scope)
    return CallContext(actor)


async def one_round(db: Database, tenant_id: uuid.UUID, user_id: uuid.UUID, scope: str,
                    into: dict[str, Any]) -> None:
    """One request's worth under `scope`: the page and the count, timed into `into`."""
    ctx = sales_ctx(tenant_id, user_id, scope)
    async with db.scoped(tenant_id) as session:
        # Read with the caller, as a session's authentication does (timed apart, below).
        await repository.prepare(session, ctx, (CONTACT,))
        started = time.perf_counter()
        page = await repository.page(session, ctx, CONTACT, filters={}, deleted="live",
                                     sort="CREATED_AT_DESC", first=50, after=None)
        into.setdefault("pages", []).append(time.perf_counter() - started)
        started = time.perf_counter()
        into["total"] = await repository.count(session, ctx, CONTACT, filters={},
                                               deleted="live")
        into.setdefault("counts", []).append(time.perf_counter() - started)
        into["rows"] = len(page.items)


async def measure(db: Database, tenant_id: uuid.UUID, user_id: uuid.UUID, scopes_: list[str],
                  rounds: int) -> list[dict[str, Any]]:
    """Every scope once per round, round after round (the order turning each round), so
    that the shared machine's changing load weighs on all of them alike."""
    samples: dict[str, dict[str, Any]] = {scope: {} for scope in scopes_}
    for n in range(rounds):
        turn = n % len(scopes_)
        for scope in scopes_[turn:] + scopes_[:turn]:
            await one_round(db, tenant_id, user_id, scope, samples[scope])
    return [{"scope": scope, "rows": got["rows"], "total": got["total"],
             "page_p50": statistics.median(got["pages"]) * 1000,
             "page_p95": statistics.quantiles(got["pages"], n=20)[18] * 1000,
             "count_p50": statistics.median(got["counts"]) * 1000,
             "count_p95": statistics.quantiles(got["counts"], n=20)[18] * 1000}
            for scope, got in samples.items()]


async def explain(db: Database, tenant_id: uuid.UUID, user_id: uuid.UUID, scope: str
                  ) -> tuple[str, str]:
    ctx = sales_ctx(tenant_id, user_id, scope)
    async with db.scoped(tenant_id) as session:
        await repository.prepare(session, ctx, (CONTACT,))
        shape = repository._shape(ctx, CONTACT, {}, "live")
        params = {**repository._params(ctx, CONTACT, {}), "limit": 51}
        page_sql = repository._page_sql(shape, "CREATED_AT_DESC", False, None)
        count_sql = repository._count_sql(shape)
        raw = await driver_connection(session)
        out = []
        for sql in (page_sql, count_sql):
            cursor = raw.cursor()
            await cursor.execute("explain (analyze, buffers, costs off) " + sql, params)
            out.append("\n".join(r[0] for r in await cursor.fetchall()))
        return out[0], out[1]


LISTS = {
    "page": "{ contacts(first: 50) { nodes { id name email phone createdAt owner { name } } } }",
    "page+totalCount": ("{ contacts(first: 50) { totalCount nodes { id name email phone "
                        "createdAt owner { name } } } }"),
}


ALL_SCOPE_MEMBER = "lead-all@scope-bench.example.com"  # a manager: data scope all


def http_rounds(owner: str, settings: Settings, tenant_id: uuid.UUID, rounds: int
                ) -> dict[str, list[float]]:
    """The list through GraphQL over HTTP (the app under uvicorn), signed in by cookie as the
    sales member (scope department) and as a manager (scope all), request by request in
    turn: each round sends both lists as each of them, the order turning every round."""
    import threading

    import httpx
    import uvicorn

    from infra.app import create_app

    asyncio.run(_set_scope(owner, tenant_id, "department"))
    app = create_app(settings, app_database_url=derive_app_url(owner, settings),
                     redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                     access_log=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=8811,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    out: dict[str, list[float]] = {f"{s} {q}": [] for s in ("all", "department") for q in LISTS}
    clients: dict[str, httpx.Client] = {}
    try:
        for scope, email in (("department", "sales-0-0-1@scope-bench.example.com"),
                             ("all", ALL_SCOPE_MEMBER)):
            client = clients[scope] = httpx.Client(base_url="http://127.0.0.1:8811", timeout=30,
                                                   headers={"X-Requested-By": "bench"})
            login = client.post("/graphql", json={"query": (
                f"mutation {{ login(email: \"{email}\", password: \"bench-password\") "
                "{ userId } }")})
            assert "errors" not in login.json(), login.text
        turns = [(scope, name) for name in LISTS for scope in ("all", "department")]
        for n in range(rounds + 10):  # the first 10 warm up
            for scope, name in turns[n % len(turns):] + turns[:n % len(turns)]:
                started = time.perf_counter()
                body = clients[scope].post("/graphql", json={"query": LISTS[name]}).json()
                elapsed = time.perf_counter() - started
                assert "errors" not in body, body
                if n >= 10:
                    out[f"{scope} {name}"].append(elapsed)
    finally:
        for client in clients.values():
            client.close()
        server.should_exit = True
        thread.join(timeout=10)
    return out


async def _set_scope(owner: str, tenant_id: uuid.UUID, scope: str) -> None:
    db = Database(owner, pool_size=1, max_overflow=0)
    try:
        async with db.scoped(tenant_id) as session:
            await set_role_data_scope(session, system_context(tenant_id), "sales", scope)
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    settings = Settings()
    owner = owner_url()
    upgrade(owner, settings)
    tenant_id, sales, admin = await seed(owner, args.contacts)
    app = Database(derive_app_url(owner, settings), pool_size=2, max_overflow=0)
    admin_db = Database(owner, pool_size=1, max_overflow=0)
    order = ["all", "own", "department", "department_tree"]
    load = [os.getloadavg()[0]]
    try:
        await measure(app, tenant_id, sales, order, 20)  # warm the plans and the cache
        results = await measure(app, tenant_id, sales, order, args.rounds)
        load.append(os.getloadavg()[0])
        async with admin_db.scoped(tenant_id) as session:
            await set_role_data_scope(session, system_context(tenant_id), "sales", "department")
        plans = {s: await explain(app, tenant_id, sales, s) for s in ("department", "all")}
        async with app.scoped(tenant_id) as session:
            ctx = sales_ctx(tenant_id, sales, "department")
            started = time.perf_counter()
            for _ in range(50):
                ctx.visibility = None
                await scopes.load_visibility(session, ctx)
            visibility_ms = (time.perf_counter() - started) / 50 * 1000
    finally:
        await app.dispose()
        await admin_db.dispose()
    http = await asyncio.to_thread(http_rounds, owner, settings, tenant_id, args.rounds)
    load.append(os.getloadavg()[0])
    base = results[0]  # "all", against which the others compare
    print(f"\n{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {os.cpu_count()} cores, "
          f"load average {load[0]:.1f} before, {load[1]:.1f} after in-process, {load[2]:.1f} "
          f"after HTTP; {args.contacts:,} contacts, one tenant, 60 sales members; first page "
          f"of 50, newest first; {args.rounds} rounds, the scopes in turn within each round; "
          "a new caller context each time\n")
    print(f"{'scope':<16}{'visible':>9}{'page p50':>10}{'p95':>8}{'count p50':>11}{'p95':>8}"
          f"{'page ×all':>11}{'count ×all':>12}")
    for r in results:
        print(f"{r['scope']:<16}{r['total']:>9,}{r['page_p50']:>8.2f}ms{r['page_p95']:>6.2f}ms"
              f"{r['count_p50']:>9.2f}ms{r['count_p95']:>6.2f}ms"
              f"{r['page_p50'] / base['page_p50']:>10.2f}×"
              f"{r['count_p50'] / base['count_p50']:>11.2f}×")
    print(f"\nthe visibility query alone (once per request): {visibility_ms:.2f} ms")
    p50 = {s: statistics.median(v) * 1000 for s, v in http.items()}
    print(f"\nthrough GraphQL over HTTP (contacts(first: 50) {{ id name email phone createdAt "
          f"owner {{ name }} }}, {len(http['all page'])} requests each, in turn: sales1 in "
          "scope department, a manager in scope all):")
    for key, values in http.items():
        scope, query = key.split(" ", 1)
        print(f"  {scope:<12}{query:<17} p50 {p50[key]:7.2f} ms  p95 "
              f"{statistics.quantiles(values, n=20)[18] * 1000:7.2f} ms  "
              f"×all {p50[key] / p50['all ' + query]:.2f}")
    for scope, (page_plan, count_plan) in plans.items():
        print(f"\n-- EXPLAIN, scope {scope}: page --\n{page_plan}")
        print(f"\n-- EXPLAIN, scope {scope}: count --\n{count_plan}")


if __name__ == "__main__":
    asyncio.run(main())

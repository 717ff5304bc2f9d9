"""The duplicate check and duplicate groups (issue 12, item 7) at 100,000 contacts and 25,000
companies in one tenant (`bench/seed_customers.py`). Not a test.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/customer_duplicates.py [--rounds 200]

As the application role (row-level security on), with a new caller context per round:

- `check`: the form's probe (a stored phone number, a stored email, a company name with
  another legal form) as a sales rep and as a manager: p50 / p99, and the EXPLAIN of the
  statement (each point an index scan on an index led by tenant_id);
- `groups`: the first page (20 groups) and a later one, for contacts and companies, as the
  manager (scope all: every record) and as a sales rep (their own), p50 / p95, after a
  `vacuum analyze` (the state autovacuum keeps: the covering indexes are read index-only).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg.rows import namedtuple_row  # noqa: E402

from bench.seed_customers import bench_database, seed_customers  # noqa: E402
from infra.db import Database, fetch  # noqa: E402
from infra.db.statements import driver_connection  # noqa: E402
from infra.embedded import derive_app_url  # noqa: E402
from infra.migrate import libpq_dsn  # noqa: E402
from infra.settings import Settings  # noqa: E402
from modules.customers import duplicates  # noqa: E402
from tenancy.context import Actor, CallContext  # noqa: E402
from tenancy.permissions import BUILTIN_ROLES  # noqa: E402

DB_NAME = "crm_bench_dedupe"  # its own: migrated to this branch's head


def caller(tenant_id: uuid.UUID, user_id: uuid.UUID, role: str) -> CallContext:
    permissions = frozenset(p.value for p in BUILTIN_ROLES[role][1])
    scope = "all" if "customers:read_all" in permissions else "own"
    return CallContext(Actor("user", user_id, tenant_id, role, permissions, "bench", scope))


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


async def timed(db: Database, tenant_id: uuid.UUID, make: Any, run: Any, rounds: int
                ) -> tuple[list[float], Any]:
    out, result = [], None
    for _ in range(rounds):
        ctx = make()
        async with db.scoped(tenant_id) as session:
            started = time.perf_counter()
            result = await run(session, ctx)
            out.append(time.perf_counter() - started)
    return out, result


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()
    settings = Settings()
    owner = bench_database(DB_NAME)
    seeded = await seed_customers(owner)
    tenant_id = uuid.UUID(seeded.tenant_id)
    # The seed makes every email and phone unique; people re-enter customers: 1,000 pairs of
    # contacts get to share a phone number and 1,000 others an email (once).
    with psycopg.connect(libpq_dsn(owner)) as conn:
        conn.execute("select set_config('app.tenant_id', %s, true)", (str(tenant_id),))
        for column in ("phone", "email"):
            conn.execute(f"""
                with picked as (
                    select id, {column} as value, row_number() over (order by id) as n
                    from contacts where tenant_id = %(t)s and {column} is not null
                      and {column} not in (select {column} from contacts where tenant_id = %(t)s
                                           and {column} is not null group by {column}
                                           having count(*) > 1)
                    order by id offset %(o)s limit 2000)
                update contacts c set {column} = p.value
                from picked p join picked q on q.n = p.n + 1 and p.n %% 2 = 1
                where c.id = q.id and c.tenant_id = %(t)s
                  and 0 = (select count(*) from (select 1 from contacts where tenant_id = %(t)s
                           and {column} is not null group by {column} having count(*) > 1
                           limit 1) shared)""",
                {"t": tenant_id, "o": 0 if column == "phone" else 50_000})
        conn.commit()
    # The groups read covering indexes only (index-only scans): as after autovacuum has been
    # by, which a freshly COPYed table has not yet seen.
    with psycopg.connect(libpq_dsn(owner), autocommit=True) as conn:
        conn.execute("vacuum analyze contacts")
        conn.execute("vacuum analyze companies")
    manager = uuid.UUID(seeded.members["manager"].user_id)
    rep_name = next(n for n, m in seeded.members.items() if m.role == "sales")
    rep = uuid.UUID(seeded.members[rep_name].user_id)
    app = Database(derive_app_url(owner, settings), pool_size=2, max_overflow=0)
    try:
        async with app.scoped(tenant_id) as session:
            sample = (await fetch(session, """
                select (select phone from contacts where tenant_id = %(t)s and phone is not null
                        order by id limit 1) as phone,
                       (select email from contacts where tenant_id = %(t)s and email is not null
                        order by id offset 7 limit 1) as email,
                       (select name from companies where tenant_id = %(t)s
                        and name like '%%有限公司' and name not like '%%股份有限公司'
                        order by id limit 1) as company""",
                {"t": tenant_id}, namedtuple_row))[0]
            counts = (await fetch(session, """
                select (select count(*) from (select email from contacts where tenant_id = %(t)s
                          and deleted_at is null and email is not null group by email
                          having count(*) > 1) e) as emails,
                       (select count(*) from (select phone from contacts where tenant_id = %(t)s
                          and deleted_at is null and phone is not null group by phone
                          having count(*) > 1) e) as phones,
                       (select count(*) from (select name_key from companies
                          where tenant_id = %(t)s and name_key is not null group by name_key
                          having count(*) > 1) c) as company_names""",
                {"t": tenant_id}, namedtuple_row))[0]
        company = sample.company.replace("有限公司", "股份有限公司")
        probes = {
            "phone": duplicates.Probe("contact", phone=sample.phone[3:]),  # as typed: no +86
            "email": duplicates.Probe("contact", email=sample.email.upper()),
            "company name": duplicates.Probe("company", name=company),
        }
        print(f"\n{seeded.contacts:,} contacts, {seeded.companies:,} companies; "
              f"{counts.emails:,} emails and {counts.phones:,} phones shared by several "
              "contacts, "
              f"{counts.company_names:,} company names (keys) shared; {args.rounds} rounds "
              "each\n")
        print("check (one statement; for the rep also the visibility query, read on first use "
              "when the session did not bring it):")
        for who, user, role in (("rep", rep, "sales"), ("manager", manager, "manager")):
            for label, probe in probes.items():

                async def run(session: Any, ctx: CallContext, p: Any = probe) -> Any:
                    return await duplicates.check(session, ctx, p)

                await timed(app, tenant_id, lambda u=user, r=role: caller(tenant_id, u, r), run,
                            20)
                times, found = await timed(app, tenant_id,
                                           lambda u=user, r=role: caller(tenant_id, u, r), run,
                                           args.rounds)
                print(f"  {who:<8}{label:<14} p50 {statistics.median(times) * 1000:6.2f} ms  "
                      f"p99 {pct(times, 99):6.2f} ms  found {len(found)} "
                      f"({', '.join(sorted({m.category for m in found}))})")
        print("\ngroups (first page of 20, then the page after it):")
        for kind in ("contact", "company"):
            for who, user, role in (("manager", manager, "manager"), ("rep", rep, "sales")):
                rounds = max(5, args.rounds // 10)

                async def first(session: Any, ctx: CallContext, k: str = kind) -> Any:
                    return await duplicates.groups(session, ctx, kind=k, first=20, after=None)

                times, (page, more) = await timed(
                    app, tenant_id, lambda u=user, r=role: caller(tenant_id, u, r), first, rounds)
                after = duplicates.encode_cursor(page[-1]) if page else None

                async def later(session: Any, ctx: CallContext, k: str = kind,
                                a: str | None = after) -> Any:
                    return await duplicates.groups(session, ctx, kind=k, first=20, after=a)

                again, _ = await timed(app, tenant_id,
                                       lambda u=user, r=role: caller(tenant_id, u, r), later,
                                       rounds)
                print(f"  {kind:<8}{who:<8} first p50 {statistics.median(times) * 1000:7.1f} ms "
                      f"p95 {pct(times, 95):7.1f} ms; next p50 "
                      f"{statistics.median(again) * 1000:7.1f} ms; {len(page)} groups, "
                      f"more: {more}")
        async with app.scoped(tenant_id) as session:
            probe = probes["phone"]
            points = [(i, p, p.value(probe, "CN")) for i, p in enumerate(duplicates.POINTS)
                      if probe.kind in p.kinds]
            points = [(i, p, v) for i, p, v in points if v is not None]
            sql = "\nunion all\n".join(duplicates._point_sql(i, p) for i, p, _ in points)
            params = {"tenant_id": tenant_id,
                      **{f"v{i}": duplicates._value_param(v) for i, _, v in points}}
            raw = await driver_connection(session)
            cursor = raw.cursor()
            await cursor.execute("explain (analyze, costs off) " + sql, params)
            print("\nEXPLAIN of the check (a phone given), as the app role:")
            print("\n".join("  " + r[0] for r in await cursor.fetchall()))
    finally:
        await app.dispose()


if __name__ == "__main__":
    asyncio.run(main())

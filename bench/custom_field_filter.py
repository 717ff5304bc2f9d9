"""The contact list filtered and sorted by custom fields at 100,000 contacts in one tenant
(issue 12, item 2: "filterable and sortable ..., index-backed"). Not a test.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/custom_field_filter.py
    .venv/bin/python bench/custom_field_filter.py --rounds 50 --http-rounds 100

Seeds (once) a `crm_bench_custom_fields` database with the customers of
`bench/seed_customers.py` (100,000 contacts, realistic Chinese and English names), defines five
contact fields through the custom-field service (客户等级 a single select of 5 options, 年采购额
a number, 签约日期 a date, 微信号 a text, VIP a boolean) and fills most contacts' values with
realistic spreads, some selective (a WeChat id: one record; signed in the last 30 days: ~2 %),
some not (level C: 35 %). sales1 and sales2 form a department; the sales role's data scope is
`department` (~30 % of the contacts).

Then, as the application role (row-level security on, a new caller context per round, its
visibility read first as a session's authentication does), for sales1 (scope department) and the
manager (scope all), for each condition `filter.customFields` takes (equals on a select, a
number range, a date range, text equals, boolean equals), combined with a built-in filter
(`createdAfter`, two years back) and the caller's data scope:

- the first page (50, newest first) through the contact service, as the GraphQL list calls it;
- the same sorted by a custom field (`sortBy: {customField: "annual_purchase", descending:
  true}`);
- its totalCount;
- p50/p95/p99 of each, and the EXPLAIN (ANALYZE, BUFFERS) of each page statement, with a line
  saying whether it reads an index of custom_field_values, and whether the condition's value is
  an index condition there or a filter over the field's rows.

Then through GraphQL over HTTP (`crm serve --workers 1`, sales1 signed in by cookie), with and
without totalCount. Results also go to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.customer_search import LOGIN, PORT, machine, percentile, start_server  # noqa: E402
from bench.seed_customers import PASSWORD, SeededTenant, bench_database, seed_customers  # noqa: E402
from infra.db import Database  # noqa: E402
from infra.db.statements import driver_connection  # noqa: E402
from infra.embedded import derive_app_url  # noqa: E402
from infra.migrate import libpq_dsn  # noqa: E402
from infra.settings import Settings  # noqa: E402
from modules.custom_fields.service import custom_fields  # noqa: E402
from modules.customers.entities import CONTACT  # noqa: E402
from modules.customers.service import contacts  # noqa: E402
from modules.departments.service import set_role_data_scope  # noqa: E402
from modules.kit import custom_values, repository  # noqa: E402
from tenancy.context import Actor, CallContext, system_context  # noqa: E402
from tenancy.permissions import BUILTIN_ROLES  # noqa: E402

DATABASE = "crm_bench_custom_fields"
LEVELS = [("a", "A 战略客户"), ("b", "B 重点客户"), ("c", "C 普通客户"), ("d", "D 潜在客户"),
          ("e", "E 流失客户")]
FIELDS: list[dict[str, Any]] = [
    {"key": "level", "label": "客户等级", "type": "select",
     "options": [{"key": k, "label": v} for k, v in LEVELS]},
    {"key": "annual_purchase", "label": "年采购额", "type": "number"},
    {"key": "signed_on", "label": "签约日期", "type": "date"},
    {"key": "wechat", "label": "微信号", "type": "text"},
    {"key": "vip", "label": "VIP", "type": "boolean"},
]
# Each field's values, as SQL over a contact `c` and `h`, a number in [0, 10000) drawn from its
# id and the field's key (so every run seeds the same values); NULL: no value.
VALUES_SQL = {
    # 90 % have a level: A 3 %, B 12 %, C 35 %, D 30 %, E 10 %
    "level": ("value_text", """case when h < 1000 then null when h < 1300 then 'a'
              when h < 2500 then 'b' when h < 6000 then 'c' when h < 9000 then 'd' else 'e'
              end"""),
    # 80 %: from ~3,000 to ~8.9 million yuan, evenly spread on a log scale
    "annual_purchase": ("value_number", "case when h < 2000 then null else "
                        "floor(exp(8 + (h - 2000) / 8000.0 * 8))::numeric end"),
    # 60 %: some day of the last three years
    "signed_on": ("value_date", "case when h < 4000 then null else "
                  "current_date - ((h * 7919) % 1095) end"),
    # 50 %: a WeChat id of its own (one record each)
    "wechat": ("value_text", "case when h < 5000 then null else "
               "'wxid_' || substr(md5(c.id::text), 1, 12) end"),
    # 70 %: 8 % of those VIP
    "vip": ("value_bool", "case when h < 3000 then null else h % 100 < 8 end"),
}
SORT_BY = {"custom_field": "annual_purchase", "descending": True}


@dataclass
class Case:
    name: str
    conditions: list[dict[str, Any]]
    results: dict[str, list[float]] = field(default_factory=dict)
    plans: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def cases(wechat: str) -> list[Case]:
    today = datetime.now(UTC).date()

    def c(key: str, **kw: Any) -> dict[str, Any]:
        return {"key": key, "equals": None, "in": None, "min": None, "max": None,
                "present": None, **kw}

    return [
        Case("select = C (35 %)", [c("level", equals="c")]),
        Case("select = A (3 %)", [c("level", equals="a")]),
        Case("select in A, B (15 %)", [c("level", **{"in": ["a", "b"]})]),
        Case("number ≥ 5,000,000 (~6 %)", [c("annual_purchase", min=5_000_000)]),
        Case("number 100k-200k (~7 %)", [c("annual_purchase", min=100_000, max=200_000)]),
        Case("date last 30 days (~2 %)",
             [c("signed_on", min=(today - timedelta(days=30)).isoformat())]),
        Case("date a year ago ± 45 days (~5 %)",
             [c("signed_on", min=(today - timedelta(days=410)).isoformat(),
                max=(today - timedelta(days=320)).isoformat())]),
        Case("text = a WeChat id (1)", [c("wechat", equals=wechat.upper())]),
        Case("boolean = true (~6 %)", [c("vip", equals=True)]),
    ]


# -- the seed ----------------------------------------------------------------------------------

async def define_fields(url: str, seeded: SeededTenant) -> str:
    """The five fields (defined once, through the service), their values, sales1 and sales2 in
    one department and the sales role's scope `department`. A WeChat id of one of sales1's
    contacts (a text condition's value)."""
    tenant = uuid.UUID(seeded.tenant_id)
    db = Database(url, pool_size=1, max_overflow=0)
    try:
        async with db.scoped(tenant) as session:
            defined = (await session.execute(text(
                "select count(*) from custom_fields where tenant_id = :t"), {"t": tenant})
            ).scalar_one()
            if not defined:
                print("defining the fields and their values ...", file=sys.stderr)
                ctx = system_context(tenant)
                ids = {}
                for spec in FIELDS:
                    ids[spec["key"]] = (await custom_fields.create(
                        session, ctx, {"entity": "contact", **spec})).id
                for key, (column, expression) in VALUES_SQL.items():
                    await session.execute(text(f"""
                        insert into custom_field_values (tenant_id, field_id, record_id,
                                                         position, {column})
                        select c.tenant_id, :f, c.id, 0, v.value
                        from contacts c,
                             lateral (select abs(hashtext(c.id::text || :k)) % 10000 as h) r,
                             lateral (select {expression} as value) v
                        where c.tenant_id = :t and v.value is not null"""),
                        {"t": tenant, "f": ids[key], "k": key})
                department = uuid.uuid4()
                await session.execute(text(
                    "insert into departments (tenant_id, id, name) values (:t, :d, '华东销售部')"),
                    {"t": tenant, "d": department})
                await session.execute(text(
                    "update memberships set department_id = :d where tenant_id = :t "
                    "and user_id = any(:u)"),
                    {"d": department, "t": tenant,
                     "u": [uuid.UUID(seeded.members[m].user_id) for m in ("sales1", "sales2")]})
                await set_role_data_scope(session, ctx, "sales", "department")
            wechat = (await session.execute(text("""
                select v.value_text from custom_field_values v
                join custom_fields f on f.tenant_id = v.tenant_id and f.id = v.field_id
                join contacts c on c.tenant_id = v.tenant_id and c.id = v.record_id
                where v.tenant_id = :t and f.key = 'wechat' and c.owner_id = :o
                  and c.created_at > now() - interval '1 year'
                order by v.record_id limit 1"""),
                {"t": tenant, "o": uuid.UUID(seeded.members["sales1"].user_id)})).scalar_one()
    finally:
        await db.dispose()
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        # As autovacuum leaves a table at rest: its statistics, and the visibility map that
        # lets a probe read the index alone.
        conn.execute("vacuum analyze custom_field_values")
        conn.execute("analyze memberships")
    return str(wechat)


# -- in-process: the contact service as the GraphQL list calls it -------------------------------

def caller(seeded: SeededTenant, who: str) -> CallContext:
    """A fresh context of a member as the app builds one per request (the role's permissions
    and data scope as stored by `define_fields`)."""
    member = seeded.members[who]
    scope = "all" if member.role == "manager" else "department"
    actor = Actor("user", uuid.UUID(member.user_id), uuid.UUID(seeded.tenant_id), member.role,
                  frozenset(BUILTIN_ROLES[member.role][1]), member.email, scope)
    return CallContext(actor)


def filters_of(case: Case) -> dict[str, Any]:
    created_after = datetime.now(UTC) - timedelta(days=730)
    return {"created_after": created_after, "custom_fields": case.conditions}


async def measure(db: Database, seeded: SeededTenant, who: str, case: Case, rounds: int
                  ) -> None:
    tenant = uuid.UUID(seeded.tenant_id)
    variants = {"page": None, "page sorted by a field": SORT_BY}
    for _ in range(rounds):
        ctx = caller(seeded, who)
        async with db.scoped(tenant) as session:
            await repository.prepare(session, ctx, (CONTACT,))  # as authentication does
            for name, sort_by in variants.items():
                started = time.perf_counter()
                page = await contacts.list_page(session, ctx, filters=filters_of(case),
                                                sort="CREATED_AT_DESC", first=50, after=None,
                                                sort_by=sort_by)
                case.results.setdefault(f"{who} {name}", []).append(
                    time.perf_counter() - started)
                case.rows[f"{who} {name}"] = len(page.items)
            started = time.perf_counter()
            total = await contacts.count(session, ctx, filters=filters_of(case))
            case.results.setdefault(f"{who} totalCount", []).append(
                time.perf_counter() - started)
            case.rows[f"{who} totalCount"] = total


async def explain(db: Database, seeded: SeededTenant, who: str, case: Case) -> None:
    """The EXPLAIN (ANALYZE, BUFFERS) of the page statements the service sends, with the
    parameters it sends, as the application role."""
    tenant = uuid.UUID(seeded.tenant_id)
    ctx = caller(seeded, who)
    filters = filters_of(case)
    async with db.scoped(tenant) as session:
        await repository.prepare(session, ctx, (CONTACT,))
        defs = await custom_values.definitions(session, ctx, "contact")
        custom = custom_values.conditions(defs, case.conditions)
        sort = custom_values.field_sort(defs, SORT_BY["custom_field"], True)
        shape = repository._shape(ctx, CONTACT, filters, "live", custom)
        params = {**repository._params(ctx, CONTACT, filters, custom), "limit": 51}
        statements = {
            "page": (repository._page_sql(shape, "CREATED_AT_DESC", False, None), params),
            "page sorted by a field": (
                repository.field_page_sql(shape, sort.column, True, True, False,
                                          repository.range_on_sort(custom, sort)),
                {**params, "sort_field": sort.field.id}),
        }
        raw = await driver_connection(session)
        for name, (sql, values) in statements.items():
            cursor = raw.cursor()
            await cursor.execute("explain (analyze, buffers) " + sql, values)
            case.plans[f"{who} {name}"] = "\n".join(r[0] for r in await cursor.fetchall())


def index_verdict(plan: str) -> str:
    """Whether the plan reads an index of custom_field_values, and how."""
    lines = plan.splitlines()
    used = [line.strip() for line in lines
            if " using custom_field_values_" in line or " on custom_field_values_" in line]
    if not used:
        seq = any("Seq Scan on custom_field_values" in line for line in lines)
        return "NO index of custom_field_values" + (" (a sequential scan)" if seq else "")
    names = sorted({line.split(" using " if " using " in line else " on ")[1].split()[0]
                    for line in used})
    return "index of custom_field_values used: " + ", ".join(names)


# -- over HTTP -----------------------------------------------------------------------------------

LIST = """query($filter: CustomerFilter, $sortBy: CustomFieldSort) {
  contacts(first: 50, filter: $filter, sortBy: $sortBy) {
    %s nodes { id name email phone createdAt owner { name }
               customFields { key value display } } } }"""


def http_rounds(url: str, seeded: SeededTenant, http_cases: list[Case], rounds: int
                ) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    proc = start_server(url)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=30) as client:
            rep = seeded.members["sales1"]
            signed_in = client.post("/graphql", json={"query": LOGIN, "variables": {
                "email": rep.email, "password": PASSWORD}}, headers={"X-Requested-By": "bench"})
            if signed_in.status_code != 200 or "errors" in signed_in.json():
                raise SystemExit(f"sign-in failed: {signed_in.text}")
            # The session cookie is Secure in production: over plain HTTP it is sent by hand.
            headers = {"X-Requested-By": "bench",
                       "Cookie": signed_in.headers["set-cookie"].split(";", 1)[0]}
            client.cookies.clear()
            for i in range(rounds + 5):  # the first 5 warm up
                for case in http_cases:
                    for sort_by in (None, {"customField": "annual_purchase",
                                           "descending": True}):
                        for total in ("", "totalCount"):
                            variables = {"filter": {
                                "createdAfter": filters_of(case)["created_after"].isoformat(),
                                "customFields": [{k: v for k, v in c.items() if v is not None}
                                                 for c in case.conditions]},
                                "sortBy": sort_by}
                            started = time.perf_counter()
                            response = client.post("/graphql", headers=headers, json={
                                "query": LIST % total, "variables": variables})
                            elapsed = time.perf_counter() - started
                            body = response.json()
                            if response.status_code != 200 or "errors" in body:
                                raise SystemExit(f"{case.name}: {response.text[:500]}")
                            if i >= 5:
                                order = "sorted by a field" if sort_by else "newest first"
                                key = (f"{case.name} | {order}"
                                       f"{' + totalCount' if total else ''}")
                                out.setdefault(key, []).append(elapsed)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    return out


def ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p) * 1000:.1f}"


async def in_process(url: str, seeded: SeededTenant, all_cases: list[Case], rounds: int,
                     callers: list[str]) -> None:
    settings = Settings()
    app = Database(derive_app_url(url, settings), pool_size=2, max_overflow=0)
    try:
        for case in all_cases:
            for who in callers:
                await measure(app, seeded, who, case, 3)  # warm the plans and the cache
                case.results.clear()
        # Interleaved: every case and caller once per round, so the machine's load changes
        # weigh on all of them alike.
        for _ in range(rounds):
            for case in all_cases:
                for who in callers:
                    await measure(app, seeded, who, case, 1)
        for case in all_cases:
            for who in callers:
                await explain(app, seeded, who, case)
    finally:
        await app.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", default=DATABASE)
    ap.add_argument("--rounds", type=int, default=40, help="in-process rounds of every case")
    ap.add_argument("--http-rounds", type=int, default=40)
    ap.add_argument("--plans", action="store_true", help="print every plan in full")
    a = ap.parse_args()
    url = bench_database(a.database)
    seeded = asyncio.run(seed_customers(url))
    wechat = asyncio.run(define_fields(url, seeded))
    all_cases = cases(wechat)
    callers = ["sales1", "manager"]
    load_before = os.getloadavg()
    asyncio.run(in_process(url, seeded, all_cases, a.rounds, callers))
    load_mid = os.getloadavg()
    http = http_rounds(url, seeded, [all_cases[0], all_cases[7]], a.http_rounds)
    load_after = os.getloadavg()
    with psycopg.connect(libpq_dsn(url)) as conn:
        pg = conn.execute("show server_version").fetchone()[0]  # type: ignore[index]

    stamp = datetime.now(UTC)
    print(f"\n{stamp:%Y-%m-%d %H:%M} UTC, {machine()}, PostgreSQL {pg}; load average "
          f"{load_before[0]:.1f} before, {load_mid[0]:.1f} after in-process, "
          f"{load_after[0]:.1f} after HTTP; {seeded.contacts:,} contacts in one tenant; "
          f"conditions with createdAfter (2 years) and the caller's data scope: sales1 "
          f"(department, 2 of 6 reps), manager (all); {a.rounds} rounds, interleaved\n")
    print("| condition | caller | rows | page p50 / p95 / p99 | sorted by a field p50 / p95 / "
          "p99 | totalCount p50 / p95 / p99 |\n|---|---|---|---|---|---|")
    for case in all_cases:
        for who in callers:
            cells = [" / ".join(ms(case.results[f"{who} {n}"], p) for p in (50, 95, 99))
                     + " ms" for n in ("page", "page sorted by a field", "totalCount")]
            print(f"| {case.name} | {who} | {case.rows[f'{who} totalCount']:,} | "
                  + " | ".join(cells) + " |")
    print(f"\nthrough GraphQL over HTTP (sales1 signed in by cookie, {a.http_rounds} requests "
          "each, interleaved):\n")
    print("| request | p50 | p95 | p99 |\n|---|---|---|---|")
    for key, values in http.items():
        print(f"| {key} | {ms(values, 50)} ms | {ms(values, 95)} ms | {ms(values, 99)} ms |")
    print("\nplans (EXPLAIN ANALYZE as the application role):")
    verdicts = []
    for case in all_cases:
        for key, plan in case.plans.items():
            verdict = index_verdict(plan)
            verdicts.append(verdict.startswith("index"))
            print(f"\n-- {case.name}, {key}: {verdict}")
            if a.plans or not verdict.startswith("index"):
                print(plan)
            else:
                print("\n".join(line for line in plan.splitlines()
                                if "custom_field_values" in line or "Cond:" in line
                                or "Filter:" in line or "Execution Time" in line
                                or "Scan" in line))
    print(f"\nan index of custom_field_values in {sum(verdicts)} of {len(verdicts)} plans")
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"custom_field_filter-{stamp:%Y%m%dT%H%M}.json").write_text(json.dumps({
        "at": stamp.isoformat(), "machine": machine(), "postgres": pg,
        "load": [load_before, load_mid, load_after],
        "cases": [{"name": c.name, "rows": c.rows,
                   "ms": {k: [percentile(v, p) * 1000 for p in (50, 95, 99)]
                          for k, v in c.results.items()}, "plans": c.plans}
                  for c in all_cases],
        "http": {k: [percentile(v, p) * 1000 for p in (50, 95, 99)] for k, v in http.items()},
    }, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()

"""Read-path benchmark: our GraphQL server beside the PostGraphile anchor (not a test).

    .venv/bin/python bench/run.py                 # ours alone, embedded or DATABASE_URL server
    .venv/bin/python bench/run.py --anchor        # ours and PostGraphile on the anchor's PG
    .venv/bin/python bench/run.py --anchor --workers 2 --duration 20 --rounds 3 --rls --soak 100000

Seeds (once) tenants x contacts in a `crm_bench` database, the anchor's data shape, with each
contact in one of 20 companies and owned by its tenant's admin. Starts `crm serve`, loads it with
`wrk -t2 -c16` (the anchor's load) for 50- and 10-row pages of six fields and for the nested query
(company and owner), counts SQL statements per request in-process, and with --anchor runs
PostGraphile (../shared/anchor, after its setup.sh) on the same PostgreSQL under the same load and
prints the ratios. --rls measures our 50-row page again with row-level security disabled on
contacts (re-enabled afterwards); --soak N sends N requests and reports the server's memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra import db  # noqa: E402
from infra.db import Database  # noqa: E402
from infra.embedded import derive_app_url, normalise_db_url, start_embedded_postgres  # noqa: E402
from infra.migrate import libpq_dsn, upgrade  # noqa: E402
from infra.settings import Settings  # noqa: E402
from tenancy.context import system_context  # noqa: E402
from tenancy.service import create_api_key, create_tenant  # noqa: E402

DATA = ROOT / ".crm" / "bench"
BENCH_SECRET = secrets.token_urlsafe(48)
PORT = 8800
FLAT = "{ contacts(first: %d) { nodes { id name email phone title createdAt } } }"
NESTED = ("{ contacts(first: %d) { nodes { id name email phone title createdAt "
          "company { name } owner { name } } } }")
ANCHOR = Path(__file__).resolve().parents[2] / "shared" / "anchor"
ANCHOR_PG = "postgresql://postgres@127.0.0.1:55432/postgres"

SEED_CONTACTS = """
insert into contacts (tenant_id, id, name, email, phone, title, company_id, owner_id,
                      created_at, updated_at)
select %(tenant)s, gen_random_uuid(), f || ' ' || l,
       lower(f || '.' || l || '@' || d), p, t, co.ids[1 + floor(random() * 20)::int],
       %(owner)s, c, c
from (select array_agg(id) as ids from companies where tenant_id = %(tenant)s) co, (
  select (array['James','Mary','Robert','Patricia','John','Jennifer','Michael','Linda','David',
                'Elizabeth','Wei','Chen','Aiko','Priya','Sofia','Lukas','Emma','Noah','Fatima',
                'Omar','伟','芳','娜','敏'])[1 + floor(random() * 24)::int] as f,
         (array['Smith','Johnson','Williams','Brown','Garcia','Miller','Müller','Rossi','Tanaka',
                'Patel','Wang','Li','Khan','王','李','张'])[1 + floor(random() * 16)::int] as l,
         (array['gmail.com','outlook.com','qq.com','163.com','example.com'])
             [1 + floor(random() * 5)::int] as d,
         '+1 ' || (200 + floor(random() * 800)::int) || '-' ||
             lpad(floor(random() * 1000)::int::text, 3, '0') || '-' ||
             lpad(floor(random() * 10000)::int::text, 4, '0') as p,
         now() - random() * interval '730 days' as c,
         (array['Buyer','Purchasing Manager','CTO','总经理','采购经理','Head of Operations',
                'Sales Director','Founder'])[1 + floor(random() * 8)::int] as t
  from generate_series(1, %(n)s)
) s
"""
SEED_COMPANIES = """
insert into companies (tenant_id, id, name, owner_id)
select %(tenant)s, gen_random_uuid(),
       (array['Northwind Traders','Contoso','Fabrikam','Tailspin Toys','Wide World Importers',
              'Adventure Works','Litware','Proseware','Fourth Coffee','Coho Winery',
              '上海华联贸易','北京星辰科技','深圳云帆物流','杭州绿源茶业','广州南方医疗',
              'Woodgrove Bank','Trey Research','VanArsdel','Relecloud','Lucerne Publishing'])[i],
       %(owner)s
from generate_series(1, 20) as i
"""


def owner_url(anchor: bool) -> str:
    base = ANCHOR_PG if anchor else os.environ.get("DATABASE_URL")
    if base:
        admin = normalise_db_url(base)
        with psycopg.connect(libpq_dsn(admin), autocommit=True) as conn:
            if not conn.execute("select 1 from pg_database where datname = 'crm_bench'").fetchone():
                conn.execute("create database crm_bench")
        return make_url(admin).set(database="crm_bench").render_as_string(hide_password=False)
    return start_embedded_postgres(DATA, database="crm_bench")


async def seed(url: str, tenants: int, contacts: int) -> str:
    """Tenants through the product's service, contacts in bulk; returns tenant 1's API key."""
    keyfile = DATA / "key.json"
    db = Database(url, pool_size=2, max_overflow=0)
    try:
        async with db.scoped(None) as session:
            have = (await session.execute(
                text("select count(*) from tenants"))).scalar()
        if have != tenants or not keyfile.exists() or json.loads(
                keyfile.read_text()).get("url") != url:
            async with db.scoped(None) as session:
                await session.execute(text(
                    "truncate tenants, users, roles, memberships, api_keys, web_sessions, "
                    "companies, contacts, audit_log, outbox cascade"))
            first_key = ""
            for n in range(1, tenants + 1):
                async with db.sessions() as session, session.begin():
                    new = await create_tenant(session, name=f"Bench tenant {n}", slug=f"bench-{n}",
                                              admin_email=f"admin@bench-{n}.example.com",
                                              admin_password="bench-password")
                    values = {"tenant": new.tenant.id, "owner": new.admin.id, "n": contacts}
                    await session.execute(text(SEED_COMPANIES.replace("%(tenant)s", ":tenant")
                                               .replace("%(owner)s", ":owner")), values)
                    await session.execute(text(SEED_CONTACTS.replace("%(tenant)s", ":tenant")
                                               .replace("%(owner)s", ":owner")
                                               .replace("%(n)s", ":n")), values)
                if n == 1:
                    async with db.scoped(new.tenant.id) as session:
                        issued = await create_api_key(session, system_context(new.tenant.id),
                                                      name="bench", role_key="viewer")
                    first_key = issued.secret
            async with db.scoped(None) as session:
                await session.execute(text("analyze"))
            DATA.mkdir(parents=True, exist_ok=True)
            keyfile.write_text(json.dumps({"key": first_key, "url": url}))
        return str(json.loads(keyfile.read_text())["key"])
    finally:
        await db.dispose()


def start_server(url: str, workers: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DATABASE_URL=url, ENV="production", LOG_LEVEL="WARNING",
               SECRET_KEY=BENCH_SECRET,
               REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    env.pop("APP_DATABASE_URL", None)
    proc = subprocess.Popen([str(Path(sys.executable).with_name("crm")), "serve", "--port",
                             str(PORT), "--workers", str(workers)], env=env,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGTERM)
    raise SystemExit("server did not become healthy")


def run_wrk(script: Path, url: str, duration: int, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{duration}s", "--latency", "-s", str(script),
                          url], env=dict(os.environ, **env), capture_output=True, text=True,
                         check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("JSON "))
    result: dict[str, Any] = json.loads(line[5:])
    result.setdefault("errors", sum(result.get(k, 0) for k in (
        "err_connect", "err_read", "err_write", "err_status", "err_timeout")))
    return result


def ours(key: str, query: str, duration: int) -> dict[str, Any]:
    return run_wrk(ROOT / "bench" / "post.lua", f"http://127.0.0.1:{PORT}/graphql", duration,
                   {"KEY": key, "QUERY": query.replace('"', '\\"')})


def theirs(page: int, duration: int) -> dict[str, Any]:
    return run_wrk(ANCHOR / "bench" / "post.lua", "http://127.0.0.1:5678/graphql", duration,
                   {"PAGE": str(page)})


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn's workers), in MiB."""
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                   text=True).stdout.split()]
    total = 0
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


async def statements_per_request(app_url: str, key: str) -> dict[str, int]:
    from infra.app import create_app

    settings = Settings(env="production", secret_key=BENCH_SECRET)
    app = create_app(settings, app_database_url=app_url,
                     redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                     access_log=False)
    engine = app.state.db.engine.sync_engine  # type: ignore[attr-defined]
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    db.statement_listeners.append(seen.append)  # statements sent on the driver directly
    counts = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://bench") as client:
        for name, doc in (("flat", FLAT), ("nested", NESTED)):
            for n in (10, 50):
                for _ in range(2):  # the first run verifies the key and compiles the plan
                    seen.clear()
                    r = await client.post("/graphql", json={"query": doc % n},
                                          headers={"Authorization": f"Bearer {key}"})
                    assert r.status_code == 200 and "errors" not in r.json(), r.text
                counts[f"{name} {n}"] = len(seen)
    await app.state.db.dispose()  # type: ignore[attr-defined]
    return counts


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))) // 1024 // 1024
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB, Python {platform.python_version()}"


Row = tuple[str, str, int, dict[str, Any]]  # server, query, page, median result


def measure(label: str, run: Any, pages: list[int], rounds: int, duration: int,
            rows: list[Row], query_name: str = "flat") -> None:
    for page in pages:
        run(page, 5)  # warm-up: caches, plans, prepared statements, pools
        results = [run(page, duration) for _ in range(rounds)]
        median = {k: statistics.median(r[k] for r in results) for k in ("rps", "p50_ms", "p99_ms")}
        median["errors"] = sum(r["errors"] for r in results)
        rows.append((label, query_name, page, median))
        print(f"{label:<28} {query_name:<7} first {page:>2}: {median['rps']:8.0f} req/s  "
              f"p50 {median['p50_ms']:6.2f} ms  p99 {median['p99_ms']:6.2f} ms  "
              f"errors {median['errors']}", flush=True)


def profile(pid: int, key: str, duration: int) -> None:
    """Sample our server with py-spy during a 50-row load; write where its CPU time goes."""
    raw = ROOT / "bench" / "results" / f"py-spy-{int(time.time())}.txt"
    raw.parent.mkdir(exist_ok=True)
    workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                              text=True).stdout.split()] or [pid]
    load = subprocess.Popen(["wrk", "-t2", "-c16", f"-d{duration + 4}s", "-s",
                             str(ROOT / "bench" / "post.lua"), f"http://127.0.0.1:{PORT}/graphql"],
                            env=dict(os.environ, KEY=key,
                                     QUERY=(FLAT % 50).replace('"', '\\"')),
                            stdout=subprocess.DEVNULL)
    time.sleep(2)
    subprocess.run([str(Path(sys.executable).with_name("py-spy")), "record", "-p",
                    str(workers[-1]), "-d", str(duration), "-r", "250", "-f", "raw", "-o",
                    str(raw)], check=True, capture_output=True)
    load.wait()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        self_time[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    lines = [f"py-spy, {total} samples of one server process under wrk -t2 -c16, "
             "contacts(first: 50)", "", "self time:"]
    lines += [f"{n / total:6.1%}  {f}" for f, n in self_time.most_common(30)]
    lines += ["", "inclusive time:"]
    lines += [f"{n / total:6.1%}  {f}" for f, n in inclusive.most_common(80)]
    out = ROOT / "bench" / "profiles" / "contacts-first-50.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"profile written to {out.relative_to(ROOT)}")


def set_rls(url: str, enabled: bool) -> None:
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        if enabled:
            conn.execute("alter table contacts enable row level security")
            conn.execute("alter table contacts force row level security")
        else:
            conn.execute("alter table contacts no force row level security")
            conn.execute("alter table contacts disable row level security")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenants", type=int, default=100)
    ap.add_argument("--contacts", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--anchor", action="store_true", help="PostGraphile side by side")
    ap.add_argument("--skip-postgraphile", action="store_true",
                    help="with --anchor: its PostgreSQL and data, but measure ours only")
    ap.add_argument("--rls", action="store_true", help="also measure with RLS disabled")
    ap.add_argument("--soak", type=int, default=0, help="requests for the memory check")
    ap.add_argument("--profile", action="store_true",
                    help="py-spy profile of our server under the 50-row load")
    a = ap.parse_args()
    if a.anchor and not Path("/tmp/anchor-venv/bin/python").exists():
        print("setting up the anchor (../shared/anchor/setup.sh: node, PostGraphile, data)...")
        subprocess.run([str(ANCHOR / "setup.sh")], check=True)
    if a.anchor:
        subprocess.run(["/tmp/anchor-venv/bin/python", str(ANCHOR / "setup_pg.py"), "start"],
                       check=True, capture_output=True)

    url = owner_url(a.anchor)
    upgrade(url, Settings())
    key = asyncio.run(seed(url, a.tenants, a.contacts))
    with psycopg.connect(libpq_dsn(url)) as conn:
        pg_version = conn.execute("show server_version").fetchone()[0]  # type: ignore[index]
    counts = asyncio.run(statements_per_request(derive_app_url(url, Settings()), key))
    rows: list[Row] = []
    memory: dict[str, float] = {}

    if a.anchor and not a.skip_postgraphile:
        env = dict(os.environ, WORKERS=str(a.workers))
        subprocess.run([str(ANCHOR / "bench" / "start_server.sh")], env=env, check=True,
                       capture_output=True)
        try:
            measure(f"PostGraphile x{a.workers}", lambda p, d: theirs(p, d), [50, 10], a.rounds,
                    a.duration, rows)
        finally:
            pid = int(Path("/tmp/anchor-pgl.pid").read_text())
            os.kill(pid, signal.SIGTERM)
            time.sleep(2)

    proc = start_server(url, a.workers)
    label = f"ours x{a.workers}"
    try:
        measure(label, lambda p, d: ours(key, FLAT % p, d), [50, 10], a.rounds, a.duration, rows)
        measure(label, lambda p, d: ours(key, NESTED % p, d), [50], a.rounds, a.duration, rows,
                "nested")
        if a.profile:
            profile(proc.pid, key, a.duration)
        if a.soak:
            memory["before"] = rss_mib(proc.pid)
            rps = rows[0][3]["rps"]
            ours(key, FLAT % 50, max(5, int(a.soak / rps)))
            memory["after"] = rss_mib(proc.pid)
            memory["requests"] = a.soak
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    if a.rls:
        set_rls(url, False)
        proc = start_server(url, a.workers)
        try:
            measure(f"ours x{a.workers}, RLS off", lambda p, d: ours(key, FLAT % p, d), [50],
                    a.rounds, a.duration, rows)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
            set_rls(url, True)

    report(a, rows, counts, memory, pg_version)


def report(a: argparse.Namespace, rows: list[Row], counts: dict[str, int],
           memory: dict[str, float], pg_version: str) -> None:
    print(f"\nMachine: {machine()}; PostgreSQL {pg_version}")
    print(f"Data: {a.tenants} tenants x {a.contacts} contacts; load: wrk -t2 -c16 -d{a.duration}s,"
          f" median of {a.rounds} rounds; {a.workers} server process(es) each\n")
    anchor = {(page): r for label, q, page, r in rows if label.startswith("PostGraphile")}
    print("| server | query | req/s | p50 | p99 | vs PostGraphile req/s | p99 |")
    print("|---|---|---|---|---|---|---|")
    for label, query, page, r in rows:
        ref = anchor.get(page) if not label.startswith("PostGraphile") else None
        ratio = (f"{r['rps'] / ref['rps']:.2f}x | {r['p99_ms'] / ref['p99_ms']:.2f}x"
                 if ref and query == "flat" and "RLS" not in label else " | ")
        print(f"| {label} | {query} {page} rows | {r['rps']:,.0f} | {r['p50_ms']:.1f} ms | "
              f"{r['p99_ms']:.1f} ms | {ratio} |")
    flat50 = next((r for label, q, p, r in rows if q == "flat" and p == 50
                   and label.startswith("ours") and "RLS" not in label), None)
    nested = next((r for label, q, p, r in rows if q == "nested"), None)
    rls_off = next((r for label, q, p, r in rows if "RLS off" in label), None)
    if flat50 and nested:
        print(f"\nNested (company and owner) vs flat, 50 rows: "
              f"{flat50['rps'] / nested['rps']:.2f}x the time per request")
    if flat50 and rls_off:
        print(f"RLS cost, 50 rows: {(rls_off['rps'] / flat50['rps'] - 1) * 100:+.1f}% throughput "
              f"with RLS off")
    if memory:
        print(f"Server memory: {memory['before']:.0f} MiB -> {memory['after']:.0f} MiB over "
              f"{memory['requests']:,.0f} more requests")
    print("SQL statements per request, compiled plan on the read lane (set_config counted; "
          "no BEGIN/COMMIT is sent): " +
          ", ".join(f"{k} rows: {v}" for k, v in counts.items()))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"run-{int(time.time())}.json").write_text(json.dumps(
        {"machine": machine(), "pg": pg_version, "args": vars(a), "rows": rows,
         "statements": counts, "memory": memory}, indent=1, default=str))


if __name__ == "__main__":
    main()

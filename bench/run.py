"""Read-path benchmark: `contacts(first: N)` over HTTP against the real server (not a test).

    .venv/bin/python bench/run.py [--tenants 100] [--contacts 1000] [--workers 1]
                                  [--duration 20] [--rounds 3] [--fresh]

Uses DATABASE_URL (an owner URL) if set, else an embedded PostgreSQL in .crm/bench. Seeds
tenants x contacts once (shape of ../shared/anchor/seed.sql), starts `crm serve`, loads it with
`wrk -t2 -c16` (as the PostGraphile anchor is loaded) for 50- and 10-row pages, and counts SQL
statements per request in-process for flat and nested queries. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
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
PORT = 8800
FLAT = "{ contacts(first: %d) { nodes { id name email phone createdAt } } }"
NESTED = "{ contacts(first: %d) { nodes { id name company { name } owner { name } } } }"

SEED_CONTACTS = """
insert into contacts (tenant_id, id, name, email, phone, created_at, updated_at)
select %(tenant)s, gen_random_uuid(), f || ' ' || l,
       lower(f || '.' || l || '@' || d), p, c, c
from (
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
         now() - random() * interval '730 days' as c
  from generate_series(1, %(n)s)
) s
"""


def owner_url() -> str:
    if os.environ.get("DATABASE_URL"):
        admin = normalise_db_url(os.environ["DATABASE_URL"])
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
        if have != tenants or not keyfile.exists():
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
                    await session.execute(text(SEED_CONTACTS.replace(
                        "%(tenant)s", f"'{new.tenant.id}'").replace("%(n)s", str(contacts))))
                if n == 1:
                    async with db.scoped(new.tenant.id) as session:
                        issued = await create_api_key(session, system_context(new.tenant.id),
                                                      name="bench", role_key="viewer")
                    first_key = issued.secret
            async with db.scoped(None) as session:
                await session.execute(text("analyze"))
            DATA.mkdir(parents=True, exist_ok=True)
            keyfile.write_text(json.dumps({"key": first_key}))
        return str(json.loads(keyfile.read_text())["key"])
    finally:
        await db.dispose()


def start_server(url: str, workers: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DATABASE_URL=url, ENV="production", LOG_LEVEL="WARNING",
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


def wrk(key: str, query: str, duration: int) -> dict[str, Any]:
    env = dict(os.environ, KEY=key, QUERY=query.replace('"', '\\"'))
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{duration}s", "--latency", "-s",
                          str(ROOT / "bench" / "post.lua"), f"http://127.0.0.1:{PORT}/graphql"],
                         env=env, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("JSON "))
    return json.loads(line[5:])  # type: ignore[no-any-return]


async def statements_per_request(app_url: str, key: str) -> dict[str, int]:
    from infra.app import create_app

    settings = Settings(env="production")
    app = create_app(settings, app_database_url=app_url,
                     redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                     access_log=False)
    engine = app.app.state.db.engine.sync_engine  # type: ignore[attr-defined]
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    db.statement_listeners.append(seen.append)  # statements sent on the driver directly
    counts = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://bench") as client:
        for name, doc in (("flat", FLAT), ("nested", NESTED)):
            for n in (10, 50):
                seen.clear()
                r = await client.post("/graphql", json={"query": doc % n},
                                      headers={"Authorization": f"Bearer {key}"})
                assert r.status_code == 200 and "errors" not in r.json(), r.text
                counts[f"{name} {n}"] = len(seen)
    await app.app.state.db.dispose()  # type: ignore[attr-defined]
    return counts


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))) // 1024 // 1024
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenants", type=int, default=100)
    ap.add_argument("--contacts", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()

    url = owner_url()
    upgrade(url, Settings())
    key = asyncio.run(seed(url, a.tenants, a.contacts))
    with psycopg.connect(libpq_dsn(url)) as conn:
        pg_version = conn.execute("show server_version").fetchone()[0]  # type: ignore[index]
    counts = asyncio.run(statements_per_request(derive_app_url(url, Settings()), key))

    proc = start_server(url, a.workers)
    results: dict[int, list[dict[str, Any]]] = {}
    try:
        for page in (50, 10):
            wrk(key, FLAT % page, 5)  # warm-up: caches, prepared statements, pool
            results[page] = [wrk(key, FLAT % page, a.duration) for _ in range(a.rounds)]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)

    print(f"\nMachine: {machine()}, PostgreSQL {pg_version}")
    print(f"Data: {a.tenants} tenants x {a.contacts} contacts; server: crm serve --workers "
          f"{a.workers}; load: wrk -t2 -c16 -d{a.duration}s, median of {a.rounds} rounds\n")
    print("| query | req/s | p50 | p99 | errors |")
    print("|---|---|---|---|---|")
    for page, runs in results.items():
        rps, p50, p99 = (statistics.median(r[k] for r in runs) for k in ("rps", "p50_ms", "p99_ms"))
        print(f"| contacts(first: {page}), 5 fields | {rps:,.0f} | {p50:.1f} ms | {p99:.1f} ms "
              f"| {sum(r['errors'] for r in runs)} |")
    print("\nSQL statements per request (BEGIN/COMMIT not counted; set_config and the API key "
          "lookup share one round trip): " +
          ", ".join(f"{k} rows: {v}" for k, v in counts.items()))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"run-{int(time.time())}.json").write_text(json.dumps(
        {"machine": machine(), "pg": pg_version, "args": vars(a), "wrk": results,
         "statements": counts}, indent=1))


if __name__ == "__main__":
    main()

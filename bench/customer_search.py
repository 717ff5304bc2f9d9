"""Customer search latency and ranking on 100,000 contacts in one tenant (not a test).

    .venv/bin/python bench/customer_search.py                 # seeds once (bench/seed_customers.py)
    .venv/bin/python bench/customer_search.py --fresh --repeat 10

Starts `crm serve --workers 1` on the seeded database and sends `customerSearch(first: 20)` over
HTTP, one request at a time, with a manager's API key (reads every customer) and as a sales rep
signed in (the record rule: their own customers only). The query mix is drawn from the seeded
data: a single Chinese surname, a given name, a full Chinese name, a company fragment, an email's
start, seven digits of a mobile number, and an English name with two letters swapped. For each
query it checks that the right records come first, and it prints the plans (auto_explain, as
the app role) showing the search indexes in use. Results also go to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.seed_customers import SURNAMES, bench_database, seed_customers  # noqa: E402
from infra.migrate import libpq_dsn  # noqa: E402
from infra.settings import Settings  # noqa: E402
from modules.customers import search  # noqa: E402

PORT = 8093
SECRET = "bench-secret-key-not-for-production-use-0000"
SEARCH = """query($q: String!) { customerSearch(query: $q, first: 20) {
  edges { matchedOn match node { __typename id name email phone
    ... on Contact { company { name } } } } } }"""
LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { tenant { slug } } }"""


@dataclass
class Query:
    kind: str
    text: str
    check: Callable[[list[dict[str, Any]]], bool]  # the first results are the right ones


def _names(edges: list[dict[str, Any]]) -> list[str]:
    return [e["node"]["name"] for e in edges]


def _alike(a: str, b: str) -> float:
    """pg_trgm's similarity, in Python: shared trigrams of the padded words over all."""
    def grams(text: str) -> set[str]:
        out: set[str] = set()
        for word in text.lower().split():
            padded = f"  {word} "
            out |= {padded[i:i + 3] for i in range(len(padded) - 2)}
        return out

    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y) if x | y else 0.0


def query_mix(url: str, tenant_id: str, per_kind: int, seed: int) -> list[Query]:
    """Queries drawn from the seeded rows, each with what must come first."""
    rng = random.Random(seed)
    with psycopg.connect(libpq_dsn(url)) as conn:
        def sample(sql: str) -> list[Any]:
            return conn.execute(sql + " order by md5(id::text || %s) limit %s",
                                (tenant_id, str(seed), per_kind)).fetchall()

        chinese = sample("select name from contacts where tenant_id = %s "
                         "and name ~ '^[一-龥]{2,4}$'")
        english = sample("select name from contacts where tenant_id = %s and name ~ ' '")
        companies = sample("select name from companies where tenant_id = %s "
                           "and name ~ '^[一-龥]+$'")
        emails = sample("select email from contacts where tenant_id = %s and email is not null")
        phones = sample("select phone from contacts where tenant_id = %s and phone is not null")
    compound = {s for s, _, _ in SURNAMES if len(s) > 1}
    out: list[Query] = []
    for s, _, _ in SURNAMES[:per_kind]:
        out.append(Query("surname", s, lambda e, s=s: bool(e) and all(
            n.startswith(s) for n in _names(e)) and len(_names(e)[0]) == len(s) + 1))
    for (name,) in chinese:
        surname = next((c for c in compound if name.startswith(c)), name[0])
        given = name[len(surname):]
        out.append(Query("given name", given,
                         lambda e, g=given: bool(e) and g in _names(e)[0]))
        out.append(Query("full Chinese name", name,
                         lambda e, n=name: bool(e) and _names(e)[0] == n
                         and e[0]["match"] == "EXACT"))
    for (name,) in companies:
        fragment = name[2:6]  # the brand and the start of the industry: 星辰科技
        out.append(Query("company fragment", fragment,
                         lambda e, f=fragment: bool(e) and e[0]["node"]["__typename"] == "Company"
                         and f in _names(e)[0]))
    for (email,) in emails:
        prefix = email[:rng.randint(6, 10)]
        # First: a record whose email starts with it (or whose name does: `james.` finds
        # James Smith as well as james.smith@…, both prefixes, the shorter name first).
        out.append(Query("email prefix", prefix,
                         lambda e, p=prefix: bool(e) and (
                             (e[0]["node"]["email"] or "").startswith(p)
                             or _names(e)[0].lower().startswith(p.rstrip(".")))))
    for (phone,) in phones:
        digits = phone[-9:-2]  # seven digits from the middle of the mobile number
        out.append(Query("phone fragment", digits,
                         lambda e, d=digits: bool(e) and d in (e[0]["node"]["phone"] or "")))
    for (name,) in english:
        first, last = name.split(" ", 1)

        def swapped(word: str) -> str:  # two letters inside the word, swapped
            i = rng.randrange(1, max(2, len(word) - 2))
            return f"{word[:i]}{word[i + 1]}{word[i]}{word[i + 2:]}"

        typo = f"{first} {swapped(last)}" if len(last) >= 4 else f"{swapped(first)} {last}"
        # Right: the name meant, or one as alike (`Jessica Hlil`: Hill and Hall tie).
        out.append(Query("typo'd English name", typo,
                         lambda e, n=name, t=typo: bool(e) and (
                             _names(e)[0].lower() == n.lower() or _alike(t, _names(e)[0])
                             >= _alike(t, n))))
    return out


def start_server(url: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DATABASE_URL=url, ENV="production", LOG_LEVEL="WARNING",
               SECRET_KEY=SECRET, REDIS_URL=os.environ.get("REDIS_URL",
                                                           "redis://127.0.0.1:6379/0"))
    env.pop("APP_DATABASE_URL", None)
    # Production refuses to start without the sealing keys: throwaway ones (the benches seal
    # nothing they read back across runs).
    env.setdefault("PII_KEYS", "bench:" + base64.b64encode(os.urandom(32)).decode())
    env.setdefault("PII_INDEX_KEY", base64.b64encode(os.urandom(32)).decode())
    proc = subprocess.Popen([str(Path(sys.executable).with_name("crm")), "serve", "--port",
                             str(PORT), "--workers", "1"], env=env, start_new_session=True)
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


def measure(client: httpx.Client, headers: dict[str, str], queries: list[Query], repeat: int
            ) -> tuple[dict[str, list[float]], list[str]]:
    """Latencies (ms) by kind, and the queries whose first results were wrong."""
    times: dict[str, list[float]] = {}
    wrong: list[str] = []
    for q in queries:  # warm-up, and the ranking check on the answer
        body = client.post("/graphql", json={"query": SEARCH, "variables": {"q": q.text}},
                           headers=headers).json()
        if "errors" in body:
            raise SystemExit(f"{q.text!r}: {body['errors']}")
        edges = body["data"]["customerSearch"]["edges"]
        if not q.check(edges):
            wrong.append(f"{q.kind} {q.text!r}: {_names(edges)[:3]}")
    for _ in range(repeat):
        for q in queries:
            started = time.perf_counter()
            response = client.post("/graphql", json={"query": SEARCH,
                                                     "variables": {"q": q.text}},
                                   headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200 and "errors" not in response.json()
            times.setdefault(q.kind, []).append(elapsed)
    return times, wrong


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def plans(url: str, tenant_id: str, queries: list[Query]) -> str:
    """The plans of one query of each kind, as the app role: auto_explain (loaded by the
    owner) reports the statements inside the finder functions too."""
    settings = Settings()
    out: list[str] = []
    seen: set[str] = set()
    for q in queries:
        if q.kind in seen:
            continue
        seen.add(q.kind)
        term = search.parse_term(q.text, "CN")
        shape = search.SearchShape(term.route, term.phone_route, term.similar, True, True, False)
        params = {**search.term_params(term), "tenant_id": tenant_id, "actor_user_id": None,
                  "limit": 21}
        notices: list[str] = []
        with psycopg.connect(libpq_dsn(url)) as conn:
            conn.add_notice_handler(lambda d, into=notices: into.append(d.message_primary or ""))
            conn.execute("load 'auto_explain'")
            for setting, value in [("log_min_duration", "0"), ("log_analyze", "on"),
                                   ("log_nested_statements", "on"), ("log_level", "notice"),
                                   ("log_timing", "on")]:
                conn.execute(f"set auto_explain.{setting} = {value}")
            conn.execute(f"set role {settings.app_db_role}")
            conn.execute("select set_config('app.tenant_id', %s, true)", (tenant_id,))
            conn.execute(search.page_sql(shape), params).fetchall()
        out.append(f"-- {q.kind}: {q.text!r} ({term.route}"
                   f"{', similar' if term.similar else ''}"
                   f"{', phone ' + str(term.phone_route) if term.phone_route else ''})")
        for notice in notices:
            for line in notice.splitlines():
                keep = ("Index Scan" in line or "Seq Scan" in line
                        or "Bitmap Index" in line or "Index Cond" in line)
                if keep and "generate_series" not in line:
                    out.append("   " + line.strip())
    return "\n".join(out)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", default="crm_bench_customers")
    ap.add_argument("--fresh", action="store_true", help="drop and seed the database again")
    ap.add_argument("--per-kind", type=int, default=20, help="queries of each kind")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of the whole mix")
    a = ap.parse_args()
    if a.fresh and os.environ.get("DATABASE_URL"):
        with psycopg.connect(libpq_dsn(os.environ["DATABASE_URL"]), autocommit=True) as conn:
            conn.execute(f'drop database if exists "{a.database}" with (force)')
    url = bench_database(a.database)
    seeded = asyncio.run(seed_customers(url))
    queries = query_mix(url, seeded.tenant_id, a.per_kind, 7)
    with psycopg.connect(libpq_dsn(url)) as conn:
        pg = conn.execute("show server_version").fetchone()[0]  # type: ignore[index]
    load_before = os.getloadavg()
    proc = start_server(url)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=30) as client:
            rep = seeded.members["sales1"]
            signed_in = client.post("/graphql", json={"query": LOGIN, "variables": {
                "email": rep.email, "password": "bench-password"}},
                headers={"X-Requested-By": "bench"})
            if signed_in.status_code != 200 or "errors" in signed_in.json():
                raise SystemExit(f"sign-in failed: {signed_in.text}")
            # The session cookie is Secure in production: over plain HTTP it is sent by hand.
            cookie = signed_in.headers["set-cookie"].split(";", 1)[0]
            client.cookies.clear()
            manager = {"Authorization": f"Bearer {seeded.keys['manager']}"}
            times, wrong = measure(client, manager, queries, a.repeat)
            sales_times, _ = measure(client, {"X-Requested-By": "bench", "Cookie": cookie},
                                     queries, a.repeat)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    load_after = os.getloadavg()

    rows = []
    for kind, values in [*times.items(), ("all, manager", sum(times.values(), [])),
                         ("all, sales rep (own customers)", sum(sales_times.values(), []))]:
        rows.append((kind, len(values), statistics.median(values), percentile(values, 99)))
    stamp = datetime.now(UTC)
    print(f"\n{stamp:%Y-%m-%d %H:%M} UTC, {machine()}, PostgreSQL {pg}; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; "
          f"{seeded.contacts:,} contacts and {seeded.companies:,} companies in one tenant; "
          f"customerSearch(first: 20) over HTTP, one at a time, {a.repeat} runs of "
          f"{len(queries)} queries\n")
    print("| query | requests | p50 | p99 |\n|---|---|---|---|")
    for kind, n, p50, p99 in rows:
        print(f"| {kind} | {n} | {p50:.1f} ms | {p99:.1f} ms |")
    print(f"\nright records first: {len(queries) - len(wrong)} of {len(queries)} queries")
    for line in wrong:
        print("  wrong:", line)
    explained = plans(url, seeded.tenant_id, queries)
    print("\nplans (as the app role; the finders' statements and the page's reads):\n" + explained)
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"customer_search-{stamp:%Y%m%dT%H%M}.json").write_text(json.dumps({
        "at": stamp.isoformat(), "machine": machine(), "postgres": pg,
        "load": [load_before, load_after],
        "rows": [{"kind": k, "n": n, "p50": p50, "p99": p99} for k, n, p50, p99 in rows],
        "wrong": wrong, "plans": explained}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

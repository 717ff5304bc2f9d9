"""Webhook delivery benchmark: deliveries per second to a local receiver, and the delay from a
write's commit to its delivery (p50/p99), with 1 and 2 worker processes.

    .venv/bin/python bench/webhooks.py                      # DATABASE_URL/REDIS_URL or embedded
    .venv/bin/python bench/webhooks.py --events 2000 --rate 20 --seconds 15 --workers 1 2

The whole path is the product's: a contact created through its service in a unit of work that
commits (its outbox event, the relay sent after commit), the relay and the `webhooks` consumer
and the `webhooks.deliver` actor in real `dramatiq workers.entry` processes on the real Redis
broker, a signed POST to a threaded HTTP receiver on loopback, which notes the arrival.

- Throughput: with the workers stopped, `--events` contacts are committed (a backlog in the
  outbox); the workers start and the rate at which the receiver gets deliveries (first to last)
  is the figure: relay, fan-out, attempt and HTTP included.
- Delay: with the workers running, contacts are committed at `--rate` a second for
  `--seconds`; each delivery's delay is its arrival at the receiver minus its commit (the same
  clock: both in this process).

A fresh database is created for the run on DATABASE_URL's server (or an embedded one) and
dropped afterwards. Not a test: the figures depend on the machine (see the README).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.db import Database, UnitOfWork  # noqa: E402
from infra.embedded import (  # noqa: E402
    derive_app_url,
    normalise_db_url,
    start_embedded_postgres,
    start_embedded_redis,
)
from infra.migrate import libpq_dsn, upgrade  # noqa: E402
from infra.settings import Settings  # noqa: E402
from modules.customers.service import contacts  # noqa: E402
from modules.webhooks.service import webhook_subscriptions  # noqa: E402
from modules.webhooks.targets import TargetPolicy  # noqa: E402
from tenancy.context import system_context  # noqa: E402
from tenancy.service import create_tenant  # noqa: E402
from workers.broker import build_broker  # noqa: E402
from workers.outbox import relay_through  # noqa: E402

DATA = ROOT / ".crm" / "bench-webhooks"


class Receiver:
    """Notes when each contact's delivery first arrives (by the contact's global id)."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.requests = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                now = time.time()
                record = json.loads(body)["data"]["id"]
                with owner.lock:
                    owner.requests += 1
                    owner.arrivals.setdefault(record, now)
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def wait_for(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.count()} of {n} deliveries arrived")
            time.sleep(0.05)


class Bench:
    def __init__(self, owner_url: str, redis_url: str, settings: Settings) -> None:
        self.owner_url, self.redis_url, self.settings = owner_url, redis_url, settings
        self.app_url = derive_app_url(owner_url, settings)
        self.receiver = Receiver()
        self.commits: dict[str, float] = {}
        self.broker: Any = None

    async def setup(self) -> None:
        self.db = Database(self.app_url, pool_size=10, max_overflow=0, read_pool_size=1)
        owner = Database(self.owner_url, pool_size=1, max_overflow=0)
        async with owner.sessions() as session, session.begin():
            new = await create_tenant(session, name="Webhook bench", slug="webhook-bench",
                                      admin_email="admin@webhook-bench.example.com",
                                      admin_password=None)
        await owner.dispose()
        self.tenant_id = new.tenant.id
        self.ctx = system_context(self.tenant_id, request_id="bench")
        await self.write(webhook_subscriptions.create, {
            "url": self.receiver.url, "event_types": ["contact.created"],
            "description": "bench"}, policy=TargetPolicy(allow_private=True))

    async def write(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        uow = UnitOfWork(self.db)
        uow.scope(self.tenant_id)
        try:
            row = await uow.run_atomic(lambda s: method(s, self.ctx, *args, **kwargs))
            await uow.commit()
        finally:
            await uow.rollback()
        return row

    async def contact(self, name: str) -> None:
        row = await self.write(contacts.create, {"name": name})
        from infra.global_ids import to_global_id

        self.commits[to_global_id("Contact", row.id)] = time.time()

    async def backlog(self, n: int, concurrency: int = 8) -> None:
        queue = iter(range(n))

        async def writer() -> None:
            for i in queue:
                await self.contact(f"积压客户 {i}")

        await asyncio.gather(*(writer() for _ in range(concurrency)))

    async def paced(self, rate: float, seconds: float) -> int:
        start, n = time.monotonic(), 0
        pending: set[asyncio.Task[None]] = set()
        while time.monotonic() - start < seconds:
            due = start + n / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            task = asyncio.create_task(self.contact(f"匀速客户 {n}"))
            pending.add(task)
            task.add_done_callback(pending.discard)
            n += 1
        await asyncio.gather(*pending)
        return n


def start_workers(bench: Bench, processes: int, threads: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "APP_DATABASE_URL", "REDIS_URL")}
    env.update(ENV="production", SECRET_KEY="b" * 48, DATABASE_URL=bench.owner_url,
               APP_DATABASE_URL=bench.app_url, REDIS_URL=bench.redis_url,
               REDIS_KEY_PREFIX=bench.settings.redis_key_prefix, LOG_LEVEL="INFO",
               WEBHOOKS_ALLOW_PRIVATE_TARGETS="true", PYTHONPATH=str(ROOT))
    out = log.open("ab")
    worker = subprocess.Popen([sys.executable, "-m", "dramatiq", "workers.entry", "--processes",
                               str(processes), "--threads", str(threads)],
                              env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                              start_new_session=True)
    deadline = time.monotonic() + 60
    while log.read_text(errors="replace").count("ready for action") < processes:
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log.read_text(errors="replace")[-2000:])
        time.sleep(0.1)
    return worker


def stop(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(processes: int, args: argparse.Namespace, admin_url: str, redis_url: str
        ) -> dict[str, Any]:
    name = f"crm_bench_webhooks_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_dsn(admin_url), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    owner_url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    settings = Settings(env="production", secret_key="b" * 48, database_url=owner_url,
                        redis_url=redis_url, redis_key_prefix=f"{name}:")
    log = DATA / f"{name}.log"
    DATA.mkdir(parents=True, exist_ok=True)
    try:
        upgrade(owner_url, settings)
        bench = Bench(owner_url, redis_url, settings)
        # The relay of each commit goes through this broker, as a request's does in the server
        # (set here: each task of the loop copies this context).
        bench.broker = build_broker(settings, redis_url)
        relay_through(bench.broker)
        loop = asyncio.new_event_loop()
        loop.run_until_complete(bench.setup())

        # Throughput: a backlog, then the workers drain it.
        loop.run_until_complete(bench.backlog(args.events))
        worker = start_workers(bench, processes, args.threads, log)
        try:
            bench.receiver.wait_for(args.events, timeout=600)
            arrivals = sorted(bench.receiver.arrivals.values())
            span = arrivals[-1] - arrivals[0]
            throughput = (len(arrivals) - 1) / span if span > 0 else float("nan")

            # Delay: paced writes while the workers run.
            bench.commits.clear()
            before = bench.receiver.count()
            sent = loop.run_until_complete(bench.paced(args.rate, args.seconds))
            bench.receiver.wait_for(before + sent, timeout=120)
        finally:
            stop(worker)
        delays = [(bench.receiver.arrivals[k] - t) * 1000 for k, t in bench.commits.items()]
        loop.run_until_complete(bench.db.dispose())
        loop.close()
        bench.broker.client.close()
        return {"workers": processes, "threads": args.threads, "events": args.events,
                "throughput": throughput, "requests": bench.receiver.requests,
                "paced": sent, "rate": args.rate, "p50": statistics.median(delays),
                "p99": percentile(delays, 99), "max": max(delays)}
    finally:
        if not args.keep:
            with psycopg.connect(libpq_dsn(admin_url), autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="backlog for the throughput")
    parser.add_argument("--rate", type=float, default=20.0, help="writes a second, for the delay")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long to write at --rate")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--keep", action="store_true", help="keep the run's database")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL")
    admin_url = normalise_db_url(base) if base else start_embedded_postgres(
        DATA / "pg", database="postgres")
    redis_url = os.environ.get("REDIS_URL") or start_embedded_redis(DATA)
    results = [run(n, args, admin_url, redis_url) for n in args.workers]
    print("| worker processes | threads each | deliveries/s (backlog of "
          f"{args.events:,}) | commit → delivery p50 | p99 | max (at {args.rate:g}/s) |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['workers']} | {r['threads']} | {r['throughput']:,.0f} | "
              f"{r['p50']:,.0f} ms | {r['p99']:,.0f} ms | {r['max']:,.0f} ms |")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

"""`crm worker` and `crm scheduler` as an operator runs them, on configured servers."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psutil
import psycopg

from tests.conftest import Servers
from tests.factories import TenantFactory
from tests.infra.test_cli import CRM
from tests.workers import effects
from tests.workers.harness import Process, make_effects_table, worker_env
from workers.broker import build_broker


def test_crm_worker_becomes_dramatiq_runs_the_actors_and_stops_on_sigterm(
        servers: Servers, tenants: TenantFactory, tmp_path: Path) -> None:
    make_effects_table(servers)
    tenant = tenants.make()
    worker = Process([*CRM, "worker", "--processes", "1", "--threads", "2"],
                     worker_env(servers), tmp_path / "worker.log")
    try:
        worker.wait_for("is ready for action")
        # With servers configured, Dramatiq is the process a process manager signals.
        assert "dramatiq workers.entry" in " ".join(psutil.Process(worker.popen.pid).cmdline())
        effects.touch.send(tenant.id, "cli", broker=build_broker(servers.settings,
                                                               servers.redis_url))
        deadline = time.monotonic() + 30
        while True:
            with psycopg.connect(servers.owner_dsn) as conn:
                done = conn.execute("select count(*) from test_consumer_effects where "
                                    "tenant_id = %s", (tenant.id,)).fetchone()
            if done == (2,):  # the actor's effect and its follow-up's
                break
            assert time.monotonic() < deadline, worker.output()[-2000:]
            time.sleep(0.1)
        worker.popen.send_signal(signal.SIGTERM)
        assert worker.popen.wait(timeout=30) == 0
    finally:
        worker.stop()


def test_crm_scheduler_says_what_it_schedules(servers: Servers, tmp_path: Path) -> None:
    scheduler = Process([*CRM, "scheduler"], worker_env(servers), tmp_path / "scheduler.log")
    try:
        scheduler.wait_for("scheduler started")
        assert "outbox.sweep" in scheduler.output() and "outbox.prune" in scheduler.output()
        scheduler.popen.send_signal(signal.SIGTERM)
        assert scheduler.popen.wait(timeout=30) in (0, 143)
    finally:
        scheduler.stop()

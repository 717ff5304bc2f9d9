"""Real worker and scheduler processes for the tests, on the run's database and a Redis.

Dramatiq's timings are lowered (heartbeats of 2 s, maintenance on every fifth broker command,
sweeps every second) so a killed worker's messages come back in seconds, not a minute.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import psycopg

from tests.conftest import ROOT, Servers
from tests.workers import effects

FAST = {
    "WORKER_HEARTBEAT_TIMEOUT_MS": "2000",
    "WORKER_MAINTENANCE_CHANCE": "200000",
    "OUTBOX_SWEEP_SECONDS": "1",
    "OUTBOX_SWEEP_GRACE_SECONDS": "1",
    "dramatiq_worker_timeout": "100",  # idle consumers poll every 0.1 s (crm worker does too)
}


def make_effects_table(servers: Servers) -> None:
    with psycopg.connect(servers.owner_dsn, autocommit=True) as conn:
        conn.execute(effects.CREATE)
        conn.execute(f"grant select, insert on {effects.TABLE} to {servers.settings.app_db_role}")


def worker_env(servers: Servers, *, redis_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "APP_DATABASE_URL", "REDIS_URL")}
    env.update(FAST)
    env.update(
        ENV="test", DATABASE_URL=servers.owner_url, APP_DATABASE_URL=servers.app_url,
        REDIS_URL=redis_url or servers.redis_url,
        REDIS_KEY_PREFIX=servers.settings.redis_key_prefix, LOG_LEVEL="INFO",
        WORKER_IMPORTS="tests.workers.effects", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


class Process:
    """A `crm`-like child process with its output in a log file."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("ab")
        self.popen = subprocess.Popen(command, env=env, cwd=ROOT, stdout=self._out,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.popen.poll() is not None:
                raise RuntimeError(f"exited {self.popen.returncode}:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {text!r} in:\n{self.output()[-3000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL to the process and its children, as a crashed host does."""
        try:
            family = [psutil.Process(self.popen.pid), *psutil.Process(self.popen.pid).children(
                recursive=True)]
        except psutil.NoSuchProcess:
            family = []
        for process in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)
        self._out.close()

    def stop(self, timeout: float = 30) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._out.close()
        return self.popen.returncode


def start_worker(servers: Servers, log: Path, *, processes: int = 1, threads: int = 4,
                 **env: Any) -> Process:
    worker = Process([sys.executable, "-m", "dramatiq", "workers.entry", "--processes",
                      str(processes), "--threads", str(threads)],
                     worker_env(servers, **env), log)
    worker.wait_for("is ready for action", timeout=60)
    return worker


def start_scheduler(servers: Servers, log: Path, **env: Any) -> Process:
    scheduler = Process([sys.executable, "-m", "infra.cli", "scheduler"],
                        worker_env(servers, **env), log)
    scheduler.wait_for("scheduler started", timeout=60)
    return scheduler

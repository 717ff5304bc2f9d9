"""`crm serve` as an operator runs it, in a process of its own, its log captured in a file.

For what only a real server process shows: how it configures its logs, what ENV=production does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import Servers, _free_port
from tests.pii_keys import pii_settings

CRM = str(Path(sys.executable).with_name("crm"))
PRODUCTION_SECRET = "test-production-secret-key-0123456789abcdef"


class ServedApp:
    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def post(self, body: dict[str, object], **headers: str) -> httpx.Response:
        return httpx.post(f"{self.url}/graphql", json=body, timeout=30,
                          headers={"x-requested-by": "tests", **headers})  # as the web app


@contextmanager
def crm_serve(servers: Servers, log: Path, **env: str) -> Iterator[ServedApp]:
    """`crm serve` on a free loopback port with the test run's database and Redis."""
    port = _free_port()
    full_env = dict(os.environ, DATABASE_URL=servers.owner_url, REDIS_URL=servers.redis_url,
                    REDIS_KEY_PREFIX=servers.settings.redis_key_prefix,
                    SECRET_KEY=PRODUCTION_SECRET,
                    **{k.upper(): v for k, v in pii_settings().items()}, **env)
    for unset in ("APP_DATABASE_URL", "LOG_JSON", "LOG_LEVEL"):
        if unset not in env:
            full_env.pop(unset, None)
    with log.open("wb") as out:
        process = subprocess.Popen([CRM, "serve", "--port", str(port)], env=full_env,
                                   stdout=out, stderr=subprocess.STDOUT)
    app = ServedApp(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 90  # a busy machine
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"crm serve exited: {app.log_text()}")
            try:
                if httpx.get(f"{app.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"crm serve did not start: {app.log_text()}")
            time.sleep(0.1)
        yield app
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

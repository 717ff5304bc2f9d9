"""`crm dev` and `make dev` as a developer runs and stops them: real processes, embedded servers.

The lifecycle tests run `crm dev` with no DATABASE_URL / REDIS_URL, so it starts PostgreSQL and
Redis of its own, in a data directory of this module's: the first start pays for initdb.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import ROOT, _free_port
from tests.infra.test_cli import CRM


def dev_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "APP_DATABASE_URL", "REDIS_URL", "HOST")}
    return dict(env, DATA_DIR=str(data_dir), PORT=str(port), LOG_LEVEL="WARNING")


def test_a_busy_port_is_one_line_before_anything_starts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([*CRM, "dev"], env=dev_env(data_dir, port), cwd=tmp_path,
                                capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"error: 127.0.0.1:{port} is in use")
    assert "CRM running" not in result.stdout
    assert not data_dir.exists()  # no embedded server was started


def test_make_dev_takes_the_port_from_the_command_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = dev_env(tmp_path / "data", 0)
        del env["PORT"]
        # -o: whether the virtual environment and the web app are up to date is not this
        # test's business (`make test` has seen to both).
        result = subprocess.run(["make", "-s", "-o", ".venv/.installed", "-o", "web", "dev",
                                 f"PORT={port}"],
                                env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
                                check=False)
    assert result.returncode != 0
    assert f"error: 127.0.0.1:{port} is in use" in result.stderr


def servers_in(data_dir: Path) -> list[psutil.Process]:
    """Live processes working in the data directory: the embedded PostgreSQL (in `pg/`) and
    Redis both make it their working directory."""
    found = []
    for process in psutil.process_iter():
        try:
            if (process.status() != psutil.STATUS_ZOMBIE
                    and Path(process.cwd()).is_relative_to(data_dir)):
                found.append(process)
        except psutil.Error:
            continue
    return found


def servers_left(data_dir: Path) -> list[str]:
    deadline = time.monotonic() + 10
    while (left := servers_in(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [" ".join(process.cmdline()) for process in left]


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class Dev:
    """`crm dev` in a session of its own, as in a terminal of its own."""

    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        self.log = data_dir.parent / f"crm-dev-{self.port}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen([*CRM, "dev", "--no-seed"],
                                            env=dev_env(data_dir, self.port),
                                            cwd=data_dir.parent, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def output(self) -> str:
        return self.log.read_text()

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).is_success:
                    assert f"CRM running at http://127.0.0.1:{self.port}/" in self.output
                    assert f"Other commands: {CRM[0]} --help" in self.output
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"crm dev did not serve /healthz:\n{self.output}")

    def server_process(self) -> psutil.Process:
        (child,) = [c for c in psutil.Process(self.process.pid).children()
                    if "dev-server" in c.cmdline()]
        return child

    def background(self) -> list[psutil.Process]:
        """Its worker (Dramatiq's main process and its worker process) and its scheduler."""
        found = []
        for child in psutil.Process(self.process.pid).children(recursive=True):
            command = " ".join(child.cmdline())
            if "workers.entry" in command or command.endswith("infra.cli scheduler"):
                found.append(child)
        return found

    def exit_status(self) -> int:
        return self.process.wait(timeout=60)

    def port_is_free(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) != 0


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("dev") / "data"
    yield path
    for process in servers_in(path):  # whatever a failed test left behind
        process.kill()


@pytest.fixture
def start(data_dir: Path) -> Iterator[Callable[[], Dev]]:
    started: list[Dev] = []

    def start() -> Dev:
        started.append(Dev(data_dir))
        return started[-1]

    yield start
    for dev in started:
        if dev.process.poll() is None:
            os.killpg(dev.process.pid, signal.SIGKILL)
            dev.process.wait()


def test_sigterm_stops_the_server_and_the_embedded_servers(
    data_dir: Path, start: Callable[[], Dev]
) -> None:
    dev = start()
    dev.wait_until_serving()
    assert servers_in(data_dir)  # its own PostgreSQL and Redis
    background = dev.background()
    commands = [" ".join(p.cmdline()) for p in background]
    assert any("scheduler" in c for c in commands), commands  # and a worker and the scheduler
    assert any("dramatiq workers.entry" in c for c in commands), commands

    os.kill(dev.process.pid, signal.SIGTERM)  # as a process manager or `kill` stops it

    assert dev.exit_status() == 0, dev.output
    assert servers_left(data_dir) == []
    assert dev.port_is_free()
    assert not [p for p in background if _alive(p)]


def test_a_crashed_server_stops_the_embedded_servers(
    data_dir: Path, start: Callable[[], Dev]
) -> None:
    dev = start()
    dev.wait_until_serving()

    background = dev.background()
    dev.server_process().kill()  # as the OOM killer would

    assert dev.exit_status() == 1
    assert "error: the server stopped unexpectedly (killed by SIGKILL)" in dev.output
    assert servers_left(data_dir) == []
    assert background and not [p for p in background if _alive(p)]


def test_ctrl_c_stops_everything_even_after_a_crm_dev_was_killed_outright(
    data_dir: Path, start: Callable[[], Dev]
) -> None:
    killed = start()
    killed.wait_until_serving()
    background = killed.background()
    os.kill(killed.process.pid, signal.SIGKILL)  # nothing can clean up after this...
    killed.process.wait()
    deadline = time.monotonic() + 20
    while (not killed.port_is_free() or [p for p in background if _alive(p)]) and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    assert killed.port_is_free()  # ...but its server process goes with it
    assert background and not [p for p in background if _alive(p)]  # its worker and scheduler
    assert servers_in(data_dir)  # and the embedded servers are left, listing a dead user

    dev = start()
    dev.wait_until_serving()
    os.killpg(dev.process.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group

    assert dev.exit_status() == 0, dev.output
    assert servers_left(data_dir) == []
    assert "Traceback" not in dev.output

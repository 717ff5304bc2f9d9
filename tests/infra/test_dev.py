"""`crm dev` and `make dev` as a developer runs them: real processes, embedded servers."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from tests.conftest import ROOT
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
        # -o: whether the virtual environment is up to date is not this test's business.
        result = subprocess.run(["make", "-s", "-o", ".venv/.installed", "dev", f"PORT={port}"],
                                env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
                                check=False)
    assert result.returncode != 0
    assert f"error: 127.0.0.1:{port} is in use" in result.stderr

"""No secret ever reaches the log: no frame locals, secrets redacted by name and in exception
text, JSON in production. Checked against `crm serve` as an operator runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from infra.logging import redact_secrets
from tests.conftest import Servers
from tests.factories import PASSWORD, TenantFactory
from tests.infra.served import ServedApp, crm_serve

LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { tenant { slug } }
}"""


@pytest.fixture(scope="module")
def user_email(tenants: TenantFactory) -> str:
    return tenants.make().members["owner"].email


@contextmanager
def sessions_cannot_be_stored(servers: Servers) -> Iterator[None]:
    """A database hiccup in the middle of a login, after the password was checked."""
    with psycopg.connect(servers.owner_dsn, autocommit=True) as conn:
        role = servers.settings.app_db_role
        conn.execute(f"revoke insert on web_sessions from {role}")
        try:
            yield
        finally:
            conn.execute(f"grant insert on web_sessions to {role}")


def _internal_error_during_login(app: ServedApp, servers: Servers, email: str) -> str:
    with sessions_cannot_be_stored(servers):
        response = app.post({"query": LOGIN, "variables": {"email": email,
                                                           "password": PASSWORD}})
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL"
    return str(error["extensions"]["requestId"])


@pytest.mark.parametrize("env", ["development", "production"])
def test_an_internal_error_during_login_logs_a_traceback_but_never_the_password(
    servers: Servers, user_email: str, tmp_path: Path, env: str
) -> None:
    with crm_serve(servers, tmp_path / "server.log", ENV=env) as app:
        request_id = _internal_error_during_login(app, servers, user_email)
        # A NUL byte in the email took the same road before it was refused at the edge.
        app.post({"query": LOGIN, "variables": {"email": user_email + "\x00",
                                                "password": PASSWORD}})
        log = app.log_text()
    assert PASSWORD not in log
    assert "locals" not in log  # no frame's variables, whatever their names
    assert request_id in log and "Traceback" in log  # still diagnosable
    if env == "production":  # JSON by default, one object a line
        lines = [json.loads(line) for line in log.splitlines() if line.strip()]
        error = next(line for line in lines if line.get("request_id") == request_id)
        assert error["event"] == "unexpected error" and "Traceback" in error["exception"]


def test_secrets_are_redacted_by_name_and_in_text() -> None:
    exception = (
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in login\n'
        "sqlalchemy.exc.DataError: (psycopg.DataError) invalid input syntax for type uuid: "
        '"s3cr3t-value"\n'
        "[SQL: select * from auth_find_user(%(email)s, %(password)s)]\n"
        "[parameters: {'email': 'a@b.c', 'password': 'pa55'}]\n"
        "(Background on this error at: https://sqlalche.me/e/20/9h9h)\n"
        "DETAIL:  Key (email)=(leaked@example.com) already exists.\n"
        "headers: Authorization: Bearer crm_0123456789abcdef0123456789abcdef_abcdefghijklmnop\n"
        "password='pa55' token=t0k3n cookie: crm_session=c00k13"
    )
    out = redact_secrets(None, "error", {
        "event": "login as Bearer abc.def.ghi", "password": "pa55", "api_key": "k3y",
        "headers": {"Authorization": "Basic dXNlcjpwYXNz", "x-request-id": "r1"},
        "exception": exception, "request_id": "r1", "count": 3,
    })
    text = json.dumps(out)
    for secret in ("pa55", "k3y", "dXNlcjpwYXNz", "abc.def.ghi", "s3cr3t-value", "t0k3n",
                   "c00k13", "abcdefghijklmnop", "leaked@example.com"):
        assert secret not in text, secret
    assert out["request_id"] == "r1" and out["count"] == 3
    assert out["headers"]["x-request-id"] == "r1"
    assert "auth_find_user" in out["exception"]  # the statement stays: only values go


@pytest.mark.parametrize("json_lines", [True, False])
def test_library_log_lines_take_the_same_road(json_lines: bool) -> None:
    """uvicorn's, SQLAlchemy's and asyncio's records (standard logging) are redacted and
    formatted like ours; uvicorn's own handlers no longer print them."""
    script = f"""
import logging, uvicorn.config
logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)  # as uvicorn sets itself up
from infra.logging import configure_logging
configure_logging("INFO", json={json_lines})
def login(password):
    raise ValueError(f"could not connect: postgresql://app:{{password}}@db/crm")
try:
    login("pa55-in-a-frame")
except ValueError:
    logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "pa55-in-a-frame" not in done.stdout + done.stderr
    assert done.stderr.count("Exception in ASGI application") == 1  # once, by our handler
    assert "ValueError: could not connect: postgresql://app:[REDACTED]@db/crm" in (
        json.loads(done.stderr)["exception"] if json_lines else done.stderr)

"""The `crm` command as an operator types it, against the test database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

from tests.conftest import ROOT, GraphQLClient, Servers

CRM = [str(Path(sys.executable).with_name("crm"))]


def crm(servers: Servers, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=servers.owner_url, REDIS_URL=servers.redis_url,
               **extra_env)
    env.pop("APP_DATABASE_URL", None)
    return subprocess.run([*CRM, *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_tenant_create_then_apikey_create_gives_a_working_key(
    servers: Servers, gql: GraphQLClient
) -> None:
    slug = f"cli-{uuid.uuid4().hex[:6]}"
    created = crm(servers, "tenant", "create", "杭州绿源茶业", "--admin-email",
                  f"boss@{slug}.example.com", "--slug", slug)
    assert created.returncode == 0, created.stderr
    assert f"tenant created: {slug}" in created.stdout
    assert "password: " in created.stdout  # generated and shown once

    issued = crm(servers, "apikey", "create", "--tenant", slug, "--role", "manager",
                 "--name", "ERP")
    assert issued.returncode == 0, issued.stderr
    key = issued.stdout.strip().splitlines()[-1]
    me = gql.data("{ me { role tenant { slug name } } }", key=key)["me"]
    assert me == {"role": "manager", "tenant": {"slug": slug, "name": "杭州绿源茶业"}}


def test_cli_errors_are_clear(servers: Servers) -> None:
    missing = crm(servers, "apikey", "create", "--tenant", "no-such-tenant", "--role", "viewer",
                  "--name", "x")
    assert missing.returncode != 0
    assert "no tenant 'no-such-tenant'" in missing.stderr
    bad = crm(servers, "tenant", "create", "X", "--admin-email", "not-an-email")
    assert bad.returncode == 1
    assert "error (VALIDATION)" in bad.stderr and "adminEmail" in bad.stderr
    region = crm(servers, "tenant", "create", "X", "--admin-email", "x@example.com",
                 "--region", "CNX")
    assert region.returncode == 1
    assert "error (VALIDATION)" in region.stderr and "region" in region.stderr


def test_an_existing_user_made_owner_keeps_their_password(servers: Servers) -> None:
    email = f"boss-{uuid.uuid4().hex[:6]}@example.com"
    first = crm(servers, "tenant", "create", "First 一号", "--admin-email", email)
    assert first.returncode == 0, first.stderr
    second = crm(servers, "tenant", "create", "Second 二号", "--admin-email", email)
    assert second.returncode == 0, second.stderr
    assert "password: " not in second.stdout
    assert "an existing user: their password is unchanged" in second.stdout


def test_migrate_is_idempotent(servers: Servers) -> None:
    result = crm(servers, "migrate")
    assert result.returncode == 0, result.stderr
    assert "migrations applied" in result.stdout


def test_a_bad_setting_is_one_clear_line_not_a_traceback(servers: Servers) -> None:
    result = crm(servers, "migrate", ENV="production", SECRET_KEY="")
    assert result.returncode == 2
    assert result.stderr.startswith("error (SETTINGS): ")
    assert "SECRET_KEY" in result.stderr and "Traceback" not in result.stderr


def readme_cli_commands() -> list[str]:
    """The command lines of the README's CLI section, as a reader would copy them."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## CLI\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```\n", 2)[1]
    return [line.strip() for line in block.splitlines() if line and not line[0].isspace()]


def test_the_readme_cli_section_works_as_typed() -> None:
    """Typed in the project's directory in a fresh shell: the virtual environment is not on the
    PATH, as after `make dev`."""
    venv_bin = Path(sys.executable).parent.resolve()
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if p and Path(p).resolve() != venv_bin)
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(PATH=path, COLUMNS="200")
    commands = readme_cli_commands()
    assert len(commands) >= 5, commands
    for line in commands:
        words = line.split()
        # The command itself: up to the first option or placeholder (NAME, [--slug S]).
        command = " ".join(next(iter([words[:i] for i, w in enumerate(words)
                                      if w.startswith(("-", "[")) or w.isupper()]), words))
        shown = subprocess.run(["bash", "-c", f"{command} --help"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=60, check=False)
        assert shown.returncode == 0, (line, shown.stderr)
        for option in re.findall(r"--[a-z-]+", line):
            assert option in shown.stdout, (line, option)

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


def test_help_is_labelled_like_other_command_line_tools() -> None:
    helps = {args: subprocess.run([*CRM, *args, "--help"], capture_output=True, text=True,
                                  timeout=60, check=False, env=dict(os.environ, COLUMNS="200"))
             for args in [(), ("dev",), ("tenant", "create"), ("apikey", "revoke")]}
    for args, shown in helps.items():
        assert shown.returncode == 0, (args, shown.stderr)
        for odd in ("<bool>", "<str>", "<int>", "{"):  # typer's Python-type labels
            assert odd not in shown.stdout, (args, odd, shown.stdout)
    assert re.search(r"--port +PORT ", helps["dev",].stdout)
    assert re.search(r"--help +Show this message", helps[()].stdout)  # a flag takes no value
    assert "Usage: crm tenant create [OPTIONS] NAME" in helps["tenant", "create"].stdout
    assert re.search(r"--admin-email +EMAIL ", helps["tenant", "create"].stdout)
    assert "Usage: crm apikey revoke [OPTIONS] ID_OR_NAME" in helps["apikey", "revoke"].stdout


def test_a_chinese_name_gets_a_pinyin_slug_unique_among_tenants(servers: Servers) -> None:
    tag = uuid.uuid4().hex[:6]
    first = crm(servers, "tenant", "create", f"杭州绿源茶业 {tag}", "--admin-email",
                f"boss@{tag}.example.com")
    second = crm(servers, "tenant", "create", f"杭州绿源茶业 {tag}", "--admin-email",
                 f"boss@{tag}.example.com")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert f"tenant created: hangzhoulvyuanchaye-{tag}\n" in first.stdout
    assert f"tenant created: hangzhoulvyuanchaye-{tag}-2\n" in second.stdout

    listed = crm(servers, "tenant", "list")
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["SLUG", "NAME", "STATUS", "REGION", "CREATED", "(UTC)"]
    ours = [row for row in rows if row.startswith(f"hangzhoulvyuanchaye-{tag}")]
    assert len(ours) == 2
    assert all(f"杭州绿源茶业 {tag}" in row and " active " in row for row in ours)


def test_apikey_list_and_revoke(servers: Servers, gql: GraphQLClient) -> None:
    slug = f"keys-{uuid.uuid4().hex[:6]}"
    assert crm(servers, "tenant", "create", "钥匙测试", "--admin-email",
               f"boss@{slug}.example.com", "--slug", slug).returncode == 0
    keys = {name: crm(servers, "apikey", "create", "--tenant", slug, "--role", role,
                      "--name", name).stdout.strip()
            for name, role in [("ERP", "manager"), ("Ops", "admin")]}

    listed = crm(servers, "apikey", "list", "--tenant", slug)
    assert listed.returncode == 0, listed.stderr
    rows = {row.split()[1]: row.split() for row in listed.stdout.splitlines()[1:]}
    assert rows["ERP"][2] == "manager" and rows["ERP"][-1] == "active"
    assert rows["ERP"][-2] == "never"  # not used yet
    assert rows["Ops"][2] == "admin"

    revoked = crm(servers, "apikey", "revoke", "--tenant", slug, "ERP")
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.startswith(f"revoked: ERP ({rows['ERP'][0]}) at ")
    assert gql.post("{ me { role } }", key=keys["ERP"]).status_code == 401

    again = crm(servers, "apikey", "revoke", "--tenant", slug, rows["ERP"][0])  # by its ID
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("already revoked: ERP")
    assert crm(servers, "apikey", "list", "--tenant", slug).stdout.count(" revoked") == 1

    # As with the API's revokeApiKey: the key shows revoked, and one audit row says who did it.
    seen = gql.data("""{ apiKeys { nodes { id name revokedAt } }
        auditLog(filter: {entityType: "api_key", action: "revoked"}) {
          nodes { actorType requestId } } }""", key=keys["Ops"])
    erp = next(k for k in seen["apiKeys"]["nodes"] if k["name"] == "ERP")
    assert erp["id"] == rows["ERP"][0] and erp["revokedAt"] is not None
    assert seen["auditLog"]["nodes"] == [{"actorType": "system", "requestId": "cli"}]

    unknown = crm(servers, "apikey", "revoke", "--tenant", slug, "nope")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("error (NOT_FOUND): ")

    for _ in range(2):
        crm(servers, "apikey", "create", "--tenant", slug, "--role", "viewer", "--name", "BI")
    ambiguous = crm(servers, "apikey", "revoke", "--tenant", slug, "BI")
    assert ambiguous.returncode == 1
    assert ambiguous.stderr.startswith("error (CONFLICT): 2 API keys are named 'BI': give one")

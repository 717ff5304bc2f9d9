"""`crm schema` prints the GraphQL schema (SDL) for integrators, with no server or database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from graphql import build_schema as parse_sdl

from graphql_api.schema import build_schema
from infra.settings import Settings

CRM = str(Path(sys.executable).with_name("crm"))


def test_crm_schema_prints_the_sdl_anyone_can_build_a_client_from(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "APP_DATABASE_URL")}
    env["ENV"] = "production"  # an operator's machine: no database needed, no secret shown
    env["SECRET_KEY"] = "s" * 48
    done = subprocess.run([CRM, "schema"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == build_schema(Settings()).as_str().strip()
    sdl = parse_sdl(done.stdout)
    assert "login" in sdl.mutation_type.fields  # type: ignore[union-attr]
    assert "contacts" in sdl.query_type.fields  # type: ignore[union-attr]
    assert not (tmp_path / ".crm").exists()  # started nothing

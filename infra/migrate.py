"""Schema migrations (Alembic) and the two database roles.

The owner (the role in DATABASE_URL) runs migrations and owns every table. The application role
(`APP_DB_ROLE`, default `crm_app`) owns nothing, cannot bypass row-level security and gets only the
grants the migrations give it.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from psycopg import sql
from sqlalchemy.engine import make_url

from infra.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def libpq_dsn(url: str) -> str:
    """A SQLAlchemy URL as a libpq connection string for psycopg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def alembic_config(owner_url: str, app_role: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", owner_url.replace("%", "%%"))
    cfg.attributes["app_role"] = app_role
    return cfg


def ensure_app_role(owner_url: str, settings: Settings) -> None:
    """Create the application login role if it is missing, and make sure it has no privileges
    that would let it escape row-level security."""
    role, password = settings.app_db_role, settings.app_db_password
    with psycopg.connect(libpq_dsn(owner_url), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("create role {} login password {} nosuperuser nobypassrls nocreatedb "
                        "nocreaterole noinherit")
                .format(sql.Identifier(role), sql.Literal(password))
            )
        flags = conn.execute("select rolsuper, rolbypassrls from pg_roles where rolname = %s",
                             (role,)).fetchone()
        if flags and (flags[0] or flags[1]):
            raise RuntimeError(f"role {role} is a superuser or bypasses RLS: refusing it")
        dbname = conn.info.dbname
        conn.execute(sql.SQL("grant connect on database {} to {}").format(
            sql.Identifier(dbname), sql.Identifier(role)))


def upgrade(owner_url: str, settings: Settings, revision: str = "head") -> None:
    ensure_app_role(owner_url, settings)
    cfg = alembic_config(owner_url, settings.app_db_role)
    cfg.attributes["settings"] = settings  # data migrations that seal values need the keys
    command.upgrade(cfg, revision)


def current(owner_url: str, settings: Settings) -> None:
    command.current(alembic_config(owner_url, settings.app_db_role), verbose=False)

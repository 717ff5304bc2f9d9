"""The `crm` command: dev server, migrations, production server, tenants and API keys."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import unicodedata
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from infra.embedded import ServiceUrls, release_embedded, resolve_services, started_embedded
from infra.logging import configure_logging
from infra.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from infra.db import Database
    from tenancy.models import ApiKey, Tenant


def _conventional_help_labels() -> None:
    """typer 0.29 labels help with Python types: `--help <bool>` on flags, which take no value,
    `--port <int>`, and `{name}` for an argument in the usage line. Label as Unix tools do
    instead: flags bare, a value by its name (`--port PORT`), an argument by its name (`NAME`)."""
    from typer.core import TyperArgument, TyperOption

    def option_label(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        return self.metavar or (self.name or "value").upper()

    def argument_label(self: TyperArgument, ctx: Any) -> str | None:
        return None  # its name says it

    def argument_usage(self: TyperArgument) -> str:
        name = self.metavar or (self.name or "argument").upper()
        name = name if self.required else f"[{name}]"
        return f"{name}..." if self.nargs != 1 else name

    TyperOption.display_type_rich = option_label  # type: ignore[method-assign]
    TyperArgument.display_type_rich = argument_label  # type: ignore[method-assign,assignment]
    TyperArgument._usage_display_name = argument_usage  # type: ignore[method-assign]


_conventional_help_labels()

app = typer.Typer(help="Multi-tenant CRM", no_args_is_help=True, add_completion=False)
tenant_app = typer.Typer(help="Tenants (platform operators)", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(apikey_app, name="apikey")
pii_app = typer.Typer(help="Sensitive data: keys and their rotation", no_args_is_help=True)
app.add_typer(pii_app, name="pii")


# Ctrl-C raises KeyboardInterrupt; these would kill the process outright, skipping the exit
# handlers that stop the embedded servers it started.
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _exit_on_stop_signals() -> None:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    for signum in _STOP_SIGNALS:
        signal.signal(signum, stop)


def _services(settings: Settings) -> ServiceUrls:
    _exit_on_stop_signals()
    urls = resolve_services(settings)
    # Server processes (and uvicorn's workers) read these: embedded servers start only once.
    os.environ["DATABASE_URL"] = urls.owner_database_url
    os.environ["APP_DATABASE_URL"] = urls.app_database_url
    os.environ["REDIS_URL"] = urls.redis_url
    return urls


def _owner_db(urls: ServiceUrls) -> Database:
    # Heavy imports (SQLAlchemy's ORM, Alembic, uvicorn) wait for the commands that need them,
    # so that `crm --help` and a mistyped command answer at once.
    from infra.db import Database

    return Database(urls.owner_database_url, pool_size=2, max_overflow=0)


def _settings() -> Settings:
    """The settings, or a one-line error per bad setting and exit 2 (not a traceback)."""
    try:
        return get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "settings"
            typer.echo(f"error (SETTINGS): {where}: {error['msg']}", err=True)
        raise typer.Exit(2) from None


@app.command()
def migrate() -> None:
    """Apply the schema migrations (as the owner role) and ensure the application role."""
    from infra import migrate as migrations

    settings = _settings()
    configure_logging(settings.log_level)
    urls = _services(settings)
    migrations.upgrade(urls.owner_database_url, settings)
    typer.echo("migrations applied")


@app.command()
def schema() -> None:
    """Print the GraphQL schema (SDL) for integrators: `crm schema > schema.graphql`.

    Outside development the API answers introspection only to an authenticated caller."""
    from graphql_api.schema import build_schema

    typer.echo(build_schema(_settings()).as_str())


def _listen(host: str, port: int) -> socket.socket:
    """The server's listening socket, taken before anything else starts: a port in use is one
    line and exit 1, not a traceback after the embedded servers and migrations."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # now: until listen(), another process could still bind the port
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            typer.echo(f"error: {host}:{port} is in use (another `crm dev`?): stop it, or "
                       f"choose a port with --port or PORT (e.g. `make dev PORT={port + 1}`)",
                       err=True)
        else:
            typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    return sock


def _as_typed() -> str:
    """This command as one can type it here: `crm` if the PATH has it, else its path
    (`.venv/bin/crm` in the project's directory, where `make dev` runs it)."""
    path = Path(sys.argv[0])
    if path.name != "crm":
        return "crm"
    found = shutil.which("crm")
    if found and Path(found).resolve() == path.resolve():
        return "crm"
    relative = os.path.relpath(path)
    return str(path.resolve()) if relative.startswith("..") else relative


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


@app.command()
def dev(
    host: Annotated[str | None, typer.Option(
        metavar="HOST", help="Listen address (default: HOST, else 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(
        metavar="PORT", help="Listen port (default: PORT, else 8000)")] = None,
    seed: Annotated[bool, typer.Option(help="Create the demo tenant if missing")] = True,
    background: Annotated[bool, typer.Option(
        "--background/--no-background",
        help="Run a worker and the scheduler beside the server")] = True,
) -> None:
    """Development server: embedded servers when unset, migrate, demo data, a worker and the
    scheduler, serve."""
    from infra import migrate as migrations
    from modules.demo import seed_demo

    os.environ.setdefault("ENV", "development")  # its worker and scheduler inherit it
    settings = _settings()
    configure_logging(settings.log_level)
    listener = _listen(host or settings.host, settings.port if port is None else port)
    children: list[subprocess.Popen[bytes]] = []
    try:
        urls = _services(settings)
        migrations.upgrade(urls.owner_database_url, settings)
        if seed:
            async def run_seed() -> None:
                db = _owner_db(urls)
                try:
                    demo = await seed_demo(db)
                finally:
                    await db.dispose()
                typer.echo(("Demo data created. " if demo.created else "") +
                           f"Demo login: {demo.email} / {demo.password} (tenant '{demo.slug}')")
            asyncio.run(run_seed())
        url = _url(listener)
        typer.echo(f"CRM running at {url}  (GraphQL and GraphiQL at {url}graphql)")
        typer.echo(f"Other commands: {_as_typed()} --help")
        if background:
            children += _start_background(settings)
        returncode = _serve_in_child(listener)
    finally:
        # However the server ended, stop the worker and the scheduler, then the embedded
        # servers this process started (unless another process still uses them); a second
        # Ctrl-C must not cut that short.
        for signum in (signal.SIGINT, *_STOP_SIGNALS):
            signal.signal(signum, signal.SIG_IGN)
        listener.close()
        _stop_children(children)
        release_embedded()
    if returncode != 0:
        how = (f"killed by {signal.Signals(-returncode).name}" if returncode < 0
               else f"exit status {returncode}")
        typer.echo(f"error: the server stopped unexpectedly ({how}); the embedded servers were "
                   "stopped", err=True)
        raise typer.Exit(1)


def _die_with_parent() -> None:
    """In a child, before exec: SIGTERM when `crm` dies, even if it is killed outright."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _worker_command(settings: Settings, processes: int, threads: int,
                    queues: Sequence[str] = ()) -> list[str]:
    # An idle consumer polls Redis at most this often (Dramatiq reads it from the environment
    # when it starts): it bounds the delay from a commit to its relay when workers are idle.
    os.environ.setdefault("dramatiq_worker_timeout", str(settings.worker_poll_ms))
    command = [sys.executable, "-m", "dramatiq", "workers.entry",
               "--processes", str(processes), "--threads", str(threads)]
    return command + (["--queues", *queues] if queues else [])


def _start_background(settings: Settings) -> list[subprocess.Popen[bytes]]:
    """`crm dev`'s worker (one process, two threads; 10 s to finish its messages when asked
    to stop) and scheduler, on the same servers. Each in a process group of its own: a
    terminal's Ctrl-C reaches `crm dev`, which stops them with one SIGTERM (Dramatiq takes a
    second signal as "kill", which would leave its worker process's threads behind)."""
    worker = [*_worker_command(settings, 1, 2), "--worker-shutdown-timeout", "10000"]
    return [subprocess.Popen(command, preexec_fn=_die_with_parent,  # noqa: PLW1509
                             process_group=0)
            for command in (worker, [sys.executable, "-m", "infra.cli", "scheduler"])]


def _stop_children(children: Sequence[subprocess.Popen[bytes]], timeout: float = 15) -> None:
    """Ask each child to stop (SIGTERM: Dramatiq finishes its current messages), then wait;
    kill what is still there after `timeout` seconds, with its own children."""
    import psutil

    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(psutil.Error):
                for grandchild in psutil.Process(child.pid).children(recursive=True):
                    grandchild.kill()
            child.kill()
            child.wait()


def _run_child(command: list[str]) -> int:
    """Run a child until it ends or this process is asked to stop; its exit status (0 when
    asked to stop), the child stopped either way (by this process alone, with one SIGTERM: it
    runs in a process group of its own, out of a terminal's Ctrl-C)."""
    child = subprocess.Popen(command, preexec_fn=_die_with_parent,  # noqa: PLW1509
                             process_group=0)
    return _wait_then_stop(child, timeout=30)


def _wait_then_stop(child: subprocess.Popen[bytes], *, timeout: float) -> int:
    """Wait for `child`: its exit status if it ends by itself, 0 if this process is asked to
    stop first (Ctrl-C, SIGTERM, SIGHUP); then, from here on deaf to those signals, stop it
    (`_stop_children`) if it still runs."""
    try:
        return child.wait()
    except (KeyboardInterrupt, SystemExit):
        return 0
    finally:
        for signum in (signal.SIGINT, *_STOP_SIGNALS):
            signal.signal(signum, signal.SIG_IGN)
        _stop_children([child], timeout=timeout)


@app.command()
def worker(
    processes: Annotated[int | None, typer.Option(
        metavar="N", help="Worker processes (default: WORKER_PROCESSES, else 1)")] = None,
    threads: Annotated[int | None, typer.Option(
        metavar="N", help="Threads per process (default: WORKER_THREADS, else 4)")] = None,
    queue: Annotated[list[str] | None, typer.Option(
        metavar="QUEUE", help="Consume only this queue (repeatable); default: all")] = None,
) -> None:
    """Background workers: Dramatiq processes running every actor (see docs/workers.md)."""
    # Production unless told otherwise, as `crm serve`: development relaxes checks (webhook
    # targets on private addresses, checked again at each delivery, are allowed there).
    os.environ.setdefault("ENV", "production")
    settings = _settings()
    configure_logging(settings.log_level, json=settings.log_json)
    _services(settings)
    command = _worker_command(settings, processes or settings.worker_processes,
                              threads or settings.worker_threads, queue or ())
    if not started_embedded():
        # Configured servers (production): Dramatiq becomes this process, so a process
        # manager's signals reach it as its own documentation expects.
        sys.stdout.flush()
        os.execv(sys.executable, command)
    # Embedded servers: stay, to stop them once the workers have stopped.
    returncode = _run_child(command)
    release_embedded()
    if returncode != 0:
        raise typer.Exit(returncode if returncode > 0 else 1)


@app.command()
def scheduler() -> None:
    """Send the periodic jobs at their times; run one or several (they never double a job)."""
    from workers import configure_broker, load_actor_modules

    os.environ.setdefault("ENV", "production")  # as `crm serve` and `crm worker`
    from workers.schedule import build_scheduler, describe

    settings = _settings()
    configure_logging(settings.log_level, json=settings.log_json)
    urls = _services(settings)
    configure_broker(settings, urls.redis_url)
    load_actor_modules(settings)
    found = build_scheduler(settings, urls.redis_url)
    import structlog

    # A stop signal only sets a flag: the main thread looks at it between naps, and stops the
    # scheduler's thread itself (nothing is raised into code that might swallow it).
    stopping: list[int] = []
    for signum in (signal.SIGINT, *_STOP_SIGNALS):
        signal.signal(signum, lambda signum, frame: stopping.append(signum))
    try:
        found.start()
        structlog.get_logger("scheduler").info("scheduler started", jobs=describe(settings))
        while not stopping:
            time.sleep(0.2)
    finally:
        if found.running:
            found.shutdown(wait=True)  # lets a job being sent finish
        release_embedded()


def _serve_in_child(listener: socket.socket) -> int:
    """Serve in a child process and wait for it: 0 once asked to stop (Ctrl-C, or SIGTERM or
    SIGHUP to this process), its exit status if it ended by itself (a crash, the OOM killer).

    Either way control comes back here, so `crm dev` can stop what it started.
    """
    fd = listener.fileno()
    child = subprocess.Popen([sys.executable, "-m", "infra.cli", "dev-server", "--fd", str(fd),
                              "--parent", str(os.getpid())], pass_fds=(fd,))
    return _wait_then_stop(child, timeout=15)


@app.command("dev-server", hidden=True)
def dev_server(
    fd: Annotated[int, typer.Option(help="The listening socket")],
    parent: Annotated[int, typer.Option(help="The crm dev process")],
) -> None:
    """`crm dev`'s server process: serves the socket it inherits until it is stopped."""
    if sys.platform.startswith("linux"):
        # Die with `crm dev` even if it is killed outright, rather than keep serving its port.
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        raise typer.Exit(1)
    import uvicorn

    sock = socket.socket(fileno=fd)  # family and type read from the socket itself
    config = uvicorn.Config("infra.asgi:create", factory=True, log_level="warning",
                            timeout_graceful_shutdown=5)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C reaches the whole process group
        uvicorn.Server(config).run(sockets=[sock])


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="HOST", metavar="HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", metavar="PORT")] = 8000,
    workers: Annotated[int, typer.Option(envvar="WORKERS", metavar="N",
                                         help="Server processes")] = 1,
) -> None:
    """Production server: no reload, uvloop and httptools, N worker processes."""
    import uvicorn

    settings = _settings()
    configure_logging(settings.log_level, json=settings.log_json)
    _services(settings)
    os.environ.setdefault("ENV", "production")
    uvicorn.run("infra.asgi:create", factory=True, host=host, port=port, workers=workers,
                loop="uvloop", http="httptools", log_level="warning", access_log=False,
                proxy_headers=True)


@tenant_app.command("create")
def tenant_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The company's name")],
    admin_email: Annotated[str, typer.Option("--admin-email", metavar="EMAIL",
                                             help="Its first owner")],
    password: Annotated[str | None, typer.Option(metavar="PASSWORD",
                                                 help="Generated when omitted")] = None,
    slug: Annotated[str | None, typer.Option(
        metavar="SLUG", help="Derived from the name when omitted (Chinese in pinyin)")] = None,
    region: Annotated[str, typer.Option(metavar="REGION", help="Default phone region")] = "CN",
) -> None:
    """Create a tenant with its built-in roles and its first owner."""
    from infra.errors import AppError
    from tenancy.service import create_tenant

    settings = _settings()
    configure_logging("WARNING")
    urls = _services(settings)
    generated = password is None
    password = password or secrets.token_urlsafe(12)

    async def run() -> tuple[str, str, bool]:
        db = _owner_db(urls)
        try:
            async with db.sessions() as session, session.begin():
                new = await create_tenant(session, name=name, slug=slug, admin_email=admin_email,
                                          admin_password=password, default_region=region)
                return new.tenant.slug, new.admin.email, new.admin_existed
        finally:
            await db.dispose()

    try:
        tenant_slug, email, existed = asyncio.run(run())
    except AppError as exc:
        typer.echo(f"error ({exc.code}): {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"tenant created: {tenant_slug}")
    if existed:
        typer.echo(f"owner: {email} (an existing user: their password is unchanged)")
    else:
        typer.echo(f"owner: {email}" + (f"  password: {password}" if generated else ""))


@apikey_app.command("create")
def apikey_create(
    tenant: Annotated[str, typer.Option(metavar="SLUG", help="Tenant slug")],
    role: Annotated[str, typer.Option(metavar="ROLE",
                                      help="owner, admin, manager, sales or viewer")],
    name: Annotated[str, typer.Option(metavar="NAME", help="What the key is for")],
) -> None:
    """Create an API key; it is printed once and cannot be shown again."""
    from infra.errors import AppError
    from tenancy.context import system_context
    from tenancy.service import create_api_key

    settings = _settings()
    configure_logging("WARNING")
    urls = _services(settings)

    async def run() -> str:
        db = _owner_db(urls)
        try:
            found = await _tenant(db, tenant)
            async with db.scoped(found.id) as session:
                issued = await create_api_key(session, system_context(found.id, request_id="cli"),
                                              name=name, role_key=role)
            return issued.secret
        finally:
            await db.dispose()

    try:
        secret = asyncio.run(run())
    except AppError as exc:
        typer.echo(f"error ({exc.code}): {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(secret)


@tenant_app.command("list")
def tenant_list() -> None:
    """List the tenants, by slug."""
    from tenancy.service import list_tenants

    settings = _settings()
    configure_logging("WARNING")
    urls = _services(settings)

    async def run() -> list[Tenant]:
        db = _owner_db(urls)
        try:
            async with db.scoped(None) as session:
                return await list_tenants(session)
        finally:
            await db.dispose()

    _print_table(["SLUG", "NAME", "STATUS", "REGION", "CREATED (UTC)"],
                 [[t.slug, t.name, t.status, t.default_region, _when(t.created_at)]
                  for t in asyncio.run(run())])


@apikey_app.command("list")
def apikey_list(
    tenant: Annotated[str, typer.Option(metavar="SLUG", help="Tenant slug")],
) -> None:
    """List a tenant's API keys, newest first (never their secrets)."""
    settings = _settings()
    configure_logging("WARNING")
    urls = _services(settings)

    async def run() -> list[tuple[ApiKey, str]]:
        db = _owner_db(urls)
        try:
            found = await _tenant(db, tenant)
            async with db.scoped(found.id) as session:
                return await _api_keys(session, found.id)
        finally:
            await db.dispose()

    now = datetime.now(UTC)
    _print_table(
        ["ID", "NAME", "ROLE", "KEY", "CREATED (UTC)", "LAST USED", "STATUS"],
        [[_global_id(key), key.name, role, f"{key.display_prefix}…",
          _when(key.created_at), _when(key.last_used_at) or "never", _key_status(key, now)]
         for key, role in asyncio.run(run())])


@apikey_app.command("revoke")
def apikey_revoke(
    key: Annotated[str, typer.Argument(metavar="ID_OR_NAME",
                                       help="The key's ID (as listed) or its name")],
    tenant: Annotated[str, typer.Option(metavar="SLUG", help="Tenant slug")],
) -> None:
    """Revoke an API key, as the API's revokeApiKey does (audited; running servers refuse it
    within API_KEY_CACHE_SECONDS)."""
    from infra.errors import AppError, Conflict, NotFound
    from tenancy.context import system_context
    from tenancy.service import revoke_api_key

    settings = _settings()
    configure_logging("WARNING")
    urls = _services(settings)

    async def run() -> tuple[ApiKey, bool]:
        db = _owner_db(urls)
        try:
            found = await _tenant(db, tenant)
            async with db.scoped(found.id) as session:
                candidates = [k for k, _ in await _api_keys(session, found.id) if _names(k, key)]
                # A name may have been reused after its first key was revoked.
                live = [k for k in candidates if k.revoked_at is None] or candidates
                if len(live) > 1:
                    raise Conflict(f"{len(live)} API keys are named {key!r}: give one of their "
                                   f"IDs ({', '.join(_global_id(k) for k in live)})", field="key")
                if not live:
                    raise NotFound(f"tenant {tenant!r} has no API key {key!r}", field="key")
                already = live[0].revoked_at is not None
                revoked = await revoke_api_key(
                    session, system_context(found.id, request_id="cli"), live[0].id)
            return revoked.api_key, already
        finally:
            await db.dispose()

    try:
        revoked, already = asyncio.run(run())
    except AppError as exc:
        typer.echo(f"error ({exc.code}): {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{'already revoked' if already else 'revoked'}: {revoked.name} "
               f"({_global_id(revoked)}) at {_when(revoked.revoked_at)} UTC")


async def _tenant(db: Database, slug: str) -> Tenant:
    from tenancy.service import get_tenant_by_slug

    async with db.scoped(None) as session:
        found = await get_tenant_by_slug(session, slug)
    if found is None:
        raise typer.BadParameter(f"no tenant {slug!r}", param_hint="--tenant")
    return found


async def _api_keys(session: AsyncSession, tenant_id: uuid.UUID) -> list[tuple[ApiKey, str]]:
    """All the tenant's keys with their roles, through the service the API lists them with."""
    from tenancy.context import system_context
    from tenancy.service import list_api_keys

    keys: list[tuple[ApiKey, str]] = []
    after = None
    while True:
        page = await list_api_keys(session, system_context(tenant_id, request_id="cli"),
                                   first=100, after=after)
        keys += page.items
        if not page.has_next_page:
            return keys
        after = page.end_cursor


def _global_id(key: ApiKey) -> str:
    from graphql_api.relay import to_global_id

    return to_global_id("ApiKey", key.id)


def _names(key: ApiKey, wanted: str) -> bool:
    """Whether `wanted` is this key's ID (the API's, or the bare UUID) or its name."""
    if wanted in (_global_id(key), str(key.id), key.id.hex):
        return True
    with contextlib.suppress(ValueError):
        if uuid.UUID(wanted) == key.id:
            return True
    return key.name == wanted


def _key_status(key: ApiKey, now: datetime) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else ""


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns aligned in a terminal, where a Chinese character takes two cells."""
    def cells(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

    table = [header, *rows]
    widths = [max(cells(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        typer.echo("  ".join(value + " " * (width - cells(value))
                             for value, width in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    app()


@pii_app.command("new-key")
def pii_new_key(
    key_id: Annotated[str, typer.Argument(metavar="ID", help="The key's id, e.g. 2026-12")],
) -> None:
    """Print a fresh `ID:base64key` to put first in PII_KEYS (then run `crm pii rotate`)."""
    from infra.crypto import KeyringError, new_key_text

    try:
        typer.echo(new_key_text(key_id))
    except KeyringError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@pii_app.command("rotate")
def pii_rotate() -> None:
    """Re-seal every value still under an older key with the first key of PII_KEYS, in every
    tenant, batch by batch (safe to interrupt and run again); then the old key may go."""
    from infra import crypto
    from modules.pii import rotation

    settings = _settings()
    configure_logging("WARNING")
    try:
        crypto.install(crypto.load_keyring(settings))
    except crypto.KeyringError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    urls = _services(settings)

    async def run() -> rotation.Rotated:
        db = _owner_db(urls)
        try:
            return await rotation.rotate_all(db, batch=settings.pii_rotation_batch)
        finally:
            await db.dispose()

    done = asyncio.run(run())
    for name, n in sorted(done.resealed.items()):
        typer.echo(f"{name}: {n} re-sealed")
    typer.echo(f"Every sealed value is under key {crypto.keyring().current_id!r}.")

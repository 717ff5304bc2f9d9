"""Test harness: a real PostgreSQL and Redis, one fresh database per run, the real server over HTTP.

PostgreSQL and Redis are the ones in DATABASE_URL / REDIS_URL, or embedded ones started here.
The database is created and migrated once per run and dropped at the end; tests stay independent
by creating their own tenants, which row-level security keeps apart like any customer's.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from graphql_api.csrf import CSRF_HEADER
from infra.app import create_app
from infra.embedded import (
    derive_app_url,
    normalise_db_url,
    start_embedded_postgres,
    start_embedded_redis,
)
from infra.logging import configure_logging
from infra.migrate import libpq_dsn, upgrade
from infra.settings import Settings
from tests.factories import TenantFactory

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Servers:
    def __init__(self, settings: Settings, owner_url: str, app_url: str, redis_url: str) -> None:
        self.settings = settings
        self.owner_url = owner_url
        self.app_url = app_url
        self.redis_url = redis_url

    @property
    def owner_dsn(self) -> str:
        return libpq_dsn(self.owner_url)

    @property
    def app_dsn(self) -> str:
        return libpq_dsn(self.app_url)


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    data_dir = ROOT / ".crm" / "test"
    base = os.environ.get("DATABASE_URL")
    admin_url = normalise_db_url(base) if base else start_embedded_postgres(data_dir,
                                                                              database="postgres")
    redis_url = os.environ.get("REDIS_URL") or start_embedded_redis(data_dir)
    dbname = f"crm_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq_dsn(admin_url), autocommit=True) as conn:
        conn.execute(f'create database "{dbname}"')
    owner_url = make_url(admin_url).set(database=dbname).render_as_string(hide_password=False)
    settings = Settings(env="test", database_url=owner_url, redis_url=redis_url,
                        secret_key="test-secret", max_page_size=100, default_page_size=20,
                        graphql_max_depth=4,
                        # Redis may outlive the run (REDIS_URL, or the embedded one's file):
                        # each run writes its own keys, like the database is its own.
                        redis_key_prefix=f"crm-test-{dbname}:")
    upgrade(owner_url, settings)
    try:
        yield Servers(settings, owner_url, derive_app_url(owner_url, settings), redis_url)
    finally:
        with psycopg.connect(libpq_dsn(admin_url), autocommit=True) as conn:
            conn.execute(f'drop database if exists "{dbname}" with (force)')


class LiveServer:
    """The real ASGI app under uvicorn in a background thread, on a free loopback port."""

    def __init__(self, servers: Servers) -> None:
        self.port = _free_port()
        # As every process of the product does (crm dev/serve, infra.asgi, workers): plain,
        # redacted tracebacks, never frames' local variables.
        configure_logging(servers.settings.log_level)
        self.app = create_app(servers.settings, app_database_url=servers.app_url,
                              redis_url=servers.redis_url, access_log=False)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def engine(self) -> Any:
        return self.app.state.db.engine  # type: ignore[attr-defined]

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(servers: Servers) -> Iterator[LiveServer]:
    server = LiveServer(servers)
    server.start()
    yield server
    server.stop()


class GraphQLClient:
    """Talks to /graphql like an integrator (API key) or a browser (cookies) would."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def post(self, query: str, variables: dict[str, Any] | None = None, *,
             key: str | None = None, client: httpx.Client | None = None) -> httpx.Response:
        # A browser's requests carry the CSRF header (graphql_api/csrf.py); an API key needs none.
        headers = {"Authorization": f"Bearer {key}"} if key else {CSRF_HEADER: "tests"}
        response = (client or self.http).post("/graphql", json={"query": query,
                                                                "variables": variables or {}},
                                              headers=headers)
        if client is None:
            # The shared client is anonymous: a session a test signs in with on it (login's
            # cookie) would make later "anonymous" requests, in other tests, signed in.
            self.http.cookies.clear()
        return response

    def __call__(self, query: str, variables: dict[str, Any] | None = None, *,
                 key: str | None = None, client: httpx.Client | None = None) -> dict[str, Any]:
        response = self.post(query, variables, key=key, client=client)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def data(self, query: str, variables: dict[str, Any] | None = None, *,
             key: str | None = None, client: httpx.Client | None = None) -> dict[str, Any]:
        body = self(query, variables, key=key, client=client)
        assert "errors" not in body, body["errors"]
        return body["data"]  # type: ignore[no-any-return]

    def error(self, query: str, variables: dict[str, Any] | None = None, *,
              key: str | None = None, client: httpx.Client | None = None) -> dict[str, Any]:
        """The single error of a request that must fail."""
        body = self(query, variables, key=key, client=client)
        assert body.get("errors"), body
        assert len(body["errors"]) == 1, body["errors"]
        return body["errors"][0]  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def gql(live_server: LiveServer) -> GraphQLClient:
    return GraphQLClient(live_server.url)


@pytest.fixture(scope="session")
def tenants(servers: Servers) -> Iterator[TenantFactory]:
    factory = TenantFactory(servers)
    yield factory
    factory.close()


@pytest.fixture
def owner_conn(servers: Servers) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(servers.owner_dsn) as conn:
        yield conn


@pytest.fixture
def app_conn(servers: Servers) -> Iterator[psycopg.Connection[Any]]:
    """A raw connection as the application role: what RLS must hold against."""
    with psycopg.connect(servers.app_dsn) as conn:
        yield conn


def run(coro: Any) -> Any:
    return asyncio.run(coro)


LOGIN = """mutation($email: String!, $password: String!, $tenant: String) {
  login(email: $email, password: $password, tenant: $tenant) { tenant { slug } tenants { slug } }
}"""


def login(live_server: LiveServer, gql: GraphQLClient, email: str, password: str,
          tenant: str | None = None) -> httpx.Client:
    """A client with a web session, as a browser has after signing in."""
    client = httpx.Client(base_url=live_server.url, timeout=30)
    gql.data(LOGIN, {"email": email, "password": password, "tenant": tenant}, client=client)
    return client

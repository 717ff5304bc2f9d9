"""Fixtures of the workers' tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import GraphQLClient, LiveServer, Servers


@dataclass
class OwnServer:
    """A server of the test's own, on a Redis key prefix of its own (and a Redis of its own
    if asked): its workers see this test's messages only, not the backlog of relays every
    earlier test's writes left on the run's prefix."""

    gql: GraphQLClient
    env: dict[str, str]  # for `start_worker` / `start_scheduler`: the same Redis and prefix


@pytest.fixture
def own_server(servers: Servers) -> Iterator[Callable[..., OwnServer]]:
    started: list[LiveServer] = []

    def start(redis_url: str | None = None) -> OwnServer:
        url = redis_url or servers.redis_url
        prefix = f"{servers.settings.redis_key_prefix}{uuid.uuid4().hex[:8]}:"
        own = Servers(servers.settings.model_copy(update={"redis_url": url,
                                                          "redis_key_prefix": prefix}),
                      servers.owner_url, servers.app_url, url)
        server = LiveServer(own)
        server.start()
        started.append(server)
        return OwnServer(GraphQLClient(server.url), {"redis_url": url,
                                                     "REDIS_KEY_PREFIX": prefix})

    yield start
    for server in started:
        server.stop()

"""Fixtures of the webhooks' tests: the harness (services and attempts called directly) and a
receiver on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import GraphQLClient, Servers
from tests.factories import TenantFactory
from tests.modules.webhooks.harness import Harness, running
from tests.modules.webhooks.receiver import Receiver


@pytest.fixture(scope="module")
def harness(servers: Servers, tenants: TenantFactory, gql: GraphQLClient) -> Iterator[Harness]:
    with running(servers, tenants, gql) as h:
        yield h


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()

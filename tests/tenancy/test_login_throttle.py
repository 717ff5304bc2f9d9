"""Failed logins are throttled per email and per client address, in the real Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from infra.errors import RateLimited
from tenancy.throttle import LoginThrottle
from tests.conftest import LOGIN, GraphQLClient, Servers, run
from tests.factories import PASSWORD, TenantFactory


def test_an_email_that_failed_too_often_is_refused_even_with_the_right_password(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    tenant = tenants.make()
    email = tenant.members["owner"].email
    for _ in range(10):  # LOGIN_MAX_FAILURES_PER_EMAIL
        error = gql.error(LOGIN, {"email": email, "password": "wrong password!"})
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
    error = gql.error(LOGIN, {"email": email, "password": PASSWORD})
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 0 < error["extensions"]["retryAfter"] <= 900
    # Other users are not affected.
    other = tenants.make()
    assert gql.data(LOGIN, {"email": other.members["owner"].email, "password": PASSWORD})


def test_the_address_limit_and_a_success_giving_its_attempt_back(servers: Servers) -> None:
    async def scenario() -> None:
        redis = aioredis.Redis.from_url(servers.redis_url)
        try:
            throttle = LoginThrottle(redis, per_email=2, per_address=3, window_seconds=60,
                                     key_prefix=f"test-{uuid.uuid4().hex}:")
            address, email = "10.0.0.1", "someone@example.com"
            await throttle.attempt(email, address)
            await throttle.succeeded(email, address)  # email cleared, address given back
            await throttle.attempt(email, address)  # email 1 of 2, address 1 of 3
            await throttle.attempt(email, address)  # email 2 of 2, address 2 of 3
            with pytest.raises(RateLimited) as refused:
                await throttle.attempt(email, address)  # email over its limit
            assert 0 < refused.value.extensions()["retryAfter"] <= 60
            with pytest.raises(RateLimited):
                await throttle.attempt("other@example.com", address)  # address over its limit
        finally:
            await redis.aclose()

    run(scenario())


def test_concurrent_guesses_get_no_more_than_the_limit(servers: Servers) -> None:
    async def scenario() -> list[bool]:
        redis = aioredis.Redis.from_url(servers.redis_url)
        try:
            throttle = LoginThrottle(redis, per_email=5, per_address=1000, window_seconds=60,
                                     key_prefix=f"test-{uuid.uuid4().hex}:")

            async def guess() -> bool:
                try:
                    await throttle.attempt("victim@example.com", "10.0.0.2")
                except RateLimited:
                    return False
                return True

            return list(await asyncio.gather(*(guess() for _ in range(20))))
        finally:
            await redis.aclose()

    assert sum(run(scenario())) == 5

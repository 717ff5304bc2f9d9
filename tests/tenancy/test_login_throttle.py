"""Failed logins are throttled per email and per client address, in the real Redis."""

from __future__ import annotations

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


def test_the_address_limit_and_a_success_clearing_the_email_count(servers: Servers) -> None:
    async def scenario() -> None:
        redis = aioredis.Redis.from_url(servers.redis_url)
        try:
            throttle = LoginThrottle(redis, per_email=2, per_address=3, window_seconds=60)
            address = f"test-{uuid.uuid4().hex}"
            email = f"{uuid.uuid4().hex}@example.com"
            await throttle.failed(email, address)
            await throttle.succeeded(email, address)  # the email starts again
            await throttle.failed(email, address)
            await throttle.check(email, address)  # 1 of 2 for the email, 2 of 3 for the address
            await throttle.failed(f"x{email}", address)  # the address's third failure
            with pytest.raises(RateLimited) as refused:
                await throttle.check(f"new-{email}", address)
            assert refused.value.extensions()["code"] == "RATE_LIMITED"
            assert 0 < refused.value.extensions()["retryAfter"] <= 60
        finally:
            await redis.aclose()

    run(scenario())

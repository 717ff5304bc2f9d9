"""Failed logins, counted in Redis per email and per client address over a fixed window.

Argon2 makes each guess cost the server ~50 ms and 64 MiB, so unthrottled guessing is both a
break-in attempt and a denial of service. Every attempt is counted before the password is checked
and refused past the limit (`RATE_LIMITED`, with `retryAfter`); a successful login clears its
email's count and gives its attempt back to the address.
Emails arrive normalised (`infra.validation.normalise_email`, the form login looks up) and are
hashed in the keys. If Redis is unreachable, logins go on unthrottled (and it is logged): an
outage of the cache should not lock every user out.

`PasswordCheckGate` bounds, per client address and per server process, how many password checks
run at once and how many wait for their turn.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog

from infra.errors import RateLimited

log = structlog.get_logger("auth")

# Decrement only a key that is still there: one that expired meanwhile must not come back as
# -1 with no expiry.
_GIVE_BACK = """
if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end
return 0
"""


class LoginThrottle:
    def __init__(self, redis: Any, *, per_email: int = 10, per_address: int = 100,
                 window_seconds: int = 900, key_prefix: str = "crm:") -> None:
        self.redis = redis
        self.key_prefix = key_prefix
        self.per_email = per_email
        self.per_address = per_address
        self.window = window_seconds

    def _keys(self, email: str, address: str | None) -> tuple[str, str]:
        digest = hashlib.sha256(email.encode()).hexdigest()[:32]
        return (f"{self.key_prefix}login-fail:email:{digest}",
                f"{self.key_prefix}login-fail:addr:{address or '-'}")

    async def attempt(self, email: str, address: str | None) -> None:
        """Count this attempt before the password is checked, and refuse it (RateLimited) if
        the email or the address is over its limit. Counting first, in one atomic step, is what
        keeps concurrent guesses from all passing a check made before any of them is counted.
        A successful login gives its attempt back (`succeeded`)."""
        by_email, by_address = self._keys(email, address)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key in (by_email, by_address):
                    # Created with its expiry (INCR keeps it); works on Redis 6 too.
                    pipe.set(key, 0, ex=self.window, nx=True)
                    pipe.incr(key)
                    pipe.ttl(key)
                _, email_count, email_ttl, _, address_count, address_ttl = await pipe.execute()
        except Exception:  # noqa: BLE001 - fail open, see the module docstring
            log.exception("login throttle unavailable")
            return
        for count, ttl, limit in ((email_count, email_ttl, self.per_email),
                                  (address_count, address_ttl, self.per_address)):
            if int(count) > limit:
                raise RateLimited("too many failed logins; try again later",
                                  retry_after=max(int(ttl), 1))

    def failed(self, email: str, address: str | None) -> None:
        """The attempt stays counted; only logged."""
        log.warning("login failed", address=address,
                    email_hash=self._keys(email, address)[0].rsplit(":", 1)[1])

    async def succeeded(self, email: str, address: str | None) -> None:
        """A success clears its email's count and gives its attempt back to the address."""
        by_email, by_address = self._keys(email, address)
        try:
            await self.redis.delete(by_email)
            await self.redis.eval(_GIVE_BACK, 1, by_address)
        except Exception:  # noqa: BLE001
            log.exception("login throttle unavailable")


@dataclass
class _AddressChecks:
    running: asyncio.Semaphore
    present: int = 0  # running and waiting


class PasswordCheckGate:
    """At most `running` password checks at a time per client address, `waiting` more queued in
    turn; beyond that, RATE_LIMITED at once. Argon2 takes a core and 64 MiB for ~50 ms on one of
    a few threads: without this, one address's burst of guesses fills those threads and everyone
    else's login waits behind it. Waiters hold nothing but their request (no database
    connection, no thread). An address's entry goes when its last check does."""

    def __init__(self, *, running: int = 2, waiting: int = 16) -> None:
        self.running = running
        self.waiting = waiting
        self._addresses: dict[str, _AddressChecks] = {}

    @asynccontextmanager
    async def enter(self, address: str | None) -> AsyncIterator[None]:
        key = address or "-"
        checks = self._addresses.get(key)
        if checks is None:
            checks = self._addresses[key] = _AddressChecks(asyncio.Semaphore(self.running))
        if checks.present >= self.running + self.waiting:
            raise RateLimited("too many logins in progress from your address; try again shortly",
                              retry_after=1)
        checks.present += 1
        try:
            async with checks.running:
                yield
        finally:
            checks.present -= 1
            if checks.present == 0:
                del self._addresses[key]

    def in_progress(self, address: str | None) -> int:
        """Checks running or waiting for this address (for tests and diagnostics)."""
        checks = self._addresses.get(address or "-")
        return checks.present if checks else 0

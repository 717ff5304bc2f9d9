"""Failed logins, counted in Redis per email and per client address over a fixed window.

Argon2 makes each guess cost the server ~50 ms and 64 MiB, so unthrottled guessing is both a
break-in attempt and a denial of service. Past the limit a login is refused before the password
is checked (`RATE_LIMITED`, with `retryAfter`); a successful login clears its email's count.
Emails are hashed in the keys. If Redis is unreachable, logins go on unthrottled (and it is
logged): an outage of the cache should not lock every user out.
"""

from __future__ import annotations

import hashlib
from typing import Any

import structlog

from infra.errors import RateLimited

log = structlog.get_logger("auth")


class LoginThrottle:
    def __init__(self, redis: Any, *, per_email: int = 10, per_address: int = 100,
                 window_seconds: int = 900, key_prefix: str = "crm:") -> None:
        self.redis = redis
        self.key_prefix = key_prefix
        self.per_email = per_email
        self.per_address = per_address
        self.window = window_seconds

    def _keys(self, email: str, address: str | None) -> tuple[str, str]:
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return (f"{self.key_prefix}login-fail:email:{digest}",
                f"{self.key_prefix}login-fail:addr:{address or '-'}")

    async def check(self, email: str, address: str | None) -> None:
        """Raises RateLimited when this email or address has failed too often lately."""
        by_email, by_address = self._keys(email, address)
        try:
            counts = await self.redis.mget([by_email, by_address])
        except Exception:  # noqa: BLE001 - fail open, see the module docstring
            log.exception("login throttle unavailable")
            return
        for key, count, limit in ((by_email, counts[0], self.per_email),
                                  (by_address, counts[1], self.per_address)):
            if count is not None and int(count) >= limit:
                ttl = await self.redis.ttl(key)
                raise RateLimited("too many failed logins; try again later",
                                  retry_after=max(int(ttl), 1))

    async def failed(self, email: str, address: str | None) -> None:
        log.warning("login failed", address=address,
                    email_hash=self._keys(email, address)[0].rsplit(":", 1)[1])
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key in self._keys(email, address):
                    # Created with its expiry (INCR keeps it); works on Redis 6 too.
                    pipe.set(key, 0, ex=self.window, nx=True)
                    pipe.incr(key)
                await pipe.execute()
        except Exception:  # noqa: BLE001
            log.exception("login throttle unavailable")

    async def succeeded(self, email: str, address: str | None) -> None:
        try:
            await self.redis.delete(self._keys(email, address)[0])
        except Exception:  # noqa: BLE001
            log.exception("login throttle unavailable")

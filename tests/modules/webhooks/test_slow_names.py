"""A tenant whose webhook hosts resolve slowly must not make other tenants' lookups time out:
lookups run in threads of their own, not in the event loop's small default executor."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import pytest

from modules.webhooks import targets


def test_slow_names_do_not_starve_other_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo
    release = threading.Event()

    def resolver(host: str, *args: Any, **kwargs: Any) -> Any:
        if host.endswith(".slow.test"):  # an authoritative server that answers late
            release.wait(20)
            raise socket.gaierror("timed out")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    policy = targets.TargetPolicy(allow_private=True)

    async def scene() -> float:
        slow = [asyncio.create_task(targets.check(f"https://a{i}.slow.test/", policy))
                for i in range(12)]
        await asyncio.sleep(0.2)
        started = time.monotonic()
        target = await targets.check("https://localhost/", policy)  # resolves at once
        took = time.monotonic() - started
        assert target.addresses
        release.set()
        await asyncio.gather(*slow, return_exceptions=True)
        return took

    assert asyncio.run(scene()) < 2  # not RESOLVE_TIMEOUT, not refused as unresolvable

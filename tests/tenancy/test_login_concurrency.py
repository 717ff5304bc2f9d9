"""Password checks hold no database connection, and run a few at a time per client address.

Argon2 is slow on purpose. Here it is made to wait on an event instead, so that the tests see
the server while checks are in progress, with no timing to guess: the server runs in this
process (tests/conftest.py), so patching `tenancy.passwords._verify` reaches it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tenancy import auth, passwords
from tests.conftest import LOGIN, GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, TenantFactory

_real_verify = passwords._verify
CREATE_CONTACT = 'mutation { createContact(input: {name: "并发时的写入"}) { id name } }'


class HeldChecks:
    """Password checks that wait until released; counts those waiting and the most at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def verify(self, password_hash: str | None, password: str) -> bool:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            self.release.wait(60)
            return False
        finally:
            with self._lock:
                self.now -= 1


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldChecks]:
    checks = HeldChecks()
    monkeypatch.setattr(passwords, "_verify", checks.verify)
    try:
        yield checks
    finally:
        checks.release.set()  # never leave the server's argon2 threads stuck


def until(condition: Callable[[], bool], what: str) -> None:
    """Wait (generously) for something the test has set in motion."""
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.01)


def test_failed_logins_from_one_address_hold_no_connection_and_queue_within_bounds(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory, held: HeldChecks
) -> None:
    tenant = tenants.make()
    address = "198.51.100.250"
    gate = auth.password_checks
    codes: list[str] = []

    def guess(n: int) -> None:
        with httpx.Client(base_url=live_server.url, timeout=60,
                          headers={"X-Forwarded-For": address,
                                   "X-Requested-By": "tests"}) as client:
            body = gql(LOGIN, {"email": f"nobody-{n}@example.com", "password": "wrong, wrong"},
                       client=client)
        codes.append(body["errors"][0]["extensions"]["code"])

    guesses = [threading.Thread(target=guess, args=(n,)) for n in range(40)]
    for thread in guesses:
        thread.start()
    until(lambda: held.now == gate.running, "the first checks to start")
    assert live_server.engine.pool.checkedout() == 0
    # Those beyond the bound are refused at once; the rest run or wait their turn.
    bound = gate.running + gate.waiting
    until(lambda: len(codes) == 40 - bound, "the guesses beyond the bound to be refused")
    until(lambda: held.now == gate.running and gate.in_progress(address) == bound,
          "the checks in progress")
    assert set(codes) == {"RATE_LIMITED"}

    # Meanwhile no pooled connection is held, and an integrator's write goes through.
    assert live_server.engine.pool.checkedout() == 0
    made = gql.data(CREATE_CONTACT, key=tenant.keys["admin"])["createContact"]
    assert made["name"] == "并发时的写入"
    assert held.now == gate.running  # the checks were still waiting all along

    held.release.set()
    for thread in guesses:
        thread.join(timeout=60)
    assert len(codes) == 40
    assert codes.count("UNAUTHENTICATED") == bound
    assert held.peak == gate.running
    assert gate.in_progress(address) == 0  # nothing left behind for the address


def test_a_signed_in_callers_login_holds_no_connection_either(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory, held: HeldChecks
) -> None:
    owner = tenants.make().members["owner"]
    with pytest.MonkeyPatch.context() as patch:  # the real check, for signing in
        patch.setattr(passwords, "_verify", _real_verify)
        client = login(live_server, gql, owner.email, PASSWORD)
    client.headers["X-Requested-By"] = "tests"
    answers: list[dict[str, Any]] = []
    # Authenticating the cookie began the request's transaction; the check must not hold it.
    thread = threading.Thread(target=lambda: answers.append(gql(
        LOGIN, {"email": owner.email, "password": "not the password"}, client=client)))
    thread.start()
    until(lambda: held.now == 1, "the check to start")
    assert live_server.engine.pool.checkedout() == 0
    held.release.set()
    thread.join(timeout=60)
    assert answers[0]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert gql.data("{ me { kind } }", client=client) == {"me": {"kind": "user"}}

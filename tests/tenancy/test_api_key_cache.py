"""The verified-key cache never outlives a revocation made in this process."""

from __future__ import annotations

import uuid

from tenancy.auth import ApiKeyCache, Authenticated
from tenancy.context import Actor


def authenticated(key_id: uuid.UUID) -> Authenticated:
    actor = Actor("api_key", key_id, uuid.uuid4(), "viewer", frozenset(), "a key")
    return Authenticated(actor, region="CN")


def test_a_revoked_key_is_dropped_and_not_cached_again_by_a_request_already_in_flight() -> None:
    cache = ApiKeyCache(ttl=5.0)
    key_id, other = uuid.uuid4(), uuid.uuid4()
    cache.put(b"k1", authenticated(key_id))
    cache.put(b"k2", authenticated(other))
    cache.forget(key_id)
    assert cache.get(b"k1") is None
    # A request that verified the key before the revocation committed tries to cache it.
    cache.put(b"k1", authenticated(key_id))
    assert cache.get(b"k1") is None
    assert cache.get(b"k2") is not None  # other keys are untouched


def test_a_zero_ttl_turns_the_cache_off() -> None:
    cache = ApiKeyCache(ttl=0)
    cache.put(b"k", authenticated(uuid.uuid4()))
    assert cache.get(b"k") is None

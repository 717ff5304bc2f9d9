"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommendations)."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified when the email is unknown, so that a miss costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 10

# Each verification takes 64 MiB and a core for ~50 ms: at most one per core at a time, on
# threads of their own, so a burst of logins queues here instead of exhausting memory and the
# default executor that other work shares.
_verifiers = ThreadPoolExecutor(max_workers=os.cpu_count() or 2,
                                thread_name_prefix="argon2")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Check off the event loop: argon2 is deliberately slow."""
    return await asyncio.get_running_loop().run_in_executor(_verifiers, _verify,
                                                            password_hash, password)

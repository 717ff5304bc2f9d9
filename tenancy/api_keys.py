"""API keys: random, shown once, stored as a SHA-256 hash, bound to a tenant and a role.

A key reads `crm_<tenant id, 32 hex>_<secret>`. The tenant part lets authentication set the
tenant first and then find the key under row-level security like any other tenant-owned row;
forging it only selects a tenant in which the key's hash does not exist.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass

KEY_RE = re.compile(r"^crm_([0-9a-f]{32})_([A-Za-z0-9_-]{32,64})$")


@dataclass(frozen=True)
class ParsedKey:
    tenant_id: uuid.UUID
    key_hash: bytes


def generate_key(tenant_id: uuid.UUID) -> tuple[str, bytes, str]:
    """A new key, its hash and the short prefix shown in listings."""
    secret = secrets.token_urlsafe(32)
    key = f"crm_{tenant_id.hex}_{secret}"
    return key, hash_key(key), secret[:8]


def hash_key(key: str) -> bytes:
    # Keys carry 256 random bits, so a fast hash is safe here (unlike passwords).
    return hashlib.sha256(key.encode()).digest()


def parse_key(raw: str) -> ParsedKey | None:
    match = KEY_RE.match(raw.strip())
    if not match:
        return None
    return ParsedKey(uuid.UUID(hex=match.group(1)), hash_key(raw.strip()))

"""Sensitive values at rest: AES-256-GCM under a keyring, and HMAC blind indexes.

A sealed value is `0x01 | len(key id) | key id | nonce (12) | ciphertext and tag`: the key id
says which key of the ring opens it, so keys can be rotated while old rows stay readable (the
first key of the ring seals, every key opens) and rows still under an old key are found in SQL
by their first bytes (`header`). The associated data binds a ciphertext to where it lives
(`context`: table, column, tenant, record): copied to another row, column or tenant it no
longer opens.

Keys come from the settings (`PII_KEYS`, `PII_INDEX_KEY`); in development and tests, without
them, from a key file generated once per install in the data directory (never a key in code).
Production refuses to run without configured keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infra.settings import Settings

VERSION = 1
NONCE_BYTES = 12
_KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")
KEY_FILE = "pii-keys.json"


class KeyringError(Exception):
    """Keys missing or malformed: a configuration error, raised at startup."""


class SealBroken(Exception):
    """A sealed value that does not open: an unknown key, or a ciphertext moved or altered.
    Its message never holds the value."""


@dataclass(frozen=True)
class Keyring:
    keys: tuple[tuple[str, bytes], ...]  # (id, 32-byte key); the first seals
    index_key: bytes  # for blind indexes: never one of `keys`

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyringError("the keyring holds no key")
        ids = [k for k, _ in self.keys]
        if len(set(ids)) != len(ids):
            raise KeyringError("two keys of the keyring share an id")
        for key_id, key in self.keys:
            if not _KEY_ID.fullmatch(key_id) or len(key) != 32:
                raise KeyringError(f"key {key_id!r}: an id of 1-32 of A-Z a-z 0-9 _ . - and "
                                   "32 bytes (base64) are needed")
        if len(self.index_key) < 32 or any(self.index_key == k for _, k in self.keys):
            raise KeyringError("the index key must be 32 bytes and differ from the keys")

    def __repr__(self) -> str:  # never the keys, wherever a keyring is printed or logged
        return f"Keyring(ids={[k for k, _ in self.keys]})"

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    @property
    def header(self) -> bytes:
        """The first bytes of every value sealed under the current key."""
        return _header(self.current_id)

    def seal(self, plaintext: str, context: bytes) -> bytes:
        key_id, key = self.keys[0]
        nonce = secrets.token_bytes(NONCE_BYTES)
        return _header(key_id) + nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), context)

    def open(self, sealed: bytes, context: bytes) -> str:
        sealed = bytes(sealed)
        if len(sealed) < 2 or sealed[0] != VERSION:
            raise SealBroken("not a sealed value")
        end = 2 + sealed[1]
        key_id = sealed[2:end].decode("ascii", "replace")
        key = dict(self.keys).get(key_id)
        if key is None:
            raise SealBroken(f"sealed under key {key_id!r}, which the keyring does not hold")
        nonce, body = sealed[end:end + NONCE_BYTES], sealed[end + NONCE_BYTES:]
        try:
            return AESGCM(key).decrypt(nonce, body, context).decode()
        except InvalidTag:
            raise SealBroken("the sealed value does not open here (moved or altered)") from None

    def seal_bytes(self, raw: bytes, context: bytes) -> bytes:
        """Binary secrets (webhook signing keys), as base64 text inside."""
        return self.seal(base64.b64encode(raw).decode(), context)

    def open_bytes(self, sealed: bytes, context: bytes) -> bytes:
        return base64.b64decode(self.open(sealed, context))

    def blind_index(self, value: str, purpose: str, tenant_id: uuid.UUID) -> bytes:
        """An HMAC of the value for equality lookups, per tenant and purpose: equal values
        match, and nothing about the value can be read back without the index key."""
        message = f"{purpose}|{tenant_id}|{value}".encode()
        return hmac.new(self.index_key, message, hashlib.sha256).digest()


def _header(key_id: str) -> bytes:
    raw = key_id.encode("ascii")
    return bytes([VERSION, len(raw)]) + raw


def context(table: str, column: str, tenant_id: uuid.UUID, *record: Any) -> bytes:
    """The associated data of a value: where it lives. A ciphertext opens only there."""
    return "|".join([table, column, str(tenant_id), *map(str, record)]).encode()


def _decode_key(text: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (ValueError, TypeError):
        raise KeyringError(f"{what} is not base64") from None


def parse_keys(text: str) -> tuple[tuple[str, bytes], ...]:
    """`PII_KEYS`: `id:base64key` pairs separated by commas, the sealing key first."""
    out = []
    for part in text.split(","):
        if not part.strip():
            continue
        key_id, sep, key = part.strip().partition(":")
        if not sep:
            raise KeyringError("PII_KEYS: each key is written id:base64key")
        out.append((key_id, _decode_key(key, f"PII_KEYS key {key_id!r}")))
    return tuple(out)


def new_key_text(key_id: str) -> str:
    """A fresh `id:base64key` for PII_KEYS (`crm pii new-key`)."""
    if not _KEY_ID.fullmatch(key_id):
        raise KeyringError("a key id is 1-32 of A-Z a-z 0-9 _ . -")
    return f"{key_id}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}"


def _dev_key_file(data_dir: Path) -> dict[str, Any]:
    """The per-install keys of development and tests: created once (mode 0600), then read."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        content = {"keys": [new_key_text(f"dev-{secrets.token_hex(3)}")],
                   "index_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of this install wrote it first
            pass
        else:
            with os.fdopen(fd, "w") as f:
                json.dump(content, f)
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def load_keyring(settings: Settings) -> Keyring:
    if settings.pii_keys:
        if not settings.pii_index_key:
            raise KeyringError("PII_KEYS is set but PII_INDEX_KEY is not")
        return Keyring(parse_keys(settings.pii_keys),
                       _decode_key(settings.pii_index_key, "PII_INDEX_KEY"))
    if settings.is_production:
        raise KeyringError("ENV=production needs PII_KEYS and PII_INDEX_KEY (see the README: "
                           "`crm pii new-key`)")
    stored = _dev_key_file(settings.data_dir)
    return Keyring(parse_keys(",".join(stored["keys"])),
                   _decode_key(stored["index_key"], "the key file's index key"))


_current: Keyring | None = None


def install(keyring: Keyring) -> None:
    """The keyring every seal and open of this process uses (the app, a worker, a command)."""
    global _current
    _current = keyring


def keyring() -> Keyring:
    """The installed keyring; else the one the environment's settings give."""
    global _current
    if _current is None:
        from infra.settings import get_settings

        _current = load_keyring(get_settings())
    return _current

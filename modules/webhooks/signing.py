"""Signing secrets and Standard Webhooks signatures (https://www.standardwebhooks.com).

A secret is 32 random bytes, written `whsec_<base64>`. A message is signed as
`v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">` by the `standardwebhooks`
package, once per valid secret: during a rotation's overlap the header carries two signatures,
space-separated, and a receiver holding either secret verifies it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from datetime import datetime

from standardwebhooks import Webhook

PREFIX = "whsec_"


def new_secret() -> bytes:
    return secrets.token_bytes(32)


def secret_text(raw: bytes) -> str:
    return PREFIX + base64.b64encode(raw).decode()


def hint(raw: bytes) -> str:
    """What lists show to tell secrets apart: the prefix and four characters."""
    return secret_text(raw)[: len(PREFIX) + 4]


def message_id(subscription_id: uuid.UUID, event_id: uuid.UUID) -> str:
    """`webhook-id`: the same for every attempt of one event to one subscription (receivers
    de-duplicate on it), different for each subscription."""
    digest = hashlib.sha256(subscription_id.bytes + event_id.bytes).digest()[:16]
    return "msg_" + base64.b32encode(digest).decode().rstrip("=").lower()


def signature(secrets_: list[bytes], msg_id: str, timestamp: datetime, body: str) -> str:
    return " ".join(Webhook(raw).sign(msg_id, timestamp, body) for raw in secrets_)


def headers(secrets_: list[bytes], msg_id: str, timestamp: datetime, body: str
            ) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature(secrets_, msg_id, timestamp, body),
    }

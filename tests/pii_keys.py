"""The test process's keyring as settings, for servers a test starts with settings of their own
(ENV=production refuses to start without keys): the same keys, so what one seals the other
opens."""

from __future__ import annotations

import base64

from infra import crypto


def pii_settings() -> dict[str, str]:
    ring = crypto.keyring()
    return {"pii_keys": ",".join(f"{key_id}:{base64.urlsafe_b64encode(key).decode()}"
                                 for key_id, key in ring.keys),
            "pii_index_key": base64.urlsafe_b64encode(ring.index_key).decode()}

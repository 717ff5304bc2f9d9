"""The key rotation as background work (docs/workers.md): `pii.rotate_all` sends one
`pii.rotate` per tenant; each re-seals its tenant's values batch by batch (a transaction per
batch, `modules.pii.rotation`) and is idempotent, so a redelivered or repeated message only
finishes what is left. Also run daily, so values follow a new key without anyone asking."""

from __future__ import annotations

import uuid
from datetime import timedelta

from modules.pii import rotation
from workers.kit import actor, database, runtime
from workers.schedule import periodic


# A platform actor given the tenant's id, not a tenant actor: a tenant actor's work is one
# transaction, and the rotation commits batch by batch (each in the tenant's scope), so that a
# crash keeps what was done and a large tenant never holds one long transaction.
@actor("pii.rotate", tenant=False, queue="default", time_limit=timedelta(minutes=30),
       max_retries=5)
async def rotate(tenant_id: str) -> None:
    await rotation.rotate_tenant(database(), uuid.UUID(tenant_id),
                                 batch=runtime.get_settings().pii_rotation_batch)


@periodic("pii.rotate_all", every=timedelta(days=1), time_limit=timedelta(minutes=5))
async def rotate_all() -> None:
    for tenant_id in await rotation.tenants(database()):
        await rotate.send_async(tenant_id)

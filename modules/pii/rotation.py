"""Key rotation: re-seal, batch by batch, every value still sealed under an older key.

Values under an old key are found by their first bytes (the key id is in the header, see
`infra.crypto`), so each batch is one indexed-by-tenant scan that only ever shrinks. Each batch
is its own transaction and writes a row only if it still holds what was read
(compare-and-set): a crash loses at most one batch's work, a rerun, or a second job racing
this one, re-seals nothing twice and overwrites no newer write. Safe to run at any time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from infra import crypto
from infra.db import Database
from modules.pii.sealed import SEALED, SealedColumn


@dataclass
class Rotated:
    resealed: dict[str, int] = field(default_factory=dict)  # "table.column" -> rows

    @property
    def total(self) -> int:
        return sum(self.resealed.values())


async def reseal_batch(session: AsyncSession, tenant_id: uuid.UUID, column: SealedColumn,
                       batch: int) -> int:
    """Re-seal up to `batch` values of `column` in the session's tenant; how many."""
    keyring = crypto.keyring()
    header = keyring.header
    keys = ", ".join(column.keys)
    rows = (await session.execute(text(
        f"select {keys}, {column.column} as sealed from {column.table} "
        f"where tenant_id = :t and {column.column} is not null "
        f"and substring({column.column} from 1 for :n) <> :header "
        f"limit :batch for update skip locked"),
        {"t": tenant_id, "n": len(header), "header": header, "batch": batch})).all()
    match = " and ".join(f"{k} = :{k}" for k in column.keys)
    for row in rows:
        record = [getattr(row, k) for k in column.keys]
        context = column.context(tenant_id, *record)
        resealed = keyring.seal(keyring.open(row.sealed, context), context)
        await session.execute(text(
            f"update {column.table} set {column.column} = :new "
            f"where tenant_id = :t and {match} and {column.column} = :old"),
            {"new": resealed, "old": row.sealed, "t": tenant_id,
             **dict(zip(column.keys, record, strict=True))})
    return len(rows)


async def rotate_tenant(db: Database, tenant_id: uuid.UUID, *, batch: int) -> Rotated:
    """Everything of one tenant, one transaction per batch."""
    out = Rotated()
    for column in SEALED:
        name = f"{column.table}.{column.column}"
        while True:
            async with db.scoped(tenant_id) as session:
                n = await reseal_batch(session, tenant_id, column, batch)
            out.resealed[name] = out.resealed.get(name, 0) + n
            if n < batch:
                break
    return out


async def tenants(db: Database) -> list[uuid.UUID]:
    async with db.scoped(None) as session:
        return list((await session.scalars(text("select pii_tenants()"))).all())


async def rotate_all(db: Database, *, batch: int) -> Rotated:
    total = Rotated()
    for tenant_id in await tenants(db):
        done = await rotate_tenant(db, tenant_id, batch=batch)
        for name, n in done.resealed.items():
            total.resealed[name] = total.resealed.get(name, 0) + n
    return total


async def remaining(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """Values of the session's tenant not yet under the current key (0: rotation done)."""
    header = crypto.keyring().header
    n = 0
    for column in SEALED:
        n += await session.scalar(text(
            f"select count(*) from {column.table} where tenant_id = :t and "
            f"{column.column} is not null and "
            f"substring({column.column} from 1 for :n) <> :header"),
            {"t": tenant_id, "n": len(header), "header": header}) or 0
    return n

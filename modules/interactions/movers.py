"""What a merge of duplicate customers moves of the interactions domain (`modules.kit.merge`):
interactions logged against a source (and a source among their participants), and survey
answers, become the survivor's, deleted ones too, whoever logged them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from modules.kit.merge import MergeMover, register_mover
from tenancy.context import CallContext


def _mover(table: str, column: str) -> Any:
    async def move(session: AsyncSession, ctx: CallContext, sources: Sequence[uuid.UUID],
                   survivor: uuid.UUID) -> int:
        result: Any = await session.execute(text(
            f"update {table} set {column} = :v, updated_at = now() "
            f"where tenant_id = :t and {column} = any(:s)"),
            {"t": ctx.tenant_id, "s": list(sources), "v": survivor})
        return int(result.rowcount or 0)

    return move


async def _participants(session: AsyncSession, ctx: CallContext, sources: Sequence[uuid.UUID],
                        survivor: uuid.UUID) -> int:
    """A source among an interaction's other participants: the survivor instead (once)."""
    result: Any = await session.execute(text("""
        update interactions set updated_at = now(), participant_contact_ids = array(
            select distinct case when p = any(:s) then :v else p end
            from unnest(participant_contact_ids) as u(p)
            where (case when p = any(:s) then :v else p end) is distinct from contact_id)
        where tenant_id = :t and participant_contact_ids && :s"""),
        {"t": ctx.tenant_id, "s": list(sources), "v": survivor})
    return int(result.rowcount or 0)


register_mover(MergeMover("interactions", "contact", _mover("interactions", "contact_id")))
register_mover(MergeMover("interactionParticipants", "contact", _participants))
register_mover(MergeMover("surveyResponses", "contact", _mover("survey_responses", "contact_id")))
register_mover(MergeMover("interactions", "company", _mover("interactions", "company_id")))
register_mover(MergeMover("surveyResponses", "company", _mover("survey_responses", "company_id")))

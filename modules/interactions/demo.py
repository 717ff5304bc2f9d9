"""The demo tenant's interactions and survey answers: a few calls, visits and meetings on two
contacts of each member and on two companies, logged by their owners, some with a follow-up,
some answered with a CSAT and NPS score. Called by `modules.demo.seed_demo`, through the same
services as the API (so they show in the timeline with their audit rows)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from modules.customers.models import Company, Contact
from modules.interactions import service
from modules.interactions.models import InteractionKind
from tenancy.context import Actor, CallContext

# (type, channel, direction, minutes, subject, notes, outcome, follow-up in days)
CONVERSATIONS = [
    ("call", "phone", "outbound", 12, "年度采购计划沟通", "客户明年预算增加约两成，关注交期。",
     "约好下周上门演示", 2),
    ("visit", "in_person", "outbound", 90, "上门拜访：产品演示",
     "采购经理和技术负责人参加，对新型号兴趣大。", "索要正式报价", 1),
    ("email", "email", "outbound", None, "发送报价单 Q-2026-118", "含三档数量折扣，有效期 30 天。",
     None, 5),
    ("call", "phone", "inbound", 6, "咨询发货时间", "客户询问上批订单物流进度。",
     "已告知预计周五到货", None),
    ("meeting", "video", "outbound", 45, "Quarterly business review",
     "Reviewed Q3 volumes and service tickets; they want a dedicated account manager.",
     "Draft proposal for a support plan", 7),
    ("chat", "wechat", "inbound", None, "微信咨询售后政策", "询问保修期内更换配件的流程。",
     "已发送售后流程文档", None),
    ("note", None, None, None, "客户背景备注", "决策链：采购经理 → 财务总监 → 总经理。", None,
     None),
]
# (CSAT, NPS, comment)
ANSWERS = [(5, 10, "响应很快，讲解清楚。"), (4, 9, "整体满意，希望报价更快。"), (3, 7, None),
           (2, 4, "发货比承诺晚了三天。"), (5, 9, "Great follow-up after the review.")]


async def seed_interactions(session: AsyncSession, tenant_id: uuid.UUID,
                            permissions: frozenset[str], names: dict[uuid.UUID, str]) -> None:
    rng = random.Random(20261130)  # its own: the customers' data stays as it was
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    types = {row.key: row.id for row in (await session.scalars(
        select(InteractionKind).where(InteractionKind.tenant_id == tenant_id,
                                      InteractionKind.key.is_not(None)))).all()}
    # Two contacts of each member: every sales user finds some on their own customers.
    contacts: list[Contact] = []
    per_owner: dict[uuid.UUID | None, int] = {}
    for contact in (await session.scalars(
            select(Contact).where(Contact.tenant_id == tenant_id, Contact.owner_id.is_not(None))
            .order_by(Contact.created_at, Contact.id).limit(200))).all():
        if per_owner.setdefault(contact.owner_id, 0) < 2:
            per_owner[contact.owner_id] += 1
            contacts.append(contact)
    companies = (await session.scalars(
        select(Company).where(Company.tenant_id == tenant_id, Company.owner_id.is_not(None))
        .order_by(Company.created_at, Company.id).limit(2))).all()

    def as_owner(owner_id: uuid.UUID) -> CallContext:
        actor = Actor("user", owner_id, tenant_id, "seed", permissions, names.get(owner_id, "seed"))
        return CallContext(actor, request_id="seed")

    logged = []
    customers = [("contact_id", c) for c in contacts] + [("company_id", c) for c in companies]
    for i, (key, customer) in enumerate(customers):
        kind, channel, direction, minutes, subject, body, outcome, follow = CONVERSATIONS[
            i % len(CONVERSATIONS)]
        occurred = now - timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 8))
        ctx = as_owner(customer.owner_id)  # type: ignore[arg-type]  # not null: selected so
        logged.append((ctx, customer, key, await service.interactions.create(session, ctx, {
            "type_id": types[kind], "channel": channel, "direction": direction,
            "occurred_at": occurred, "duration_seconds": minutes * 60 if minutes else None,
            "subject": subject, "body": body, "outcome": outcome,
            "next_follow_up_at": now + timedelta(days=follow, hours=rng.randint(1, 6))
            if follow is not None else None,
            key: customer.id})))
    for (ctx, customer, key, interaction), (csat, nps, comment) in zip(
            logged, ANSWERS, strict=False):
        await service.survey_responses.create(session, ctx, {
            "interaction_id": interaction.id, key: customer.id, "csat": csat, "nps": nps,
            "comment": comment,
            "responded_at": interaction.occurred_at + timedelta(hours=rng.randint(2, 30))})

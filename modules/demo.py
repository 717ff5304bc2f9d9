"""Demo data: one tenant with its team, companies and contacts, Chinese and English alike.

Written through the same services as the API, so the demo's history shows in the audit log and
its events in the outbox.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from infra.db import Database
from modules.custom_fields import service as custom_fields
from modules.customers import service as customers
from modules.customers.models import Company
from modules.interactions.demo import seed_interactions
from tenancy import service as tenancy
from tenancy.context import Actor, CallContext
from tenancy.models import Tenant

DEMO_SLUG = "demo"
DEMO_EMAIL = "admin@demo.example.com"
DEMO_PASSWORD = "demo-password"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
         "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "晨曦", "子涵", "浩然", "欣怡", "思远"]
EN_FIRST = ["James", "Mary", "Robert", "Linda", "Sofia", "Lukas", "Emma", "Noah", "Aiko", "Priya"]
EN_LAST = ["Smith", "Johnson", "Müller", "Rossi", "Dubois", "Tanaka", "Patel", "Andersson"]
PLACES = [
    ("上海市", "上海市", "浦东新区", "世纪大道100号"), ("北京市", "北京市", "海淀区", "中关村大街27号"),
    ("广东省", "深圳市", "南山区", "科技园南区高新南一道"), ("广东省", "广州市", "天河区", "天河路385号"),
    ("浙江省", "杭州市", "西湖区", "文三路478号"), ("江苏省", "苏州市", "工业园区", "星湖街328号"),
    ("四川省", "成都市", "武侯区", "天府大道中段1268号"), ("湖北省", "武汉市", "洪山区", "珞喻路1037号"),
]
COMPANIES = [
    ("上海华联贸易有限公司", "贸易"), ("北京星辰科技有限公司", "软件"), ("深圳前海云帆物流有限公司", "物流"),
    ("杭州绿源茶业有限公司", "食品饮料"), ("广州南方医疗器械有限公司", "医疗"), ("苏州精工机械制造有限公司", "制造"),
    ("成都天府文化传媒有限公司", "传媒"), ("武汉长江新能源有限公司", "能源"),
    ("Northwind Traders", "Wholesale"), ("Contoso Ltd", "Software"), ("Fabrikam Inc", "Manufacturing"),
    ("Tailspin Toys", "Retail"),
]
MOBILE_PREFIXES = ["130", "131", "135", "136", "138", "139", "150", "152", "158", "186", "188", "199"]


@dataclass
class DemoInfo:
    created: bool
    slug: str
    email: str
    password: str


DEMO_FIELDS: list[dict[str, Any]] = [
    {"entity": "contact", "key": "level", "label": "客户等级", "type": "select",
     "options": [{"key": "a", "label": "A 重点"}, {"key": "b", "label": "B 普通"},
                 {"key": "c", "label": "C 潜在"}]},
    {"entity": "contact", "key": "annual_purchase", "label": "年采购额（元）", "type": "decimal",
     "help_text": "上一年度的采购总额"},
]


async def seed_demo(owner_db: Database, *, contacts: int = 200) -> DemoInfo:
    """Create the demo tenant once; later runs find it and change nothing."""
    info = DemoInfo(False, DEMO_SLUG, DEMO_EMAIL, DEMO_PASSWORD)
    async with owner_db.scoped(None) as session:
        if await session.scalar(select(Tenant.id).where(Tenant.slug == DEMO_SLUG)):
            return info
    rng = random.Random(20261123)
    async with owner_db.sessions() as session, session.begin():
        new = await tenancy.create_tenant(
            session, name="演示公司 Demo Trading", slug=DEMO_SLUG, admin_email=DEMO_EMAIL,
            admin_password=DEMO_PASSWORD, admin_name="管理员 Admin")
        team = [new.admin.id]
        names = {new.admin.id: "管理员 Admin"}
        for member_email, member_name, role in [
            ("manager@demo.example.com", "陈经理", "manager"),
            ("sales1@demo.example.com", "李销售", "sales"),
            ("sales2@demo.example.com", "Emma Sales", "sales"),
            ("viewer@demo.example.com", "王观察", "viewer"),
        ]:
            user = await tenancy.add_member(session, new.ctx, email=member_email, name=member_name,
                                            password=DEMO_PASSWORD, role_key=role)
            team.append(user.id)
            names[user.id] = member_name
        ctx = CallContext(Actor("system", None, new.tenant.id, "system",
                                new.ctx.actor.permissions, "seed"), request_id="seed")
        # The tenant's own fields on contacts (modules/custom_fields), filled on most of them.
        for field in DEMO_FIELDS:
            await custom_fields.custom_fields.create(session, ctx, field)
        companies: list[Company] = []
        for i, (name, industry) in enumerate(COMPANIES):
            province, city, district, street = PLACES[i % len(PLACES)]
            chinese = i < 8
            companies.append(await customers.companies.create(session, ctx, {
                "name": name, "industry": industry,
                "domain": None if chinese else name.split()[0].lower() + ".example.com",
                "phone": f"+86 21 {rng.randint(5000_0000, 6999_9999)}" if chinese else None,
                "address": {"country": "CN", "province": province, "city": city,
                            "district": district, "street": street} if chinese else
                {"country": "US", "city": "Seattle", "street": f"{rng.randint(1, 999)} Pine St"},
                "owner_id": rng.choice(team),
            }))
        for _ in range(contacts):
            email: str | None
            company = rng.choice(companies)
            chinese = rng.random() < 0.75
            if chinese:
                name = rng.choice(SURNAMES) + rng.choice(GIVEN)
                phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 9999_9999):08d}"
                email = None if rng.random() < 0.3 else f"u{rng.randint(1000, 99999)}@qq.com"
                province, city, district, street = rng.choice(PLACES)
                address = {"country": "CN", "province": province, "city": city,
                           "district": district, "street": street}
            else:
                first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
                name = f"{first} {last}"
                phone = f"+1 206 555 {rng.randint(100, 999):04d}"
                email = f"{first}.{last}@{company.domain or 'example.com'}".lower()
                address = None
            await customers.contacts.create(session, ctx, {
                "name": name, "phone": phone, "email": email, "address": address,
                "company_id": company.id,
                "gender": rng.choice(["male", "female", None]),
                "birthday": date(rng.randint(1960, 2000), rng.randint(1, 12), rng.randint(1, 28)),
                "title": rng.choice(["总经理", "采购经理", "销售总监", "Buyer", "CTO", None]),
                "owner_id": rng.choice(team),
                "custom_fields": [
                    {"key": "level", "value": rng.choice(["a", "b", "c", None])},
                    {"key": "annual_purchase",
                     "value": rng.choice([None, f"{rng.randint(1, 5000) * 1000}.00"])}],
            })
        # Interactions and survey answers on the first customers (modules/interactions/demo.py).
        await seed_interactions(session, new.tenant.id, new.ctx.actor.permissions, names)
    info.created = True
    return info

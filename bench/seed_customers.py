"""One big tenant of realistic customers for the customer benches (search, custom-field filter,
department scope). Not a test.

    .venv/bin/python bench/seed_customers.py       # 100,000 contacts, crm_bench_customers
    .venv/bin/python bench/seed_customers.py --contacts 20000 --database crm_bench_small

From another bench:

    from bench.seed_customers import bench_database, seed_customers
    url = bench_database("crm_bench_customers")          # created and migrated if needed
    seeded = asyncio.run(seed_customers(url))           # reused when already seeded

The tenant, its members and API keys are made through the product's services (as the test
factory does); companies and contacts go in with COPY as the owner role, the tenant set for the
transaction (row-level security's WITH CHECK holds for an owner that is not a superuser too).
Names are Chinese (70 %, surnames by frequency, one- or two-character given names) and English;
mainland mobiles (+86 1xx…), emails from pinyin or English names, companies like
`北京星辰科技有限公司` and `Northwind Logistics Ltd`, 70 % of contacts in one, owners spread over
six sales reps and a manager, creation times over three years. Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.db import Database  # noqa: E402
from infra.embedded import normalise_db_url, start_embedded_postgres  # noqa: E402
from infra.migrate import libpq_dsn, upgrade  # noqa: E402
from infra.settings import Settings  # noqa: E402
from tenancy.context import system_context  # noqa: E402
from tenancy.service import add_member, create_api_key, create_tenant  # noqa: E402

PASSWORD = "bench-password"
SLUG = "bench-customers"
DATA = ROOT / ".crm" / "bench-customers"

# Surnames with their pinyin, roughly by frequency (the first ten cover ~40 % of people).
SURNAMES = [
    ("王", "wang", 72), ("李", "li", 71), ("张", "zhang", 68), ("刘", "liu", 54),
    ("陈", "chen", 45), ("杨", "yang", 31), ("黄", "huang", 23), ("赵", "zhao", 20),
    ("吴", "wu", 20), ("周", "zhou", 19), ("徐", "xu", 13), ("孙", "sun", 12), ("马", "ma", 12),
    ("朱", "zhu", 11), ("胡", "hu", 10), ("郭", "guo", 10), ("何", "he", 9), ("高", "gao", 9),
    ("林", "lin", 9), ("罗", "luo", 8), ("郑", "zheng", 8), ("梁", "liang", 7), ("谢", "xie", 6),
    ("宋", "song", 5), ("唐", "tang", 5), ("许", "xu", 5), ("韩", "han", 5), ("冯", "feng", 4),
    ("邓", "deng", 4), ("曹", "cao", 4), ("彭", "peng", 4), ("曾", "zeng", 4), ("肖", "xiao", 4),
    ("田", "tian", 3), ("董", "dong", 3), ("袁", "yuan", 3), ("潘", "pan", 3), ("于", "yu", 3),
    ("蒋", "jiang", 3), ("蔡", "cai", 3), ("余", "yu", 3), ("杜", "du", 3), ("叶", "ye", 3),
    ("程", "cheng", 3), ("苏", "su", 3), ("魏", "wei", 3), ("吕", "lv", 2), ("丁", "ding", 2),
    ("沈", "shen", 2), ("姚", "yao", 2), ("欧阳", "ouyang", 1), ("诸葛", "zhuge", 1),
    ("司马", "sima", 1),
]
GIVEN = [
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("霞", "xia"),
    ("平", "ping"), ("刚", "gang"), ("华", "hua"), ("辉", "hui"), ("玲", "ling"), ("建", "jian"),
    ("国", "guo"), ("红", "hong"), ("文", "wen"), ("斌", "bin"), ("宇", "yu"), ("浩", "hao"),
    ("鹏", "peng"), ("婷", "ting"), ("雪", "xue"), ("琳", "lin"), ("晨", "chen"), ("欣", "xin"),
    ("子", "zi"), ("涵", "han"), ("梓", "zi"), ("轩", "xuan"), ("嘉", "jia"), ("怡", "yi"),
    ("思", "si"), ("雨", "yu"), ("博", "bo"), ("然", "ran"), ("志", "zhi"), ("海", "hai"),
    ("秀英", "xiuying"), ("桂英", "guiying"), ("秀兰", "xiulan"), ("建华", "jianhua"),
]
FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
         "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
         "Thomas", "Sarah", "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony",
         "Emma", "Olivia", "Noah", "Liam", "Sophia", "Lucas", "Mia", "Oliver", "Amelia",
         "Ethan", "Harper", "Priya", "Aiko", "Lukas", "Fatima"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
        "Rodriguez", "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor", "Thomas",
        "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis",
        "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker",
        "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts"]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "南京", "武汉", "西安", "苏州",
          "天津", "重庆", "长沙", "青岛", "厦门", "宁波", "郑州", "合肥", "济南", "大连"]
BRANDS = ["星辰", "华联", "云帆", "绿源", "南方", "东方", "恒通", "天宇", "金桥", "宏达",
          "远航", "盛世", "嘉禾", "瑞丰", "鼎新", "博远", "中科", "汇智", "华信", "新元",
          "卓越", "联创", "安和", "明德", "睿达", "泰和", "永安", "启明", "光华", "凯瑞",
          "佳美", "万通", "龙腾", "凤凰", "海天", "长城", "江南", "蓝海", "九州", "晨光"]
INDUSTRIES = ["科技", "贸易", "物流", "医疗器械", "教育咨询", "文化传媒", "建筑工程", "餐饮管理",
              "电子", "机械制造", "食品", "服装", "信息技术", "网络科技", "生物科技", "新能源",
              "汽车服务", "房地产开发", "管理咨询", "金融服务"]
SUFFIXES = ["有限公司"] * 6 + ["股份有限公司", "集团有限公司"]
EN_BRANDS = ["Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware", "Proseware", "Coho",
             "Woodgrove", "Lucerne", "Relecloud", "Adatum", "Alpine", "Blue Yonder", "Humongous",
             "Margie's", "Trey", "VanArsdel", "Wingtip", "Graphic Design", "Fourth Coffee"]
EN_INDUSTRIES = ["Logistics", "Trading", "Software", "Medical", "Foods", "Consulting",
                 "Electronics", "Robotics", "Energy", "Apparel"]
EN_SUFFIXES = ["Ltd", "Inc.", "Co., Ltd", "Group", "GmbH"]
MAIL_DOMAINS = ["qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "sina.com",
                "foxmail.com", "hotmail.com"]
MOBILE_PREFIXES = ["130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150",
                   "151", "152", "153", "155", "156", "157", "158", "159", "166", "176", "177",
                   "178", "180", "181", "182", "183", "185", "186", "187", "188", "189", "199"]
REPS = ["sales1", "sales2", "sales3", "sales4", "sales5", "sales6"]


@dataclass
class SeededMember:
    user_id: str
    email: str
    role: str


@dataclass
class SeededTenant:
    """What a bench needs to act in the seeded tenant: API keys by role (owner, admin,
    manager, viewer; sales users have none, they sign in with `PASSWORD`) and the members."""

    tenant_id: str
    slug: str
    contacts: int
    companies: int
    keys: dict[str, str] = field(default_factory=dict)
    members: dict[str, SeededMember] = field(default_factory=dict)


def bench_database(name: str = "crm_bench_customers") -> str:
    """An owner URL for database `name` on DATABASE_URL's server (else an embedded one),
    created if missing and migrated to head."""
    base = os.environ.get("DATABASE_URL")
    if base:
        admin = normalise_db_url(base)
        with psycopg.connect(libpq_dsn(admin), autocommit=True) as conn:
            if not conn.execute("select 1 from pg_database where datname = %s",
                                (name,)).fetchone():
                conn.execute(f'create database "{name}"')
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    else:
        url = start_embedded_postgres(DATA, database=name)
    upgrade(url, Settings())
    return url


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.phones: set[str] = set()
        self.emails: set[str] = set()
        self._surnames = [s for s in SURNAMES]
        self._weights = [w for _, _, w in SURNAMES]

    def chinese_name(self) -> tuple[str, str]:
        """(name, pinyin for an email)."""
        surname, py, _ = self.rng.choices(self._surnames, self._weights)[0]
        parts = [self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2, 2)))]
        return surname + "".join(p[0] for p in parts), "".join(p[1] for p in parts) + "." + py

    def english_name(self) -> tuple[str, str]:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        return f"{first} {last}", f"{first}.{last}".lower()

    def mobile(self) -> str:
        while True:
            number = "+86" + self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def email(self, local: str, domain: str | None = None) -> str:
        domain = domain or self.rng.choice(MAIL_DOMAINS)
        while True:
            suffix = "" if self.rng.random() < 0.3 else str(self.rng.randrange(1, 1000))
            address = f"{local}{suffix}@{domain}"
            if address not in self.emails:
                self.emails.add(address)
                return address

    def company(self) -> tuple[str, str | None]:
        """(name, email domain)."""
        if self.rng.random() < 0.85:
            name = (self.rng.choice(CITIES) + self.rng.choice(BRANDS)
                    + self.rng.choice(INDUSTRIES) + self.rng.choice(SUFFIXES))
            return name, None
        brand = self.rng.choice(EN_BRANDS)
        name = f"{brand} {self.rng.choice(EN_INDUSTRIES)} {self.rng.choice(EN_SUFFIXES)}"
        return name, brand.lower().replace(" ", "").replace("'", "") + ".com"


async def _tenant(url: str, slug: str) -> SeededTenant:
    """The tenant with its members and keys, through the product's services."""
    db = Database(url, pool_size=2, max_overflow=0)
    try:
        async with db.sessions() as session, session.begin():
            new = await create_tenant(session, name="Bench customers 客户基准", slug=slug,
                                      admin_email=f"owner@{slug}.example.com",
                                      admin_password=PASSWORD)
            seeded = SeededTenant(str(new.tenant.id), slug, 0, 0)
            seeded.members["owner"] = SeededMember(str(new.admin.id),
                                                   f"owner@{slug}.example.com", "owner")
            for name, role in [("manager", "manager"), *((r, "sales") for r in REPS)]:
                email = f"{name}@{slug}.example.com"
                user = await add_member(session, new.ctx, email=email, name=name,
                                        password=PASSWORD, role_key=role)
                seeded.members[name] = SeededMember(str(user.id), email, role)
        async with db.scoped(new.tenant.id) as session:
            ctx = system_context(new.tenant.id)
            for role in ("owner", "admin", "manager", "viewer"):
                issued = await create_api_key(session, ctx, name=f"bench {role}", role_key=role)
                seeded.keys[role] = issued.secret
        return seeded
    finally:
        await db.dispose()


def _copy(url: str, seeded: SeededTenant, contacts: int, companies: int, seed: int) -> None:
    gen = Generator(seed)
    rng = gen.rng
    tenant = uuid.UUID(seeded.tenant_id)
    owners = [uuid.UUID(seeded.members[r].user_id) for r in REPS]
    manager = uuid.UUID(seeded.members["manager"].user_id)
    now = datetime.now(UTC)

    def owner() -> uuid.UUID | None:
        roll = rng.random()
        return None if roll < 0.02 else manager if roll < 0.1 else rng.choice(owners)

    def created() -> datetime:
        return now - timedelta(seconds=rng.randrange(3 * 365 * 86400))

    company_rows = []
    for _ in range(companies):
        name, domain = gen.company()
        at = created()
        company_rows.append((tenant, uuid.uuid4(), name, domain,
                             gen.email("info", domain) if domain else None,
                             gen.mobile() if rng.random() < 0.3 else None, owner(), at, at))
    with psycopg.connect(libpq_dsn(url)) as conn:
        conn.execute("select set_config('app.tenant_id', %s, true)", (str(tenant),))
        with conn.cursor().copy(
                "copy companies (tenant_id, id, name, domain, email, phone, owner_id, "
                "created_at, updated_at) from stdin") as copy:
            for row in company_rows:
                copy.write_row(row)
        with conn.cursor().copy(
                "copy contacts (tenant_id, id, company_id, name, email, phone, title, owner_id, "
                "created_at, updated_at) from stdin") as copy:
            for _ in range(contacts):
                chinese = rng.random() < 0.7
                name, local = gen.chinese_name() if chinese else gen.english_name()
                company = rng.choice(company_rows) if rng.random() < 0.7 else None
                domain = company[3] if company is not None and company[3] else None
                email = (gen.email(local, domain) if rng.random() < 0.8 else None)
                title = rng.choice(["总经理", "采购经理", "销售总监", "财务", "Buyer", "CTO",
                                    "Founder", None, None])
                at = created()
                copy.write_row((tenant, uuid.uuid4(), company[1] if company else None, name,
                                email, gen.mobile() if rng.random() < 0.9 else None, title,
                                company[6] if company is not None and company[6] else owner(),
                                at, at))
        conn.commit()
        conn.autocommit = True
        conn.execute("analyze companies")
        conn.execute("analyze contacts")


async def seed_customers(url: str, *, slug: str = SLUG, contacts: int = 100_000,
                         companies: int | None = None, seed: int = 20261130) -> SeededTenant:
    """The seeded tenant: made now, or the one an earlier run made (its description is kept
    beside the data, in the `bench_seeds` table of the database the owner role holds)."""
    companies = companies if companies is not None else contacts // 4
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        conn.execute("create table if not exists bench_seeds (slug text primary key, "
                     "description jsonb not null)")
        row = conn.execute("select description from bench_seeds where slug = %s",
                           (slug,)).fetchone()
    if row is not None:
        found = row[0]
        members = {k: SeededMember(**v) for k, v in found.pop("members").items()}
        seeded = SeededTenant(**found, members=members)
        if seeded.contacts != contacts or seeded.companies != companies:
            raise SystemExit(f"{slug} holds {seeded.contacts} contacts, not {contacts}: "
                             "use another --slug or --database")
        return seeded
    seeded = await _tenant(url, slug)
    started = time.monotonic()
    _copy(url, seeded, contacts, companies, seed)
    seeded.contacts, seeded.companies = contacts, companies
    print(f"seeded {contacts:,} contacts and {companies:,} companies in "
          f"{time.monotonic() - started:.1f} s", file=sys.stderr)
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        conn.execute("insert into bench_seeds values (%s, %s)",
                     (slug, json.dumps(asdict(seeded))))
    return seeded


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", default="crm_bench_customers")
    ap.add_argument("--slug", default=SLUG)
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20261130)
    a = ap.parse_args()
    seeded = asyncio.run(seed_customers(bench_database(a.database), slug=a.slug,
                                        contacts=a.contacts, seed=a.seed))
    out: dict[str, Any] = asdict(seeded)
    out["keys"] = {role: key[:12] + "…" for role, key in seeded.keys.items()}  # not in logs
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

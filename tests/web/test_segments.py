"""Segments, saved views and classification in the browser: a manager saves the list's filter
as a shared segment, sees its members and count, exports it (a CSV with a BOM) and the segment
stays current; a sales user saves a default view that opens the list; a viewer reads segments
and the rules without a way to change them; an admin changes the level rules, and a
customer's level and RFM show on their page, in both languages."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from playwright.sync_api import expect

from infra.db import Database, new_id
from infra.global_ids import from_global_id
from modules.classification import service
from tenancy.context import system_context
from tests.conftest import GraphQLClient, Servers
from tests.factories import TenantData, TenantFactory
from tests.web.conftest import UI

CREATE = "mutation($n: String!) { createContact(input: {name: $n}) { id } }"


def _in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    # In a thread of its own: Playwright's event loop is running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def _tenant(tenants: TenantFactory, members: dict[str, str]) -> TenantData:
    return _in_thread(tenants.make, members=members)  # type: ignore[no-any-return]


def _contacts(gql: GraphQLClient, tenant: TenantData, *names: str) -> list[str]:
    return [gql.data(CREATE, {"n": n}, key=tenant.keys["owner"])["createContact"]["id"]
            for n in names]


def _orders(servers: Servers, tenant: TenantData, contact: str, count: int, amount: int
            ) -> None:
    """Orders as the orders module will feed them: through the classification hook."""
    async def go() -> None:
        db = Database(servers.app_url, pool_size=1, max_overflow=0, read_pool_size=1)
        try:
            async with db.scoped(tenant.id) as session:
                ctx = system_context(tenant.id, request_id="test")
                for i in range(count):
                    await service.record_order(session, ctx, service.OrderFact(
                        new_id(), "contact", from_global_id(contact)[1],
                        datetime.now(UTC) - timedelta(days=1 + i), Decimal(amount)))
        finally:
            await db.dispose()

    _in_thread(asyncio.run, go())


def test_a_manager_saves_a_segment_opens_its_members_and_exports_them(
        ui: UI, tenants: TenantFactory, gql: GraphQLClient) -> None:
    tenant = _tenant(tenants, {"冯经理": "manager"})
    manager = tenant.members["冯经理"]
    _contacts(gql, tenant, "华为 张伟", "华为 李娜", "腾讯 王芳")
    page = ui.page
    ui.enter(manager.email, "/contacts?q=华为", password=manager.password)
    table = page.locator("[data-test=contact-table]")
    expect(table.locator("tbody tr")).to_have_count(2)

    page.locator("[data-test=views-button]").click()
    page.locator("[data-test=save-segment-menu]").click()
    page.fill("#saved-name", "华为联系人")
    page.locator("[data-test=saved-shared]").click()
    page.locator("[data-test=save-saved]").click()
    expect(page.locator("[data-test=active-segment]")).to_contain_text("华为联系人")
    expect(table.locator("tbody tr")).to_have_count(2)
    ui.check("contacts-segment.zh-CN")

    # The segment stays current: a new matching contact is a member without touching it.
    _contacts(gql, tenant, "华为 陈静")
    page.locator("nav.sidebar").get_by_role("link", name="客户分群", exact=True).click()
    expect(page.locator("[data-test='count-华为联系人']")).to_have_text("3")
    with page.expect_download() as download:
        page.locator("[data-test='export-华为联系人']").click()
    path = download.value.path()
    text = path.read_text(encoding="utf-8") if path else ""
    assert text.startswith("\ufeff") and "华为 陈静" in text and "腾讯" not in text
    expect(page.locator(".el-message--success", has_text="已导出 3 行")).to_be_visible()
    ui.check("segments.zh-CN")

    page.locator("[data-test='open-华为联系人']").click()
    expect(page.locator("[data-test=active-segment]")).to_contain_text("华为联系人")
    expect(table.locator("tbody tr")).to_have_count(3)
    page.locator("[data-test=active-segment] .el-tag__close").click()
    expect(table.locator("tbody tr")).to_have_count(4)


def test_a_sales_users_default_view_opens_the_list_with_its_filter_and_sort(
        ui: UI, tenants: TenantFactory, gql: GraphQLClient) -> None:
    tenant = _tenant(tenants, {"韩销售": "sales"})
    sales = tenant.members["韩销售"]
    page = ui.page
    ui.enter(sales.email, "/contacts?q=华为&sort=NAME_DESC", password=sales.password)
    page.locator("[data-test=views-button]").click()
    page.locator("[data-test=save-view]").click()
    expect(page.locator("[data-test=saved-shared]")).to_have_count(0)  # sharing: managers
    page.fill("#saved-name", "我的华为")
    page.locator("[data-test=saved-default]").click()
    page.locator("[data-test=save-saved]").click()
    expect(page.locator(".el-message--success", has_text="我的华为")).to_be_visible()

    ui.go("/contacts")
    expect(page).to_have_url(re.compile(r"q=.*sort=NAME_DESC|sort=NAME_DESC.*q="))
    page.locator("[data-test=views-button]").click()
    expect(page.locator("[data-test='view-我的华为']")).to_contain_text("默认")
    ui.check("contacts-views-menu.zh-CN")


def test_a_viewer_reads_segments_and_rules_without_a_way_to_change_them(
        ui: UI, tenants: TenantFactory, gql: GraphQLClient) -> None:
    tenant = _tenant(tenants, {"钱查看": "viewer"})
    viewer = tenant.members["钱查看"]
    gql.data("""mutation { createSegment(input: {kind: SEGMENT, entity: CONTACT, name: "共享分群",
      filter: {search: "华为"}, shared: true}) { id } }""", key=tenant.keys["manager"])
    page = ui.page
    ui.enter(viewer.email, "/segments", password=viewer.password)
    expect(page.locator("[data-test=segment-table]")).to_contain_text("共享分群")
    for control in ("export-共享分群", "edit-共享分群", "delete-共享分群"):
        expect(page.locator(f"[data-test='{control}']")).to_have_count(0)
    ui.go("/contacts")
    page.locator("[data-test=views-button]").click()
    expect(page.locator("[data-test='segment-共享分群']")).to_be_visible()
    expect(page.locator("[data-test=save-view]")).to_have_count(0)
    page.keyboard.press("Escape")
    ui.go("/companies")  # the company list has the same menu
    page.locator("[data-test=views-button]").click()
    expect(page.locator("[data-test=save-segment-menu]")).to_have_count(0)
    expect(page.locator("[data-test='segment-共享分群']")).to_have_count(0)  # a contacts one
    page.keyboard.press("Escape")
    ui.go("/admin/classification")
    expect(page.locator("[data-test=read-only]")).to_be_visible()
    expect(page.locator("[data-test=save-rules]")).to_have_count(0)
    ui.check("classification-viewer.zh-CN")


def test_an_admin_sets_level_rules_and_a_customer_shows_level_and_rfm(
        ui: UI, tenants: TenantFactory, gql: GraphQLClient, servers: Servers) -> None:
    tenant = _tenant(tenants, {"管理员": "admin"})
    admin = tenant.members["管理员"]
    big, none = _contacts(gql, tenant, "大客户 周", "新客户 吴")
    _orders(servers, tenant, big, 12, 10000)
    page = ui.page
    ui.enter(admin.email, f"/contacts/{big}", password=admin.password)
    card = page.locator("[data-test=classification-card]")
    expect(card.locator("[data-test=customer-level]")).to_have_text("A")
    expect(card.locator("[data-test=rfm-r]")).to_have_text("5")
    ui.check("contact-classification.zh-CN")
    ui.go(f"/contacts/{none}")
    expect(card).to_contain_text("暂无订单")

    ui.go("/contacts")
    page.locator("[data-test=level-filter]").click()
    page.locator(".el-select-dropdown__item:visible", has_text="A").first.click()
    expect(page.locator("[data-test=contact-table] tbody tr")).to_have_count(1)

    ui.go("/admin/classification")
    page.locator("[data-test=add-level]").click()
    page.locator("[data-test=level-key-3]").fill("A")  # a key given twice: refused, shown
    page.locator("[data-test=save-rules]").click()
    expect(page.locator(".el-message--error")).to_be_visible()
    page.locator("[data-test=level-key-3]").fill("D")
    page.locator("[data-test=save-rules]").click()
    expect(page.locator(".el-message--success")).to_be_visible()
    rules = gql.data("{ classificationRules { levels { key } } }", key=tenant.keys["viewer"])
    assert [x["key"] for x in rules["classificationRules"]["levels"]] == ["A", "B", "C", "D"]

    page.locator("[data-test=language-menu]").click()
    page.get_by_text("English", exact=True).click()
    ui.go("/admin/classification")
    expect(page.get_by_role("heading", name="Customer levels and RFM")).to_be_visible()
    ui.check("classification.en")
    ui.go("/segments")
    expect(page.get_by_role("heading", name="Segments")).to_be_visible()
    ui.check("segments.en")
    ui.go(f"/contacts/{big}")
    expect(card).to_contain_text("Level and RFM")
    ui.check("contact-classification.en")

"""Phones, emails and addresses in the browser: a second phone added and made primary, a row's
error shown beside that row, 广东省 / 深圳市 / 南山区 picked from the server's divisions, the
detail page listing every point with the primary marked; in Chinese and in English."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import Page, expect

from tests.factories import TenantData, TenantFactory
from tests.web.conftest import UI


def _tenant(tenants: TenantFactory, members: dict[str, str]) -> TenantData:
    # In a thread of its own: Playwright's event loop is running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(tenants.make, members=members).result()  # type: ignore[no-any-return]


def pick_region(page: Page, *names: str) -> None:
    """Province, city, district through the cascader, each level loaded when opened."""
    page.locator("[data-test=region]").click()
    for level, name in enumerate(names):
        menu = page.locator(".el-cascader__dropdown:visible .el-cascader-menu").nth(level)
        menu.locator(".el-cascader-node", has_text=re.compile(f"^{name}$")).click()
    page.keyboard.press("Escape")


def test_a_rep_adds_a_second_phone_makes_it_primary_and_picks_the_district(
        ui: UI, tenants: TenantFactory) -> None:
    tenant = _tenant(tenants, {"周销售": "sales"})
    rep = tenant.members["周销售"]
    page = ui.page
    ui.enter(rep.email, "/contacts/new", password=rep.password)
    page.fill("#name", "陈思远")
    page.fill("#phone", "138 0013 8000")
    page.locator("[data-test=add-phones]").click()
    page.fill("#phones-1", "87654321")  # a Shenzhen landline, its area code forgotten
    page.locator("[data-test=phones-label-1]").click()
    page.locator(".el-select-dropdown__item:visible", has_text="工作").click()
    page.locator("[data-test=phones-primary-1]").click()
    page.fill("#email", "chen.siyuan@example.cn")
    pick_region(page, "广东省", "深圳市", "南山区")
    expect(page.locator("[data-test=region] input")).to_have_value("广东省 / 深圳市 / 南山区")
    page.fill("#address-street", "科技园南区高新南一道 8 号")
    page.locator("[data-test=save]").click()

    row = page.locator("[data-test=phones-row-1]")
    expect(row.locator(".el-form-item__error")).to_have_text("固定电话请加区号，如 010-12345678")
    expect(page.locator(".el-form-item.is-error")).to_have_count(1)  # only that row
    expect(page.locator("#phones-1")).to_be_focused()
    ui.check("contact-points-row-error.zh-CN")

    page.fill("#phones-1", "0755 8765 4321")
    page.locator("[data-test=save]").click()
    expect(page.locator("[data-test=record-name]")).to_have_text("陈思远")
    phones = page.locator("[data-test=phones-list] li")
    expect(phones).to_have_count(2)
    expect(phones.nth(0)).to_contain_text("138 0013 8000")
    expect(phones.nth(0)).to_contain_text("手机")
    primary = page.locator("[data-test=phones-primary]")
    expect(primary).to_contain_text("0755 8765 4321")
    expect(primary).to_contain_text("工作")
    expect(primary).to_contain_text("主要")
    expect(page.locator("[data-test=emails-primary]")).to_contain_text("chen.siyuan@example.cn")
    expect(page.get_by_text("广东省深圳市南山区科技园南区高新南一道 8 号")).to_be_visible()
    ui.check("contact-points-detail.zh-CN")

    # The list keeps showing the primary, as people read it (stored as E.164 in `phone`).
    ui.go("/contacts")
    expect(page.locator("[data-test=contact-table] tbody tr").first).to_contain_text(
        "0755 8765 4321")

    # Editing: the rows and the region come back as saved.
    page.get_by_role("link", name="陈思远").click()
    page.locator("[data-test=edit]").click()
    expect(page.locator("#phones-1")).to_have_value("0755 8765 4321")  # as people read it
    expect(page.locator("[data-test=region] input")).to_have_value("广东省 / 深圳市 / 南山区")
    page.locator("[data-test=phones-remove-0]").click()  # the mobile goes
    page.locator("[data-test=save]").click()
    expect(page.locator("[data-test=phones-list] li")).to_have_count(1)
    # The change in the timeline: the numbers, the primary first.
    timeline = page.locator("[data-test=timeline]")
    expect(timeline).to_contain_text("+8675587654321, +8613800138000")
    expect(timeline).not_to_contain_text("[object Object]")

    # In English: labels translated, divisions by their pinyin.
    page.evaluate("localStorage.setItem('crm.locale', 'en')")
    page.reload()
    page.wait_for_load_state("networkidle")
    expect(page.locator("[data-test=phones-primary]")).to_contain_text("Primary")
    expect(page.locator("[data-test=phones-primary]")).to_contain_text("Work")
    ui.check("contact-points-detail.en")
    page.locator("[data-test=edit]").click()
    expect(page.locator("[data-test=region] input")).to_have_value(
        "Guangdong / Shenzhen / Nanshan")
    page.locator("[data-test=add-phones]").click()
    page.fill("#phones-1", "+44 20 7946 0958")
    page.locator("[data-test=phones-primary-1]").click()
    ui.check("contact-points-form.en")
    page.locator("[data-test=save]").click()
    expect(page.locator("[data-test=phones-primary]")).to_contain_text("+44 20 7946 0958")


def test_a_viewer_sees_the_points_but_no_edit(ui: UI, tenants: TenantFactory) -> None:
    tenant = _tenant(tenants, {"吴观察": "viewer", "郑销售": "sales"})
    rep, viewer = tenant.members["郑销售"], tenant.members["吴观察"]
    page = ui.page
    ui.enter(rep.email, "/companies/new", password=rep.password)
    page.fill("#name", "深圳前海科技有限公司")
    page.fill("#phone", "0755-2345 6789")
    page.locator("[data-test=add-phones]").click()
    page.fill("#phones-1", "400 810 8888")
    pick_region(page, "北京市", "北京市", "朝阳区")
    page.locator("[data-test=save]").click()
    expect(page.locator("[data-test=record-name]")).to_have_text("深圳前海科技有限公司")
    url = page.url
    page.context.clear_cookies()
    ui.enter(viewer.email, "/" + url.split("//", 1)[1].split("/", 1)[1],
             password=viewer.password)
    expect(page.locator("[data-test=phones-list] li")).to_have_count(2)
    expect(page.locator("[data-test=phones-primary]")).to_contain_text("0755 2345 6789")
    expect(page.locator("[data-test=edit]")).to_have_count(0)
    ui.check("company-points-viewer.zh-CN")

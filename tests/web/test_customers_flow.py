"""A user's day with customers, in the browser: sign in, find, create (fixing an invalid phone
the API refused), edit, delete and restore; each page screenshotted and checked."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from modules.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.conftest import GraphQLClient, LiveServer
from tests.web.conftest import UI, World, api_as
from tests.web.test_contact_points import pick_region

FIRST_BY_NAME = "{ contacts(first: 1, sort: NAME_DESC) { nodes { name company { name } } } }"


def test_sign_in_shows_the_dashboard_with_real_figures(ui: UI, world: World) -> None:
    ui.go("/")
    expect(ui.page).to_have_url(re.compile(r"/sign-in"))  # no session: sign in first
    ui.check("sign-in.zh-CN")
    ui.sign_in(DEMO_EMAIL)
    expect(ui.page.locator("[data-test=tenant-name]")).to_have_text(world.demo_name)
    expect(ui.page.locator("[data-test=role]")).to_have_text("所有者")
    expect(ui.page.locator("[data-test=stat-contacts]")).to_contain_text("200")
    expect(ui.page.locator("[data-test=owner-chart] svg")).to_be_visible()
    # The chart's figures (also in a table for screen readers), from one grouped query.
    bars = ui.page.locator(".chart-figure table tr")
    expect(bars.first).to_be_attached()
    assert sum(int(v) for v in bars.locator("td").all_inner_texts()) <= 200
    ui.check("dashboard.zh-CN")


def test_find_a_contact_by_its_chinese_name(ui: UI, world: World, live_server: LiveServer,
                                            gql: GraphQLClient) -> None:
    api = api_as(live_server, gql, DEMO_EMAIL, DEMO_PASSWORD, world.demo_slug)
    wanted = gql.data(FIRST_BY_NAME, client=api)["contacts"]["nodes"][0]
    ui.enter(DEMO_EMAIL)
    ui.page.locator("nav.sidebar").get_by_role("link", name="联系人", exact=True).click()
    table = ui.page.locator("[data-test=contact-table]")
    expect(table.locator("tbody tr")).to_have_count(20)
    ui.check("contacts.zh-CN")
    ui.page.locator("[data-test=search]").fill(wanted["name"])
    expect(ui.page).to_have_url(re.compile(r"[?&]q="))
    rows = table.locator("tbody tr")
    expect(rows.first).to_contain_text(wanted["name"])
    for text in rows.all_inner_texts():
        assert wanted["name"] in text
    ui.check("contacts-search.zh-CN")
    rows.first.get_by_role("link", name=wanted["name"]).click()
    expect(ui.page.locator("[data-test=record-name]")).to_have_text(wanted["name"])
    ui.check("contact-detail.zh-CN")


def test_create_with_an_invalid_phone_fix_it_edit_delete_and_restore(ui: UI) -> None:
    page = ui.page
    ui.enter(DEMO_EMAIL, "/contacts")
    page.locator("[data-test=new-contact]").click()
    expect(page.get_by_role("heading", name="新建联系人")).to_be_visible()
    # A form's company picker asks for one; "all companies" is the list filter's word.
    company_item = page.locator(".el-form-item", has=page.locator("#company"))
    expect(company_item).to_contain_text("选择公司")
    expect(company_item).not_to_contain_text("全部公司")
    page.fill("#name", "欧阳 明月")
    page.fill("#phone", "1380013")  # too short for a mainland number
    page.fill("#email", "mingyue@example.cn")
    # Labelled for screen readers; its levels are loaded from the server as they open.
    expect(page.get_by_role("textbox", name="省 / 市 / 区")).to_be_visible()
    pick_region(page, "上海市", "上海市", "浦东新区")
    page.fill("#address-street", "世纪大道 100 号")
    page.locator("[data-test=save]").click()

    phone_item = page.locator(".el-form-item", has=page.locator("#phone"))
    expect(phone_item.locator(".el-form-item__error")).to_have_text("电话号码无效")
    expect(page.locator(".el-form-item.is-error")).to_have_count(1)  # only the phone
    expect(page.locator("#phone")).to_be_focused()
    ui.check("contact-new-invalid-phone.zh-CN")

    page.fill("#phone", "139 1234 5678")
    page.locator("[data-test=save]").click()
    expect(page.locator("[data-test=record-name]")).to_have_text("欧阳 明月")
    expect(page.locator("[data-test=phones-primary]")).to_contain_text("139 1234 5678")
    expect(page.get_by_text("上海市浦东新区世纪大道 100 号")).to_be_visible()
    ui.check("contact-created.zh-CN")

    page.locator("[data-test=edit]").click()
    expect(page.locator("#name")).to_have_value("欧阳 明月")
    page.fill("#title", "技术总监")
    page.locator("[data-test=save]").click()
    expect(page.get_by_text("技术总监").first).to_be_visible()
    history = page.locator("[data-test=history]")
    expect(history).to_contain_text("修改")
    expect(history).to_contain_text("技术总监")
    ui.check("contact-edited.zh-CN")

    page.locator("[data-test=delete]").click()
    page.locator(".el-message-box").get_by_role("button", name="删除").click()
    expect(page.locator("[data-test=deleted-banner]")).to_be_visible()
    expect(page.locator("[data-test=edit]")).to_have_count(0)
    ui.check("contact-deleted.zh-CN")
    ui.go("/contacts?q=欧阳")
    expect(page.locator("[data-test=contact-table]")).to_contain_text("没有符合条件的客户")
    ui.go("/contacts?q=欧阳&status=deleted")
    expect(page.locator("[data-test=contact-table] tbody tr")).to_have_count(1)
    page.get_by_role("link", name="欧阳 明月").click()
    page.locator("[data-test=restore]").click()
    expect(page.locator("[data-test=deleted-banner]")).to_have_count(0)
    expect(page.locator("[data-test=edit]")).to_be_visible()
    expect(history).to_contain_text("恢复")


def test_companies_list_detail_and_form(ui: UI) -> None:
    page = ui.page
    ui.enter(DEMO_EMAIL, "/companies")
    table = page.locator("[data-test=company-table]")
    expect(table.locator("tbody tr")).to_have_count(12)
    ui.check("companies.zh-CN")
    table.get_by_role("link", name="上海华联贸易有限公司").click()
    expect(page.locator("[data-test=record-name]")).to_have_text("上海华联贸易有限公司")
    ui.check("company-detail.zh-CN")
    page.locator("[data-test=edit]").click()
    # The form fills itself from the record once it has loaded: type after that, not before.
    expect(page.locator("#name")).to_have_value("上海华联贸易有限公司")
    page.fill("#domain", "not a domain")
    page.locator("[data-test=save]").click()
    domain_item = page.locator(".el-form-item", has=page.locator("#domain"))
    expect(domain_item.locator(".el-form-item__error")).to_have_text("格式不正确")
    ui.check("company-edit-invalid.zh-CN")


def test_a_search_typed_just_before_leaving_stays_behind(ui: UI) -> None:
    """The list writes its search into the URL a moment after typing stops: leaving within that
    moment must not carry it into the next page's URL."""
    ui.enter(DEMO_EMAIL, "/contacts")
    expect(ui.page.locator("[data-test=contact-table] tbody tr").first).to_be_visible()
    ui.page.locator("[data-test=search]").press_sequentially("张")
    ui.page.locator("nav.sidebar").get_by_role("link", name="公司", exact=True).click()
    expect(ui.page.locator("[data-test=company-table] tbody tr").first).to_be_visible()
    ui.page.wait_for_timeout(600)  # past the search's 300 ms
    assert "q=" not in ui.page.url, ui.page.url

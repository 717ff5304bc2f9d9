"""Customer search in the browser: the top bar's box (focused with "/") opens the results page,
contacts and companies mixed by rank with their type and why they matched, each a link to its
page; keyboard only; in Chinese and English; a sales user never finds another rep's customer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from playwright.sync_api import expect

from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import TenantData, TenantFactory
from tests.web.conftest import UI

CONTACT = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"
COMPANY = "mutation($input: CompanyInput!) { createCompany(input: $input) { id } }"


def _tenant(tenants: TenantFactory, members: dict[str, str]) -> TenantData:
    # In a thread of its own: Playwright's event loop is running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(tenants.make, members=members).result()  # type: ignore[no-any-return]


def _create(gql: GraphQLClient, client: Any, doc: str, **fields: Any) -> str:
    return next(iter(gql.data(doc, {"input": fields}, client=client).values()))["id"]  # type: ignore[no-any-return]


def test_a_sales_rep_finds_their_own_zhang_wei_from_one_character(
    ui: UI, tenants: TenantFactory, gql: GraphQLClient, live_server: LiveServer
) -> None:
    tenant = _tenant(tenants, {"安销售": "sales", "博销售": "sales"})
    ann, bo = tenant.members["安销售"], tenant.members["博销售"]
    as_ann = login(live_server, gql, ann.email, ann.password)
    as_bo = login(live_server, gql, bo.email, bo.password)
    company = _create(gql, as_ann, COMPANY, name="北京科技有限公司")
    _create(gql, as_ann, CONTACT, name="张伟", email="zhangwei@example.cn",
            phone="13800138000", companyId=company)
    _create(gql, as_ann, CONTACT, name="王张")
    _create(gql, as_bo, CONTACT, name="张三")  # another rep's: never found by Ann

    page = ui.page
    ui.enter(ann.email, "/", password=ann.password)
    page.keyboard.press("/")  # the shortcut focuses the top bar's box
    expect(page.locator("[data-test=topbar-search]")).to_be_focused()
    page.keyboard.type("张")
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{live_server.url}/search?q=%E5%BC%A0")
    results = page.locator("[data-test=search-result]")
    expect(results).to_have_count(2)
    expect(results.nth(0).locator("[data-test=result-name]")).to_have_text("张伟")
    expect(results.nth(0).locator("[data-test=result-type]")).to_have_text("联系人")
    expect(results.nth(0).locator("[data-test=result-reason]")).to_have_text("姓名 · 开头匹配")
    expect(results.nth(0)).to_contain_text("北京科技有限公司")
    expect(results.nth(1).locator("[data-test=result-name]")).to_have_text("王张")
    expect(page.locator("[data-test=search-results]")).not_to_contain_text("张三")
    expect(page.locator("[data-test=search-summary]")).to_contain_text("共 2 条结果")
    ui.check("search.zh-CN")

    # A company fragment: the company first, then its contact, each with its type.
    box = page.locator("[data-test=search-page-input]")
    box.fill("科技")
    box.press("Enter")
    expect(results).to_have_count(2)
    expect(results.nth(0).locator("[data-test=result-type]")).to_have_text("公司")
    expect(results.nth(0).locator("[data-test=result-name]")).to_have_text("北京科技有限公司")
    expect(results.nth(1).locator("[data-test=result-reason]")).to_have_text("公司名称 · 包含")

    # Keyboard only: Tab from the box reaches the first result's link; Enter opens its page.
    box.focus()
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement?.dataset?.test") == "result-name":
            break
    expect(page.locator("[data-test=result-name]").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/companies/{company}")


def test_search_in_english_with_a_typo_and_nothing_found(
    ui: UI, tenants: TenantFactory, gql: GraphQLClient
) -> None:
    tenant = _tenant(tenants, {})
    key = tenant.keys["admin"]
    gql.data(CONTACT, {"input": {"name": "John Smith", "email": "john.smith@acme.com"}},
             key=key)
    gql.data(COMPANY, {"input": {"name": "Acme Trading", "industry": "Trading"}}, key=key)
    page = ui.page
    ui.enter(tenant.members["owner"].email, "/", password=tenant.members["owner"].password)
    page.evaluate("localStorage.setItem('crm.locale', 'en')")
    ui.go("/search")
    box = page.locator("[data-test=search-page-input]")
    expect(box).to_be_focused()  # an empty search page is ready to type in
    expect(page.get_by_text("Find contacts and companies")).to_be_visible()

    box.fill("Jonh Smith")
    box.press("Enter")
    first = page.locator("[data-test=search-result]").first
    expect(first.locator("[data-test=result-name]")).to_have_text("John Smith")
    expect(first.locator("[data-test=result-type]")).to_have_text("Contact")
    expect(first.locator("[data-test=result-reason]")).to_have_text("Name · similar spelling")
    ui.check("search.en")

    box.fill("zzzz-nothing")
    box.press("Enter")
    expect(page.locator("[data-test=search-empty]")).to_be_visible()
    expect(page.locator("[data-test=search-summary]")).to_contain_text("No results for")

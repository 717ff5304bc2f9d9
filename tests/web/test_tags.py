"""The tags page: the tenant's shared labels, created, renamed, recoloured, deleted and restored
by those who may, read by everyone who reads tags."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import expect

from graphql_api.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import TenantData, TenantFactory
from tests.web.conftest import UI


def _tenant(tenants: TenantFactory, members: dict[str, str]) -> TenantData:
    # In a thread of its own: Playwright's event loop is running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(tenants.make, members=members).result()  # type: ignore[no-any-return]


def test_a_manager_creates_renames_deletes_and_restores_a_tag(ui: UI, tenants: TenantFactory
                                                               ) -> None:
    tenant = _tenant(tenants, {"冯经理": "manager"})
    manager = tenant.members["冯经理"]
    page = ui.page
    ui.enter(manager.email, "/", password=manager.password)
    page.locator("nav.sidebar").get_by_role("link", name="标签", exact=True).click()
    table = page.locator("[data-test=tag-table]")
    expect(table).to_contain_text("还没有标签")

    for name in ("重点客户", "华东区"):
        page.locator("[data-test=new-tag]").click()
        page.fill("#tag-name", name)
        page.get_by_role("radio", name="#43a047").click()
        page.locator("[data-test=save-tag]").click()
        expect(table.locator("tbody tr", has_text=name)).to_be_visible()
    # Names are unique whatever their case: the clash is shown at the name.
    page.locator("[data-test=new-tag]").click()
    page.fill("#tag-name", "重点客户")
    page.locator("[data-test=save-tag]").click()
    expect(page.locator(".el-dialog .el-form-item__error")).to_contain_text("已有同名标签")
    page.keyboard.press("Escape")

    page.locator("[data-test='edit-华东区']").click()
    page.fill("#tag-name", "华东大区")
    page.locator("[data-test=save-tag]").click()
    expect(table).to_contain_text("华东大区")
    ui.check("tags.zh-CN")

    page.locator("[data-test='delete-重点客户']").click()
    page.locator(".el-message-box").get_by_role("button", name="删除").click()
    expect(table.locator("tbody tr", has_text="重点客户")).to_have_count(0)
    page.locator("[data-test=tag-deleted-filter]").click()
    page.locator(".el-select-dropdown__item:visible", has_text="仅已删除").click()
    row = table.locator("tbody tr", has_text="重点客户")
    expect(row).to_contain_text("已删除")
    page.locator("[data-test='restore-重点客户']").click()
    expect(table.locator("tbody tr")).to_have_count(0)  # deleted only: none left


def test_sales_see_tags_but_no_way_to_change_them(ui: UI, tenants: TenantFactory) -> None:
    tenant = _tenant(tenants, {"蒋销售": "sales"})
    sales = tenant.members["蒋销售"]
    ui.enter(sales.email, "/tags", password=sales.password)
    expect(ui.page.locator("[data-test=tag-table]")).to_be_visible()
    expect(ui.page.locator("[data-test=new-tag]")).to_have_count(0)
    expect(ui.page.locator("[data-test=tag-deleted-filter]")).to_have_count(0)


def test_a_contact_is_tagged_and_untagged_from_its_page(ui: UI, tenants: TenantFactory,
                                                         gql: GraphQLClient) -> None:
    tenant = _tenant(tenants, {"韩销售": "sales"})
    sales = tenant.members["韩销售"]
    owner_key = tenant.keys["owner"]
    for name, color in (("重点客户", "#e53935"), ("华南区", "#1e88e5")):
        gql.data("mutation($n: String!, $c: String!) { createTag(input: {name: $n, color: $c})"
                 " { id } }", {"n": name, "c": color}, key=owner_key)
    page = ui.page
    ui.enter(sales.email, "/contacts/new", password=sales.password)
    page.fill("#name", "魏客户")
    page.locator("[data-test=save]").click()
    tags = page.locator("[data-test=record-tags]")
    expect(tags).to_be_visible()
    for name in ("重点客户", "华南区"):
        tags.locator("[data-test=add-tag]").click()
        page.locator(".el-select-dropdown__item:visible", has_text=name).click()
        expect(tags.locator(".el-tag", has_text=name)).to_be_visible()
    ui.check("contact-tags.zh-CN")
    tags.locator(".el-tag", has_text="重点客户").locator(".el-tag__close").click()
    expect(tags.locator(".el-tag", has_text="重点客户")).to_have_count(0)
    expect(tags.locator(".el-tag", has_text="华南区")).to_be_visible()
    # From the tags page, a tag's contacts: the list filtered by it (and the filter shows it).
    gql.data('mutation($o: ID!) { createContact(input: {name: "无标签客户", ownerId: $o}) '
             "{ id } }", {"o": to_global_id("User", sales.user_id)}, key=owner_key)
    ui.go("/contacts")
    expect(page.locator("[data-test=contact-table] tbody tr")).to_have_count(2)
    ui.go("/tags")
    page.locator("[data-test=tag-table]").get_by_role("link", name="华南区").click()
    table = page.locator("[data-test=contact-table]")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("魏客户")
    expect(page.locator("[data-test=tag-filter]")).to_contain_text("华南区")

"""Custom fields in the browser: an admin defines a single select and a required text field on
the admin page; a sales user fills them on a new contact, sees the API's refusal beside the
missing required field, and sees the values on the contact's page; non-admins see the admin
page read-only."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import expect

from tests.factories import TenantData, TenantFactory
from tests.web.conftest import UI


def _tenant(tenants: TenantFactory, members: dict[str, str]) -> TenantData:
    # In a thread of its own: Playwright's event loop is running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(tenants.make, members=members).result()  # type: ignore[no-any-return]


def _define_fields(ui: UI) -> None:
    page = ui.page
    table = page.locator("[data-test=field-table]")
    expect(table).to_contain_text("还没有自定义字段")
    # A single select with two options.
    page.locator("[data-test=new-field]").click()
    page.fill("#field-label", "客户等级")
    page.fill("#field-key", "level")
    page.locator("[data-test=field-type]").click()
    page.locator(".el-select-dropdown__item:visible", has_text="单选").click()
    for i, label in enumerate(("重点客户", "普通客户")):
        page.locator("[data-test=add-option]").click()
        option = page.locator(f"[data-test=option-{i}]")
        option.get_by_label("名称").fill(label)
        option.get_by_label("键名").fill(("key_account", "regular")[i])
    page.locator("[data-test=save-field]").click()
    expect(table.locator(".el-table__body tr", has_text="客户等级")).to_be_visible()
    # A required text field, with help text.
    page.locator("[data-test=new-field]").click()
    page.fill("#field-label", "客户来源")
    page.fill("#field-key", "source")
    page.fill("#field-help", "例如：展会、官网、转介绍")
    page.locator("[data-test=field-required]").click()
    page.locator("[data-test=save-field]").click()
    row = table.locator(".el-table__body tr", has_text="客户来源")
    expect(row).to_contain_text("必填")
    # A key already taken is refused at the key.
    page.locator("[data-test=new-field]").click()
    page.fill("#field-label", "重复")
    page.fill("#field-key", "level")
    page.locator("[data-test=save-field]").click()
    expect(page.locator(".el-dialog .el-form-item__error")).to_contain_text("已有字段")
    page.keyboard.press("Escape")
    # The required field goes first.
    page.locator("[data-test=up-source]").click()
    expect(table.locator(".el-table__body tr").first).to_contain_text("客户来源")


def test_an_admin_defines_fields_and_a_user_fills_them_on_a_contact(
    ui: UI, tenants: TenantFactory
) -> None:
    tenant = _tenant(tenants, {"周管理": "admin", "吴销售": "sales"})
    admin, sales = tenant.members["周管理"], tenant.members["吴销售"]
    page = ui.page
    ui.enter(admin.email, "/", password=admin.password)
    page.locator("nav.sidebar").get_by_role("link", name="自定义字段", exact=True).click()
    _define_fields(ui)
    ui.check("custom-fields.zh-CN")

    ui.enter(sales.email, "/contacts/new", password=sales.password)
    fields = page.locator("[data-test=custom-fields]")
    expect(fields).to_contain_text("客户等级")
    expect(fields).to_contain_text("例如：展会、官网、转介绍")
    page.fill("#name", "郑客户")
    page.locator("[data-field=custom-level] .el-select").click()
    page.locator(".el-select-dropdown__item:visible", has_text="重点客户").click()
    page.locator("[data-test=save]").click()
    # The API refuses the missing required field; the message stands beside it, focused.
    source = page.locator("[data-field=custom-source]")
    expect(source.locator(".el-form-item__error")).to_have_text("必填")
    expect(page.locator("#custom-source")).to_be_focused()
    ui.check("custom-fields-form-error.zh-CN")
    page.fill("#custom-source", "展会")
    page.locator("[data-test=save]").click()
    expect(page.locator("[data-test=custom-value-level]")).to_have_text("重点客户")
    expect(page.locator("[data-test=custom-value-source]")).to_have_text("展会")
    ui.check("custom-fields-detail.zh-CN")
    # Edited: the form holds the values; a changed one is saved, the others kept.
    page.locator("[data-test=edit]").click()
    expect(page.locator("#custom-source")).to_have_value("展会")
    page.fill("#custom-source", "展会（上海）")
    page.locator("[data-test=save]").click()
    expect(page.locator("[data-test=custom-value-source]")).to_have_text("展会（上海）")
    expect(page.locator("[data-test=custom-value-level]")).to_have_text("重点客户")

    # Another contact, at the other level; then the list filtered by the select.
    ui.go("/contacts/new")
    page.fill("#name", "钱客户")
    page.fill("#custom-source", "官网")
    page.locator("[data-field=custom-level] .el-select").click()
    page.locator(".el-select-dropdown__item:visible", has_text="普通客户").click()
    page.locator("[data-test=save]").click()
    expect(page.locator("[data-test=custom-value-level]")).to_have_text("普通客户")
    ui.go("/contacts")
    table = page.locator("[data-test=contact-table]")
    expect(table).to_contain_text("郑客户")
    expect(table).to_contain_text("钱客户")
    page.locator("[data-test=custom-filter-field]").click()
    page.locator(".el-select-dropdown__item:visible", has_text="客户等级").click()
    page.locator("[data-test=custom-filter-value]").click()
    page.locator(".el-select-dropdown__item:visible", has_text="重点客户").click()
    expect(table).not_to_contain_text("钱客户")
    expect(table).to_contain_text("郑客户")
    ui.check("custom-fields-list-filter.zh-CN")
    # The filter is in the URL: a reload keeps it.
    ui.go(page.url.removeprefix(ui.base_url))
    expect(page.locator("[data-test=custom-filter]")).to_contain_text("重点客户")
    expect(table).not_to_contain_text("钱客户")
    # The fields as columns: chosen like any other, their values beside each contact.
    page.get_by_role("button", name="显示列").click()
    page.locator("[data-test=column-chooser]").get_by_label("客户来源").check()
    page.locator("[data-test=column-chooser]").get_by_label("客户等级").check()
    for built_in in ("职位", "电话", "邮箱"):  # room for them on the screen
        page.locator("[data-test=column-chooser]").get_by_label(built_in).uncheck()
    page.keyboard.press("Escape")
    expect(table.locator("th", has_text="客户等级")).to_be_visible()
    row = table.locator("tr", has_text="郑客户")
    expect(row).to_contain_text("重点客户")
    expect(row).to_contain_text("展会（上海）")
    ui.check("custom-fields-list-columns.zh-CN")


def test_non_admins_see_the_fields_page_read_only(ui: UI, tenants: TenantFactory) -> None:
    tenant = _tenant(tenants, {"冯经理": "manager"})
    manager = tenant.members["冯经理"]
    ui.enter(manager.email, "/admin/custom-fields", password=manager.password)
    expect(ui.page.locator("[data-test=field-table]")).to_be_visible()
    expect(ui.page.get_by_text("只有管理员可以修改自定义字段。")).to_be_visible()
    expect(ui.page.locator("[data-test=new-field]")).to_have_count(0)

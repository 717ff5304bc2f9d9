"""Sensitive data in the browser: an admin marks a custom field sensitive; a contact's ID
number, personal notes and that field show masked, and an admin's "Show" reveals one (recorded
in the history); an edit keeps what it did not touch; a wrong ID number is refused beside its
field; a manager sees masks and no Show, export or erase; the admin exports the JSON and erases
the contact after typing its name. In Chinese, and the detail page in English."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import expect

from tests.factories import TenantData, TenantFactory
from tests.web.conftest import UI

ID_NUMBER = "11010519491231002X"


def _tenant(tenants: TenantFactory, members: dict[str, str]) -> TenantData:
    # In a thread of its own: Playwright's event loop is running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(tenants.make, members=members).result()  # type: ignore[no-any-return]


def _sensitive_field(ui: UI) -> None:
    page = ui.page
    page.locator("[data-test=new-field]").click()
    page.fill("#field-label", "银行账号")
    page.fill("#field-key", "bank")
    expect(page.get_by_text("加密存储、脱敏显示")).to_be_visible()
    page.locator("[data-test=field-sensitive]").click()
    expect(page.locator("[data-test=field-unique]")).to_have_count(0)  # never both
    page.locator("[data-test=save-field]").click()
    expect(page.locator("[data-test=sensitive-bank]")).to_have_text("敏感")
    ui.check("pii-custom-field.zh-CN")


def test_sensitive_values_masked_revealed_exported_and_erased(
        ui: UI, tenants: TenantFactory) -> None:
    tenant = _tenant(tenants, {"周管理": "admin", "冯经理": "manager"})
    admin, manager = tenant.members["周管理"], tenant.members["冯经理"]
    page = ui.page
    ui.enter(admin.email, "/admin/custom-fields", password=admin.password)
    _sensitive_field(ui)

    ui.go("/contacts/new")
    page.fill("#name", "赵敏")
    page.fill("#idNumber", "110105194912310021")  # wrong check digit
    page.fill("#personalNotes", "对青霉素过敏")
    page.fill("#custom-bank", "6222020200112233445")
    page.locator("[data-test=save]").click()
    field = page.locator("[data-field=idNumber]")
    expect(field.locator(".el-form-item__error")).to_have_text("证件号码无效（请核对号码）")
    ui.check("pii-form-error.zh-CN")
    page.fill("#idNumber", ID_NUMBER)
    page.locator("[data-test=save]").click()

    id_number = page.locator("[data-test=pii-idNumber]")
    expect(id_number.locator("[data-test=pii-value]")).to_have_text("110***********002X")
    notes = page.locator("[data-test=pii-personalNotes]")
    expect(notes.locator("[data-test=pii-value]")).to_have_text("••••")
    bank = page.locator("[data-test='pii-customFields.bank']")
    expect(bank.locator("[data-test=pii-value]")).to_have_text("••••")
    expect(page.get_by_text("居民身份证")).to_be_visible()
    id_number.locator("[data-test=pii-show]").click()
    expect(id_number.locator("[data-test=pii-value]")).to_have_text(ID_NUMBER)
    expect(id_number).to_contain_text("本次查看已记入审计日志")
    bank.locator("[data-test=pii-show]").click()
    expect(bank.locator("[data-test=pii-value]")).to_have_text("6222020200112233445")
    ui.check("pii-detail-revealed.zh-CN")
    contact_url = page.url.removeprefix(ui.base_url)

    # An edit of another field keeps the sealed values (the form holds only their masks).
    page.locator("[data-test=edit]").click()
    expect(page.locator("#idNumber")).to_have_value("110***********002X")
    expect(page.locator("#custom-bank")).to_have_value("••••")
    page.fill("#title", "采购经理")
    page.locator("[data-test=save]").click()
    expect(page.locator("[data-test=record-name]")).to_have_text("赵敏")
    notes.locator("[data-test=pii-show]").click()
    expect(notes.locator("[data-test=pii-value]")).to_have_text("对青霉素过敏")
    bank.locator("[data-test=pii-show]").click()
    expect(bank.locator("[data-test=pii-value]")).to_have_text("6222020200112233445")

    # Export: the JSON document, with the values in clear for an admin.
    with page.expect_download() as download:
        page.locator("[data-test=pii-export]").click()
    document = json.loads(open(download.value.path(), encoding="utf-8").read())  # noqa: PTH123, SIM115
    assert document["contact"]["idNumber"] == ID_NUMBER
    assert document["customFields"]["bank"] == "6222020200112233445"

    # A manager: masks, no Show, no data requests.
    ui.enter(manager.email, contact_url, password=manager.password)
    expect(page.locator("[data-test=pii-idNumber] [data-test=pii-value]")).to_have_text(
        "110***********002X")
    expect(page.locator("[data-test=pii-show]")).to_have_count(0)
    expect(page.locator("[data-test=data-requests]")).to_have_count(0)
    ui.check("pii-detail-manager.zh-CN")

    # The admin erases, after typing the name; a wrong name is refused in the dialog.
    ui.enter(admin.email, contact_url, password=admin.password)
    page.locator("[data-test=pii-erase]").click()
    dialog = page.locator(".erase-dialog")
    expect(dialog).to_contain_text("此操作不可撤销")
    dialog.locator("input").fill("赵")
    dialog.get_by_role("button", name="永久删除").click()
    expect(dialog).to_contain_text("请按显示内容准确输入姓名")
    ui.check("pii-erase-dialog.zh-CN")
    dialog.locator("input").fill("赵敏")
    dialog.get_by_role("button", name="永久删除").click()
    expect(page.locator("[data-test=record-name]")).to_have_text("(erased)")
    expect(page.locator("[data-test=erased-banner]")).to_be_visible()
    expect(page.locator("[data-test=pii-erase]")).to_have_count(0)
    expect(page.locator("[data-test=pii-show]")).to_have_count(0)  # nothing left to show
    ui.check("pii-erased.zh-CN")


def test_the_contact_page_in_english(ui: UI, tenants: TenantFactory) -> None:
    tenant = _tenant(tenants, {"admin": "admin"})
    admin = tenant.members["admin"]
    page = ui.page
    ui.enter(admin.email, "/contacts/new", password=admin.password)
    page.evaluate("localStorage.setItem('crm.locale', 'en')")
    ui.go("/contacts/new")
    page.fill("#name", "John Smith")
    page.locator("[data-field=idType] .el-select").click()
    page.locator(".el-select-dropdown__item:visible", has_text="Passport").click()
    page.fill("#idNumber", "E12345678")
    page.fill("#personalNotes", "Allergic to peanuts")
    ui.check("pii-form.en")
    page.locator("[data-test=save]").click()
    expect(page.locator("[data-test=pii-idNumber] [data-test=pii-value]")).to_have_text(
        "E1*****78")
    expect(page.get_by_text("Passport", exact=True)).to_be_visible()
    page.locator("[data-test=pii-personalNotes] [data-test=pii-show]").click()
    expect(page.locator("[data-test=pii-personalNotes]")).to_contain_text("Allergic to peanuts")
    expect(page.locator("[data-test=data-requests]")).to_contain_text("Export (JSON)")
    ui.check("pii-detail.en")

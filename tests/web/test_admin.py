"""Administration as far as the API has it: members, API keys, the audit log."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
from playwright.sync_api import expect

from graphql_api.csrf import CSRF_HEADER
from modules.demo import DEMO_EMAIL
from tests.conftest import LOGIN, LiveServer
from tests.factories import PASSWORD, TenantFactory
from tests.web.conftest import UI


def test_members_and_their_roles(ui: UI) -> None:
    ui.enter(DEMO_EMAIL, "/admin/members")
    table = ui.page.locator("[data-test=member-table]")
    expect(table.locator("tbody tr")).to_have_count(5)
    expect(table).to_contain_text("陈经理")
    expect(table).to_contain_text("经理")
    ui.check("members.zh-CN")


def test_an_admin_adds_a_member_changes_their_role_and_disables_them(
    ui: UI, tenants: TenantFactory, live_server: LiveServer
) -> None:
    # In a thread of its own: Playwright's event loop is running in this one.
    with ThreadPoolExecutor(1) as pool:
        tenant = pool.submit(tenants.make, members={"钱管理": "admin"}).result()
    admin = tenant.members["钱管理"]
    page = ui.page
    ui.enter(admin.email, "/admin/members", password=admin.password)
    table = page.locator("[data-test=member-table]")
    expect(table.locator("tbody tr")).to_have_count(2)

    page.locator("[data-test=new-member]").click()
    page.fill("#member-email", "not an email")
    page.locator("[data-test=add-member]").click()
    expect(page.locator(".el-form-item__error")).to_be_visible()  # next to its field
    email = f"li.lei-{tenant.slug}@example.com"
    page.fill("#member-email", email)
    page.fill("#member-name", "李雷")
    page.fill("#member-password", PASSWORD)
    page.locator("[data-test=add-member]").click()
    row = table.locator("tbody tr", has_text="李雷")
    expect(row).to_contain_text("销售")
    ui.check("member-added.zh-CN")

    # Search finds them by part of the email; the role changes in place.
    page.locator("[data-test=member-search]").fill("li.lei")
    page.keyboard.press("Enter")
    expect(table.locator("tbody tr")).to_have_count(1)
    page.locator(f"[data-test='role-{email}']").click()
    page.locator(".el-select-dropdown__item:visible", has_text="经理").click()
    expect(row.locator(f"[data-test='role-{email}']")).to_contain_text("经理")

    # The owner's role is beyond an admin's reach: refused, and the select shows what is stored.
    owner_email = tenant.members["owner"].email
    expect(page.locator(".el-select-dropdown:visible")).to_have_count(0)  # the last one closed
    page.locator("[data-test=member-search]").fill("")
    page.keyboard.press("Enter")
    page.locator(f"[data-test='role-{owner_email}']").click()
    page.locator(".el-select-dropdown__item:visible", has_text="只读").click()
    expect(page.locator(".el-message--error")).to_be_visible()
    expect(page.locator(f"[data-test='role-{owner_email}']")).to_contain_text("所有者")

    # Disabled, their sign-in stops working; the admin cannot disable themselves (no button).
    expect(page.locator(f"[data-test='toggle-{admin.email}']")).to_have_count(0)
    page.locator(f"[data-test='toggle-{email}']").click()
    page.locator(".el-message-box").get_by_role("button", name="停用").click()
    expect(table.locator("tbody tr", has_text="李雷")).to_contain_text("已停用")
    signed = httpx.post(f"{live_server.url}/graphql", headers={CSRF_HEADER: "tests"},
                        json={"query": LOGIN, "variables": {"email": email,
                                                            "password": PASSWORD}})
    assert signed.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_an_api_key_is_shown_once_works_and_is_revoked(ui: UI, live_server: LiveServer) -> None:
    page = ui.page
    ui.enter(DEMO_EMAIL)
    page.locator("nav.sidebar").get_by_role("link", name="API 密钥", exact=True).click()
    page.locator("[data-test=new-api-key]").click()
    page.fill("#key-name", "ERP 同步")
    page.locator("[data-test=create-api-key]").click()
    secret_box = page.locator("[data-test=api-key-secret]")
    expect(secret_box).to_have_value(re.compile(r"^crm_"))
    secret = secret_box.input_value()
    ui.check("api-key-created.zh-CN")
    me = httpx.post(f"{live_server.url}/graphql", json={"query": "{ me { role } }"},
                    headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["data"]["me"]["role"] == "viewer"
    page.keyboard.press("Escape")
    table = page.locator("[data-test=api-key-table]")
    expect(table).to_contain_text("ERP 同步")
    expect(page.get_by_text(secret)).to_have_count(0)  # never shown again
    page.locator("[data-test='revoke-ERP 同步']").click()
    page.locator(".el-message-box").get_by_role("button", name="吊销").click()
    row = table.locator("tbody tr", has_text="ERP 同步")
    expect(row).to_contain_text("已吊销")
    ui.check("api-keys.zh-CN")
    again = httpx.post(f"{live_server.url}/graphql", json={"query": "{ me { role } }"},
                       headers={"Authorization": f"Bearer {secret}"})
    assert again.status_code == 401


def test_the_audit_log_and_its_filters(ui: UI) -> None:
    page = ui.page
    ui.enter(DEMO_EMAIL, "/admin/audit")
    table = page.locator("[data-test=audit-table]")
    expect(table.locator("tbody > tr").first).to_be_visible()
    ui.check("audit.zh-CN")
    ui.go("/admin/audit?type=company")
    rows = table.locator("tbody > tr")
    expect(rows.first).to_contain_text("公司")
    for text in rows.all_inner_texts():
        assert "公司" in text
    ui.go("/admin/audit?type=api_key&action=revoked")
    expect(table).to_contain_text(re.compile("暂无记录|吊销"))

"""查重 and 合并 in the browser: the warning under the fields that matched while a rep types
(their own record linked, a colleague's only named as someone else's), the go-ahead before
saving a duplicate, the duplicates page and the merge screen (in Chinese and English), and a
viewer offered neither."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from playwright.sync_api import expect

from graphql_api.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import TenantData, TenantFactory
from tests.web.conftest import UI

CREATE = "mutation($i: ContactInput!) { createContact(input: $i) { id } }"


def _tenant(tenants: TenantFactory, members: dict[str, str]) -> TenantData:
    # In a thread of its own: Playwright's event loop is running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(tenants.make, members=members).result()  # type: ignore[no-any-return]


def _contact(gql: GraphQLClient, tenant: TenantData, owner: str, **fields: Any) -> str:
    fields["ownerId"] = to_global_id("User", tenant.members[owner].user_id)
    return gql.data(CREATE, {"i": fields}, key=tenant.keys["owner"])[  # type: ignore[no-any-return]
        "createContact"]["id"]


def test_a_rep_is_warned_under_the_field_without_seeing_a_colleagues_customer(
        ui: UI, tenants: TenantFactory, gql: GraphQLClient) -> None:
    tenant = _tenant(tenants, {"安销售": "sales", "柏销售": "sales"})
    _contact(gql, tenant, "柏销售", name="李娜（柏的客户）", phone="13900139000")
    _contact(gql, tenant, "安销售", name="张伟", email="zhangwei@example.com")
    rep = tenant.members["安销售"]
    page = ui.page
    ui.enter(rep.email, "/contacts/new", password=rep.password)

    page.fill("#name", "新客户")
    page.fill("#phone", "139 0013 9000")
    phone_hint = page.locator("[data-field=phones] [data-test=duplicate-hint]")
    expect(phone_hint).to_contain_text("其他同事的联系人已有此电话")
    expect(phone_hint.locator("a")).to_have_count(0)  # nothing to open: not hers
    page.fill("#email", "ZhangWei@Example.com")
    email_hint = page.locator("[data-field=emails] [data-test=duplicate-hint]")
    expect(email_hint).to_contain_text("您自己的联系人已有此邮箱")
    expect(email_hint.locator("[data-test=duplicate-link]")).to_have_text("张伟")
    expect(page.locator("body")).not_to_contain_text("李娜")
    ui.check("duplicate-warning.zh-CN")

    # Saving asks first; cancelling keeps the form, going ahead saves (a warning, not a ban).
    page.locator("[data-test=contact-form] button[type=submit]").click()
    box = page.locator(".el-message-box")
    expect(box).to_contain_text("可能重复")
    box.get_by_role("button", name="取消").click()
    expect(page.locator("#name")).to_have_value("新客户")
    page.locator("[data-test=contact-form] button[type=submit]").click()
    page.locator(".el-message-box").get_by_role("button", name="仍然保存").click()
    expect(page).to_have_url(re.compile(r"/contacts/[A-Za-z0-9_=-]+$"))
    expect(page.locator("main")).to_contain_text("新客户")


def test_a_manager_merges_two_contacts_choosing_the_phone(
        ui: UI, tenants: TenantFactory, gql: GraphQLClient) -> None:
    tenant = _tenant(tenants, {"冯经理": "manager", "安销售": "sales"})
    first = _contact(gql, tenant, "安销售", name="王芳", email="wangfang@example.com",
                     title="采购经理")
    _contact(gql, tenant, "安销售", name="王芳（新）", email="WangFang@example.com",
             phone="13700137000")
    manager = tenant.members["冯经理"]
    page = ui.page
    ui.enter(manager.email, "/", password=manager.password)
    page.locator("nav.sidebar").get_by_role("link", name="查重", exact=True).click()
    group = page.locator("[data-test=duplicate-group]")
    expect(group).to_have_count(1)
    expect(group).to_contain_text("wangfang@example.com")
    ui.check("duplicate-groups.zh-CN")

    group.locator("[data-test=merge-group]").click()
    table = page.locator("[data-test=merge-table]")
    expect(table).to_contain_text("王芳（新）")
    page.locator("[data-test='keep-phones-王芳（新）']").check()
    ui.check("merge-screen.zh-CN")
    page.locator("[data-test=language-menu]").click()
    page.locator("[data-test=language-en]").click()
    expect(page.locator("[data-test=merge-screen] h1")).to_have_text("Merge records")
    ui.check("merge-screen.en")

    page.locator("[data-test=merge-confirm]").click()
    page.locator(".el-message-box").get_by_role("button", name="Merge").click()
    expect(page).to_have_url(f"{ui.base_url}/contacts/{first}")
    expect(page.locator("main")).to_contain_text("王芳")
    merged = gql.data("{ contacts(first: 10) { nodes { id phone title } } }",
                      key=tenant.keys["owner"])["contacts"]["nodes"]
    assert merged == [{"id": first, "phone": "+8613700137000", "title": "采购经理"}]


def test_a_viewer_is_offered_no_duplicates_and_no_merge(ui: UI, tenants: TenantFactory
                                                         ) -> None:
    tenant = _tenant(tenants, {"魏查看": "viewer"})
    viewer = tenant.members["魏查看"]
    ui.enter(viewer.email, "/", password=viewer.password)
    expect(ui.page.locator("nav.sidebar").get_by_role("link", name="查重")).to_have_count(0)
    ui.go("/duplicates/merge?kind=contact&ids=a,b")
    expect(ui.page.locator("[data-test=forbidden]")).to_be_visible()
    expect(ui.page.locator("[data-test=merge-confirm]")).to_have_count(0)


def test_an_owner_switches_to_refusing_duplicates_and_a_rep_is_refused_on_the_field(
        ui: UI, tenants: TenantFactory, gql: GraphQLClient) -> None:
    tenant = _tenant(tenants, {"安销售": "sales", "柏销售": "sales"})
    _contact(gql, tenant, "柏销售", name="李娜", phone="13900139000")
    owner, rep = tenant.members["owner"], tenant.members["安销售"]
    page = ui.page
    ui.enter(owner.email, "/duplicates", password=owner.password)
    switch = page.locator("[data-test=duplicate-policy-switch]")
    expect(switch).to_contain_text("禁止保存重复的手机号和邮箱")
    switch.locator(".el-switch__core").click()
    expect(switch).to_have_class(re.compile("is-checked"))
    ui.check("duplicate-policy.zh-CN")

    page.context.clear_cookies()
    ui.enter(rep.email, "/contacts/new", password=rep.password)
    expect(page.locator("[data-test=duplicate-policy]")).to_have_count(0)  # not on this page
    page.fill("#name", "再来一个")
    page.fill("#phone", "13900139000")
    expect(page.locator("[data-field=phones] [data-test=duplicate-hint]")).to_be_visible()
    page.locator("[data-test=contact-form] button[type=submit]").click()
    page.locator(".el-message-box").get_by_role("button", name="仍然保存").click()
    expect(page.locator("[data-test=phones-row-0] .el-form-item__error")).to_have_text(
        "已有其他客户使用")
    ui.go("/duplicates")
    expect(page.locator("[data-test=duplicate-policy]")).to_contain_text("保存时禁止重复")

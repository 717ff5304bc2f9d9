"""The departments and data scopes page: an admin builds a small tree, puts members in it and
sets the sales role to "own department's"; a sales user then sees a colleague's customer from
the same department and not one from another. And the refusals, shown by their meaning."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from graphql_api.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import TenantData, TenantFactory
from tests.web.conftest import UI


def _tenant(tenants: TenantFactory, members: dict[str, str]) -> TenantData:
    # In a thread of its own: Playwright's event loop is running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(tenants.make, members=members).result()  # type: ignore[no-any-return]


def _pick(ui: UI, select: str, *options: str) -> None:
    """Choose options of an Element Plus select (one, or several of a multiple one)."""
    ui.page.locator(select).click()
    for option in options:
        item = ui.page.locator(".el-select-dropdown__item:visible", has_text=option).first
        try:
            item.click(timeout=5_000)
        except PlaywrightTimeout:
            # Under load the dropdown can close as the options it holds are loaded again (the
            # members' list): open it again and choose.
            ui.page.locator(select).click()
            item.click()
    ui.page.keyboard.press("Escape")


def _scope(ui: UI, role: str, label: str) -> None:
    """Choose a role's data scope by its exact label, once no other dropdown is open."""
    expect(ui.page.locator(".el-select-dropdown:visible")).to_have_count(0)
    ui.page.locator(f"[data-test=scope-{role}]").click()
    ui.page.locator(".el-select-dropdown:visible").get_by_text(label, exact=True).click()
    expect(ui.page.locator(".el-select-dropdown:visible")).to_have_count(0)


def test_an_admin_builds_a_tree_and_scopes_sales_to_their_department(
        ui: UI, tenants: TenantFactory, gql: GraphQLClient) -> None:
    tenant = _tenant(tenants, {"甲销售": "sales", "乙销售": "sales", "丙销售": "sales"})
    owner = tenant.members["owner"]
    key = tenant.keys["owner"]
    for person, name in (("乙销售", "同组客户"), ("丙销售", "别组客户"), ("甲销售", "自己的客户")):
        owner_id = to_global_id("User", tenant.members[person].user_id)
        gql.data("mutation($n: String!, $o: ID) { createContact(input: {name: $n, ownerId: $o})"
                 " { id } }", {"n": name, "o": owner_id}, key=key)
    page = ui.page
    ui.enter(owner.email, "/", password=owner.password)
    page.get_by_role("link", name="部门与权限").click()
    expect(page.locator("h1")).to_have_text("部门与数据权限")

    # The tree: 销售部 with 华东组 and 华北组 under it.
    page.locator("[data-test=new-department]").click()
    page.fill("#new-dept-name", "销售部")
    page.locator("[data-test=create-department]").click()
    tree = page.locator("[data-test=department-tree]")
    expect(tree).to_contain_text("销售部")
    for child in ("华东组", "华北组"):
        page.locator("[data-test='dept-销售部']").click()
        page.locator("[data-test=dept-add-child]").click()
        page.fill("#new-dept-name", child)
        page.locator("[data-test=create-department]").click()
        expect(tree).to_contain_text(child)
    # A sibling's name again is refused where it is typed.
    page.locator("[data-test='dept-销售部']").click()
    page.locator("[data-test=dept-add-child]").click()
    page.fill("#new-dept-name", "华东组")
    page.locator("[data-test=create-department]").click()
    expect(page.locator(".el-dialog .el-form-item__error")).to_contain_text("已有同名部门")
    page.keyboard.press("Escape")

    # Members: 甲 and 乙 in 华东组, 丙 in 华北组; 甲 manages 华东组.
    for dept, people in (("华东组", ("甲销售", "乙销售")), ("华北组", ("丙销售",))):
        page.locator(f"[data-test='dept-{dept}']").click()
        _pick(ui, "[data-test=dept-add-members]", *people)
        page.locator("[data-test=dept-assign]").click()
        for person in people:
            expect(page.locator("[data-test=dept-members]")).to_contain_text(person)
    page.locator("[data-test='dept-华东组']").click()
    _pick(ui, "[data-test=dept-managers]", "甲销售")
    page.locator("[data-test=dept-save]").click()
    expect(page.locator(".el-message--success", has_text="华东组").first).to_be_visible()
    # Renamed in place.
    page.fill("#dept-name", "华东大区")
    page.locator("[data-test=dept-save]").click()
    expect(tree).to_contain_text("华东大区")
    ui.check("departments.zh-CN")

    # Refusals: a department with members is not deleted; nor can it move under itself (the
    # page does not even offer its own sub-departments as its parent).
    page.locator("[data-test=dept-remove]").click()
    page.locator(".el-message-box").get_by_role("button", name="删除").click()
    expect(page.locator(".el-message--error", has_text="该部门还有成员").first).to_be_visible()
    page.locator("[data-test='dept-销售部']").click()
    page.locator("[data-test=dept-parent]").click()
    expect(page.locator(".el-select-dropdown__item:visible.is-disabled")).to_have_count(3)
    page.keyboard.press("Escape")

    # The sales role's data scope: own department's.
    page.get_by_role("tab", name="数据权限").click()
    _scope(ui, "sales", "本部门")
    expect(page.locator(".el-message--success", has_text="销售").first).to_be_visible()
    # The viewer role is held by API keys: it keeps "all", and the page says why.
    _scope(ui, "viewer", "本人")
    expect(page.locator(".el-message--error", has_text="API 密钥").first).to_be_visible()
    ui.check("scopes.zh-CN")

    # 甲 sees 乙's customer (same department), not 丙's.
    sales = tenant.members["甲销售"]
    ui.enter(sales.email, "/contacts", password=sales.password)
    table = page.locator("main")
    expect(table).to_contain_text("同组客户")
    expect(table).to_contain_text("自己的客户")
    expect(table).not_to_contain_text("别组客户")
    # Sales do not administer the organisation.
    ui.go("/admin/departments")
    expect(page.locator("[data-test=department-tree]")).to_have_count(0)


def test_a_manager_transfers_a_leaving_members_customers(
        ui: UI, tenants: TenantFactory, gql: GraphQLClient) -> None:
    tenant = _tenant(tenants, {"离职销售": "sales", "接手销售": "sales"})
    key = tenant.keys["owner"]
    leaving = to_global_id("User", tenant.members["离职销售"].user_id)
    for name in ("客户一", "客户二"):
        gql.data("mutation($n: String!, $o: ID) { createContact(input: {name: $n, ownerId: $o})"
                 " { id } }", {"n": name, "o": leaving}, key=key)
    gql.data("mutation($o: ID) { createCompany(input: {name: \"某公司\", ownerId: $o}) { id } }",
             {"o": leaving}, key=key)
    owner = tenant.members["owner"]
    page = ui.page
    ui.enter(owner.email, "/admin/members", password=owner.password)
    page.locator(f"[data-test='transfer-{tenant.members['离职销售'].email}']").click()
    _pick(ui, "[data-test=transfer-to]", "接手销售")
    ui.check("transfer.zh-CN")
    page.locator("[data-test=transfer-submit]").click()
    done = page.locator(".el-message--success", has_text="已转移 2 个联系人、1 家公司")
    expect(done.first).to_be_visible()
    counts = gql.data("{ contactCountsByOwner { count owner { name } } }", key=key)
    assert {(c["owner"] or {}).get("name"): c["count"]
            for c in counts["contactCountsByOwner"]} == {"接手销售": 2}


def test_bulk_assign_three_contacts_and_see_a_failure_explained(
        ui: UI, tenants: TenantFactory, gql: GraphQLClient) -> None:
    tenant = _tenant(tenants, {"接手销售": "sales"})
    key = tenant.keys["owner"]
    ids = {name: gql.data("mutation($n: String!) { createContact(input: {name: $n}) { id } }",
                          {"n": name}, key=key)["createContact"]["id"]
           for name in ("批量一", "批量二", "批量三", "批量四")}
    gql.data("mutation { createTag(input: {name: \"重点\"}) { id } }", key=key)
    owner = tenant.members["owner"]
    page = ui.page
    ui.enter(owner.email, "/contacts", password=owner.password)
    table = page.locator("[data-test=contact-table]")

    def select(name: str) -> None:
        table.locator("tbody tr", has_text=name).locator("[data-test=select-row]").check()

    for name in ("批量一", "批量二", "批量三"):
        select(name)
    bar = page.locator("[data-test=bulk-bar]")
    expect(bar).to_contain_text("已选 3 条")
    _pick(ui, "[data-test=bulk-action]", "分配负责人")
    _pick(ui, "[data-test=bulk-owner]", "接手销售")
    ui.check("bulk.zh-CN")
    page.locator("[data-test=bulk-apply]").click()
    expect(page.locator(".el-message--success", has_text="3 条已修改").first).to_be_visible()
    expect(bar).to_have_count(0)  # the selection is cleared, the list reloaded
    sales_id = to_global_id("User", tenant.members["接手销售"].user_id)
    for name in ("批量一", "批量二", "批量三"):
        owner_of = gql.data("query($id: ID!) { contact(id: $id) { owner { id } } }",
                            {"id": ids[name]}, key=key)["contact"]["owner"]
        assert owner_of == {"id": sales_id}, name
    expect(table.locator("tbody tr", has_text="批量一")).to_contain_text("接手销售")

    # One of two selected is deleted meanwhile: tagging says which failed, and why.
    select("批量四")
    select("批量一")
    gql.data("mutation($id: ID!) { deleteContact(id: $id) { id } }", {"id": ids["批量四"]},
             key=key)
    _pick(ui, "[data-test=bulk-tag]", "重点")
    page.locator("[data-test=bulk-apply]").click()
    notice = page.locator(".el-notification")
    expect(notice).to_contain_text("1 条已修改")
    expect(notice).to_contain_text("1 条失败")
    expect(notice).to_contain_text("批量四：已删除（请先恢复）")


def test_sales_may_tag_their_selection_but_not_give_it_away(
        ui: UI, tenants: TenantFactory, gql: GraphQLClient) -> None:
    tenant = _tenant(tenants, {"本人销售": "sales"})
    sales = tenant.members["本人销售"]
    gql.data("mutation($o: ID) { createContact(input: {name: \"我的客户\", ownerId: $o}) { id } }",
             {"o": to_global_id("User", sales.user_id)}, key=tenant.keys["owner"])
    page = ui.page
    ui.enter(sales.email, "/contacts", password=sales.password)
    page.locator("[data-test=contact-table] tbody tr", has_text="我的客户").locator(
        "[data-test=select-row]").check()
    page.locator("[data-test=bulk-action]").click()
    options = page.locator(".el-select-dropdown__item:visible")
    expect(options).to_have_text(["打标签", "移除标签"])
    page.keyboard.press("Escape")

"""Interactions in the browser: a rep logs a call on a contact and sees it on top of the
timeline, sees their edit of the contact there too, records a CSAT answer and sees the
statistics; a viewer reads the timeline but cannot log; follow-ups and interaction types have
their pages."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from graphql_api.relay import to_global_id
from modules.demo import DEMO_PASSWORD
from tests.conftest import GraphQLClient, LiveServer
from tests.factories import TenantData, TenantFactory
from tests.web.conftest import PHONE, UI, World, api_as

TYPES = "{ interactionTypes(first: 20) { nodes { id key } } }"


def _tenant(tenants: TenantFactory, members: dict[str, str]) -> TenantData:
    # In a thread of its own: Playwright's event loop is running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(tenants.make, members=members).result()  # type: ignore[no-any-return]


def test_a_rep_logs_a_call_edits_the_contact_and_records_a_csat_answer(
        ui: UI, tenants: TenantFactory) -> None:
    tenant = _tenant(tenants, {"韩销售": "sales"})
    rep = tenant.members["韩销售"]
    page = ui.page
    ui.enter(rep.email, "/contacts/new", password=rep.password)
    page.fill("#name", "魏建国")
    page.locator("[data-test=save]").click()
    timeline = page.locator("[data-test=timeline]")
    entries = timeline.locator("[data-test=timeline-entry]")
    expect(entries.first).to_contain_text("创建")  # the contact's creation, from the audit log

    timeline.locator("[data-test=log-interaction]").click()
    dialog = page.locator("[data-test=interaction-dialog]")
    dialog.locator("[data-test=interaction-type]").click()
    page.locator(".el-select-dropdown__item:visible", has_text="电话").click()
    page.fill("#interaction-subject", "询问年度采购计划")
    dialog.locator("[data-test=interaction-minutes] input").fill("15")
    page.fill("#interaction-outcome", "下周发报价")
    dialog.locator("[data-test=save-interaction]").click()
    expect(dialog).to_be_hidden()
    top = entries.first
    expect(top).to_have_attribute("data-kind", "INTERACTION")
    expect(top).to_contain_text("询问年度采购计划")
    expect(top).to_contain_text("电话")
    expect(top).to_contain_text("15 分钟")
    expect(top).to_contain_text("结果：下周发报价")
    expect(top).to_contain_text("韩销售 记录")
    ui.check("interaction-timeline.zh-CN")

    # Editing one's own interaction.
    top.locator("[data-test=edit-interaction]").click()
    page.fill("#interaction-outcome", "已发报价")
    dialog.locator("[data-test=save-interaction]").click()
    expect(entries.first).to_contain_text("结果：已发报价")

    # An edit of the contact shows in its timeline, newest first.
    page.locator("[data-test=edit]").click()
    page.fill("#title", "采购经理")
    page.locator("[data-test=save]").click()
    expect(page.locator("[data-test=record-name]")).to_have_text("魏建国")
    expect(entries.first).to_have_attribute("data-kind", "CHANGE")
    expect(entries.first).to_contain_text("采购经理")

    # A CSAT answer: the statistics count it, the timeline shows it.
    card = page.locator("[data-test=satisfaction]")
    expect(card.locator("[data-test=responses]")).to_have_text("0")
    card.locator("[data-test=record-survey]").click()
    survey = page.locator("[data-test=survey-dialog]")
    survey.locator(".el-rate__item").nth(3).click()
    survey.locator("[data-test=survey-nps]").get_by_text("9", exact=True).click()
    page.fill("#survey-comment", "响应很快")
    survey.locator("[data-test=save-survey]").click()
    expect(survey).to_be_hidden()
    expect(card.locator("[data-test=responses]")).to_have_text("1")
    expect(card.locator("[data-test=csat-average]")).to_have_text("4.0")
    expect(card.locator("[data-test=nps]")).to_have_text("100")
    expect(entries.first).to_have_attribute("data-kind", "SURVEY")
    expect(entries.first).to_contain_text("CSAT 4/5")
    ui.check("interaction-satisfaction.zh-CN")

    # Deleting one's own interaction takes it off the timeline.
    call = timeline.locator("[data-test=timeline-entry][data-kind=INTERACTION]")
    call.locator("[data-test=delete-interaction]").click()
    page.locator(".el-message-box").get_by_role("button", name="删除").click()
    expect(call).to_have_count(0)


def test_a_viewer_reads_the_timeline_but_cannot_log(ui: UI, tenants: TenantFactory,
                                                     gql: GraphQLClient) -> None:
    tenant = _tenant(tenants, {"钱观察": "viewer"})
    key = tenant.keys["owner"]
    contact = gql.data('mutation { createContact(input: {name: "孙客户"}) { id } }',
                       key=key)["createContact"]["id"]
    call = next(n["id"] for n in gql.data(TYPES, key=key)["interactionTypes"]["nodes"]
                if n["key"] == "CALL")
    gql.data("mutation($t: ID!, $c: ID!) { createInteraction(input: {typeId: $t, contactId: $c,"
             ' subject: "经理电话回访"}) { id } }', {"t": call, "c": contact}, key=key)
    viewer = tenant.members["钱观察"]
    ui.enter(viewer.email, f"/contacts/{contact}", password=viewer.password)
    timeline = ui.page.locator("[data-test=timeline]")
    expect(timeline.locator("[data-test=timeline-entry]").first).to_contain_text("经理电话回访")
    expect(timeline.locator("[data-test=log-interaction]")).to_have_count(0)
    expect(timeline.locator("[data-test=edit-interaction]")).to_have_count(0)
    expect(ui.page.locator("[data-test=record-survey]")).to_have_count(0)
    expect(ui.page.locator("[data-test=satisfaction]")).to_be_visible()
    ui.page.set_viewport_size(PHONE)
    ui.check("interaction-timeline.phone.zh-CN")


def test_my_follow_ups_list_whom_to_call_and_done_takes_one_off(
        ui: UI, tenants: TenantFactory, gql: GraphQLClient) -> None:
    tenant = _tenant(tenants, {"周销售": "sales"})
    rep = tenant.members["周销售"]
    key = tenant.keys["owner"]
    owner = to_global_id("User", rep.user_id)
    company = gql.data('mutation($o: ID!) { createCompany(input: {name: "杭州西湖贸易", '
                       "ownerId: $o}) { id } }", {"o": owner}, key=key)["createCompany"]["id"]
    ui.enter(rep.email, f"/companies/{company}", password=rep.password)
    page = ui.page
    timeline = page.locator("[data-test=timeline]")
    timeline.locator("[data-test=log-interaction]").click()
    dialog = page.locator("[data-test=interaction-dialog]")
    dialog.locator("[data-test=interaction-type]").click()
    page.locator(".el-select-dropdown__item:visible", has_text="拜访").click()
    page.fill("#interaction-subject", "上门演示")
    # In two hours, typed as the browser's zone writes it (conftest: Asia/Shanghai).
    follow_up = (datetime.now(UTC) + timedelta(hours=2)).astimezone(ZoneInfo("Asia/Shanghai"))
    field = dialog.locator(".el-form-item", has_text="下次跟进").locator("input")
    field.fill(follow_up.strftime("%Y-%m-%d %H:%M"))
    field.press("Enter")
    dialog.locator("[data-test=save-interaction]").click()
    expect(dialog).to_be_hidden()
    expect(timeline.locator("[data-test=timeline-entry]").first).to_contain_text("跟进")
    ui.check("company-timeline.zh-CN")

    page.locator("nav.sidebar").get_by_role("link", name="我的跟进", exact=True).click()
    items = page.locator("[data-test=follow-up]")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("杭州西湖贸易")
    expect(items.first).to_contain_text("上门演示")
    ui.check("follow-ups.zh-CN")
    page.evaluate("localStorage.setItem('crm.locale', 'en')")
    ui.go("/follow-ups")
    expect(items.first).to_contain_text("Visit")
    ui.check("follow-ups.en")
    items.first.locator("[data-test=follow-up-done]").click()
    expect(page.locator("[data-test=follow-ups-empty]")).to_be_visible()


def test_a_manager_adds_an_interaction_type_and_built_ins_keep_their_names(
        ui: UI, tenants: TenantFactory) -> None:
    tenant = _tenant(tenants, {"冯经理": "manager"})
    manager = tenant.members["冯经理"]
    page = ui.page
    ui.enter(manager.email, "/", password=manager.password)
    page.locator("nav.sidebar").get_by_role("link", name="互动类型", exact=True).click()
    table = page.locator("[data-test=type-table]")
    for label in ("电话", "邮件", "会议", "聊天", "拜访", "备注"):
        expect(table).to_contain_text(label)
    page.locator("[data-test=new-type]").click()
    page.fill("#type-name", "上门安装")
    page.locator("[data-test=save-type]").click()
    expect(table.locator(".el-table__body tr", has_text="上门安装")).to_be_visible()
    # A built-in type's name cannot be edited (its colour can).
    page.locator("[data-test='edit-type-Call']").click()
    expect(page.locator("#type-name")).to_be_disabled()
    page.keyboard.press("Escape")
    ui.check("interaction-types.zh-CN")
    page.locator("[data-test='delete-type-上门安装']").click()
    page.locator(".el-message-box").get_by_role("button", name="删除").click()
    expect(table.locator(".el-table__body tr", has_text="上门安装")).to_have_count(0)


def test_the_demo_has_interactions_and_answers(ui: UI, world: World, gql: GraphQLClient,
                                               live_server: LiveServer) -> None:
    """The demo's sales user finds the calls and visits they logged on their customers."""
    client = api_as(live_server, gql, "sales1@demo.example.com", DEMO_PASSWORD, world.demo_slug)
    logged = gql.data("{ interactions(first: 50) { totalCount nodes { subject contact { id } "
                      "company { id } } } }", client=client)["interactions"]
    assert logged["totalCount"] >= 1
    manager = api_as(live_server, gql, "manager@demo.example.com", DEMO_PASSWORD,
                     world.demo_slug)
    stats = gql.data("{ satisfaction { responses csatAverage } }", client=manager)[
        "satisfaction"]
    assert stats["responses"] == 5 and stats["csatAverage"] == "3.80"  # (5+4+3+2+5) / 5
    first = logged["nodes"][0]
    customer = (first["contact"] or first["company"])["id"]
    route = "contacts" if first["contact"] else "companies"
    ui.enter("sales1@demo.example.com", f"/{route}/{customer}", tenant=world.demo_slug)
    entries = ui.page.locator("[data-test=timeline] [data-test=timeline-entry]")
    expect(entries.filter(has_text=first["subject"])).to_have_count(1)

"""The shell around the pages: languages, roles, tenants, sign-out, the phone layout."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
from playwright.sync_api import expect

from modules.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.conftest import GraphQLClient, LiveServer
from tests.factories import PASSWORD, Member, TenantData, TenantFactory
from tests.web.conftest import PHONE, UI, World, api_as

MY_CONTACTS = "query($me: ID!) { contacts(filter: {ownerId: $me}) { totalCount } }"


def _choose_language(ui: UI, code: str) -> None:
    ui.page.locator("[data-test=language-menu]").click()
    ui.page.locator(f"[data-test=language-{code}]").click()


def test_switch_to_english_and_back(ui: UI) -> None:
    page = ui.page
    ui.enter(DEMO_EMAIL)
    _choose_language(ui, "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Welcome, 管理员 Admin")).to_be_visible()
    expect(page.locator("[data-test=role]")).to_have_text("Owner")
    ui.check("dashboard.en")
    for path, name in [("/contacts", "contacts"), ("/companies", "companies"),
                       ("/contacts/new", "contact-new"), ("/admin/audit", "audit"),
                       ("/admin/api-keys", "api-keys"), ("/admin/members", "members")]:
        ui.go(path)
        ui.check(f"{name}.en")
    ui.go("/contacts")
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    expect(page.locator("[data-test=total]")).to_have_text(re.compile(r"^\d+ in all$"))
    page.reload()  # the choice is remembered in this browser
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    _choose_language(ui, "zh-CN")
    expect(page.get_by_role("heading", name="联系人")).to_be_visible()
    expect(page.locator("[data-test=total]")).to_have_text(re.compile(r"^共 \d+ 条$"))


def test_a_viewer_is_offered_nothing_to_change(ui: UI) -> None:
    page = ui.page
    ui.enter("viewer@demo.example.com")
    expect(page.locator("[data-test=role]")).to_have_text("只读")
    audit_link = page.locator("nav.sidebar").get_by_role("link", name="审计日志", exact=True)
    expect(audit_link).to_have_count(0)
    ui.go("/contacts")
    expect(page.locator("[data-test=contact-table] tbody tr")).to_have_count(20)
    expect(page.locator("[data-test=new-contact]")).to_have_count(0)
    expect(page.locator("[data-test=status]")).to_have_count(0)
    page.locator("[data-test=contact-table] tbody tr a").first.click()
    expect(page.locator("[data-test=record-name]")).to_be_visible()
    for action in ("edit", "delete", "restore"):
        expect(page.locator(f"[data-test={action}]")).to_have_count(0)
    expect(page.locator("[data-test=history]")).to_have_count(0)  # no audit:read
    ui.check("contact-detail-viewer.zh-CN")
    ui.go("/contacts/new")
    expect(page.locator("[data-test=forbidden]")).to_be_visible()
    ui.check("forbidden-viewer.zh-CN")


def test_a_sales_user_sees_only_their_own_customers(ui: UI, world: World,
                                                    live_server: LiveServer,
                                                    gql: GraphQLClient) -> None:
    email = "sales1@demo.example.com"
    api = api_as(live_server, gql, email, DEMO_PASSWORD)
    me = gql.data("{ me { user { id name } } }", client=api)["me"]["user"]
    own = gql.data(MY_CONTACTS, {"me": me["id"]}, client=api)["contacts"]["totalCount"]
    assert 0 < own < 200
    page = ui.page
    ui.enter(email, "/contacts?size=100")
    expect(page.locator("[data-test=role]")).to_have_text("销售")
    expect(page.locator("[data-test=total]")).to_have_text(f"共 {own} 条")
    # (The 7th cell: a selection box comes first for those who may write, for bulk actions.)
    owners = page.locator("[data-test=contact-table] tbody tr td:nth-child(7)")
    expect(owners.first).to_have_text(me["name"])
    assert set(owners.all_inner_texts()) == {me["name"]}
    expect(page.locator("[data-test=new-contact]")).to_be_visible()  # sales may create
    page.locator("[data-test=contact-table] tbody tr a").first.click()
    expect(page.locator("[data-test=edit]")).to_be_visible()
    expect(page.locator("[data-test=delete]")).to_have_count(0)  # but not delete
    ui.check("contacts-sales.zh-CN")


def test_tenant_b_never_sees_tenant_a_even_by_typing_its_url(
    ui: UI, world: World, live_server: LiveServer, gql: GraphQLClient
) -> None:
    api = api_as(live_server, gql, DEMO_EMAIL, DEMO_PASSWORD, world.demo_slug)
    a_contact = gql.data("{ contacts(first: 1) { nodes { id name } } }",
                         client=api)["contacts"]["nodes"][0]
    a_company = gql.data("{ companies(first: 1) { nodes { id name } } }",
                         client=api)["companies"]["nodes"][0]
    page = ui.page
    ui.enter(world.other.members["bob"].email, "/contacts", password=PASSWORD)
    expect(page.locator("[data-test=tenant-name]")).to_have_text(world.other_name)
    table = page.locator("[data-test=contact-table]")
    expect(table).to_contain_text(world.other_customer)
    expect(page.locator("[data-test=total]")).to_have_text("共 1 条")
    ui.go(f"/contacts?q={a_contact['name']}")
    expect(table).to_contain_text("没有符合条件的客户")
    ui.go(f"/contacts/{a_contact['id']}")
    expect(page.locator("[data-test=not-found]")).to_be_visible()
    expect(page.get_by_text(a_contact["name"])).to_have_count(0)
    ui.check("contact-of-another-tenant.zh-CN")
    ui.go(f"/companies/{a_company['id']}/edit")
    expect(page.locator("[data-test=not-found]")).to_be_visible()
    expect(page.get_by_text(a_company["name"])).to_have_count(0)


def test_a_user_of_two_tenants_chooses_one_then_switches(ui: UI, world: World) -> None:
    page = ui.page
    ui.go("/sign-in")
    page.fill("#email", DEMO_EMAIL)
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    choices = page.locator("[data-test=tenant-choices]")
    expect(choices).to_contain_text(world.demo_name)
    expect(choices).to_contain_text(world.other_name)
    ui.check("sign-in-choose-tenant.zh-CN")
    choices.get_by_text(world.other_name).click()
    page.get_by_role("button", name="继续").click()
    expect(page.locator("[data-test=tenant-name]")).to_have_text(world.other_name)
    expect(page.locator("[data-test=role]")).to_have_text("管理员")

    page.locator("[data-test=account-menu]").click()
    page.locator("[data-test=switch-tenant]").click()
    dialog = page.locator("[data-test=switch-tenant-dialog]")
    expect(dialog.get_by_role("radio", name=world.demo_name)).to_be_visible()
    expect(dialog.locator("input[type=password]")).to_have_count(0)  # the session vouches
    ui.check("switch-tenant.zh-CN")
    dialog.get_by_text(world.demo_name).click()
    dialog.get_by_role("button", name="切换").click()
    expect(page.locator("[data-test=tenant-name]")).to_have_text(world.demo_name)
    expect(page.locator("[data-test=role]")).to_have_text("所有者")
    ui.go("/contacts")
    expect(page.locator("[data-test=contact-table]")).not_to_contain_text(world.other_customer)


def test_switching_into_a_company_one_has_just_left_is_refused(
    ui: UI, tenants: TenantFactory, owner_conn: psycopg.Connection[Any]
) -> None:
    def two_tenants() -> tuple[TenantData, TenantData, Member]:
        home, away = tenants.make(), tenants.make()
        user = home.members["owner"]
        tenants.add_member(away, email=user.email, name="兼任 Shared", role="viewer")
        return home, away, user

    # In a thread of its own: Playwright's event loop is running in this one.
    with ThreadPoolExecutor(1) as pool:
        home, away, user = pool.submit(two_tenants).result()
    page = ui.page
    ui.enter(user.email, password=PASSWORD, tenant=home.slug)
    _choose_language(ui, "en")
    page.locator("[data-test=account-menu]").click()
    page.locator("[data-test=switch-tenant]").click()
    dialog = page.locator("[data-test=switch-tenant-dialog]")
    expect(dialog.get_by_role("radio")).to_have_count(2)
    owner_conn.execute("update memberships set status = 'disabled' "
                       "where tenant_id = %s and user_id = %s", (away.id, user.user_id))
    owner_conn.commit()
    dialog.get_by_role("button", name="Switch").click()
    expect(dialog).to_contain_text("You are not, or no longer, a member of that company.")
    expect(dialog.get_by_role("radio")).to_have_count(1)  # the list as it is now
    ui.check("switch-tenant-refused.en")
    page.keyboard.press("Escape")
    page.reload()
    expect(page.locator("[data-test=account-menu]")).to_be_visible()  # still signed in, at home


def test_sign_out_ends_the_session(ui: UI) -> None:
    page = ui.page
    ui.enter("manager@demo.example.com")
    page.locator("[data-test=account-menu]").click()
    page.locator("[data-test=sign-out]").click()
    expect(page).to_have_url(re.compile(r"/sign-in"))
    expect(page.get_by_text("您已退出登录。")).to_be_visible()
    ui.go("/contacts")
    expect(page).to_have_url(re.compile(r"/sign-in\?redirect=(%2F|/)contacts$"))


def test_wrong_password_is_said_in_the_users_language(ui: UI) -> None:
    page = ui.page
    ui.go("/sign-in")
    page.get_by_role("radio", name="English").click(force=True)
    page.fill("#email", DEMO_EMAIL)
    page.fill("#password", "not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    ui.check("sign-in-wrong-password.en")


def test_the_phone_layout(ui: UI) -> None:
    page = ui.page
    page.set_viewport_size(PHONE)
    ui.enter(DEMO_EMAIL)
    expect(page.locator("nav.sidebar")).to_be_hidden()
    ui.check("dashboard.phone.zh-CN")
    ui.go("/contacts")
    ui.check("contacts.phone.zh-CN")
    page.get_by_role("button", name="打开菜单").click()
    drawer = page.locator(".nav-drawer")
    expect(drawer).to_be_visible()
    drawer.get_by_role("link", name="公司", exact=True).click()
    expect(page.get_by_role("heading", name="公司")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"


def test_a_session_that_ends_under_the_page_goes_back_to_sign_in(ui: UI) -> None:
    """UNAUTHENTICATED from any query (the session expired, or was ended elsewhere) leads to
    the sign-in page, which then returns to where the user was."""
    page = ui.page
    ui.enter("manager@demo.example.com", "/contacts")
    page.context.clear_cookies()
    page.locator("nav.sidebar").get_by_role("link", name="公司", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sign-in\?redirect=(%2F|/)companies$"))
    page.fill("#email", "manager@demo.example.com")
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="公司")).to_be_visible()

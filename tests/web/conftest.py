"""Browser tests: the built web app, the real server, Debian's Chromium driven by Playwright.

One browser and one server for the whole package; each test gets a fresh browser context (its
own cookies and storage), so tests never share a session. Screenshots of every checked page go to
test-artefacts/web/ (not committed).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from graphql_api.csrf import CSRF_HEADER
from infra import web_build
from modules.demo import DEMO_EMAIL, DEMO_PASSWORD, DEMO_SLUG, seed_demo
from tests.conftest import LOGIN, ROOT, GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, TenantData, TenantFactory
from tests.web.checks import check_page

ARTEFACTS = ROOT / "test-artefacts" / "web"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DESKTOP: ViewportSize = {"width": 1366, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
# Sign-in hashes a password (deliberately slow); a busy CI machine needs more than the default 5 s.
expect.set_options(timeout=15_000)


@dataclass
class World:
    """Tenant A is the demo (its five users, 200 contacts); tenant B has its own customer, and the
    demo's admin belongs to both."""

    demo_slug: str
    demo_name: str
    other: TenantData
    other_name: str
    other_customer: str


@pytest.fixture(scope="package")
def world(tenants: TenantFactory, live_server: LiveServer, gql: GraphQLClient) -> World:
    demo = tenants.run(seed_demo(tenants.db))
    other = tenants.make(members={"bob": "manager"})
    tenants.add_member(other, email=DEMO_EMAIL, name="管理员 Admin", role="admin")
    customer = "乙公司客户 赵六"
    gql.data('mutation($n: String!) { createContact(input: {name: $n, phone: "13700001111"}) '
             "{ id } }", {"n": customer}, key=other.keys["owner"])
    name = gql.data("{ me { tenant { name } } }", key=other.keys["owner"])["me"]["tenant"]["name"]
    demo_name = "演示公司 Demo Trading"
    return World(demo.slug, demo_name, other, name, customer)


@pytest.fixture(scope="package")
def browser(world: World) -> Iterator[Browser]:
    web_build.build(quiet=True)  # a no-op when `make test` has just built it
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail("Debian's chromium is not installed: `make test` installs it "
                    "(apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class UI:
    """A signed-out browser tab on the app, with the few moves every flow needs."""

    def __init__(self, page: Page, base_url: str, folder: Path) -> None:
        self.page = page
        self.base_url = base_url
        self.folder = folder
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def go(self, path: str) -> None:
        self.page.goto(self.base_url + path)
        self.page.wait_for_load_state("networkidle")

    def sign_in(self, email: str, password: str = DEMO_PASSWORD, *,
                tenant_name: str | None = None) -> None:
        self.go("/sign-in")
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.page.get_by_role("button", name=("登录", "Sign in")[self.english]).click()
        chooser = self.page.locator("[data-test=tenant-choices]")
        shell = self.page.locator("[data-test=account-menu]")
        expect(chooser.or_(shell)).to_be_visible()
        if chooser.is_visible():
            chooser.get_by_text(tenant_name or "演示公司 Demo Trading", exact=True).click()
            self.page.get_by_role("button", name=("继续", "Continue")[self.english]).click()
        expect(shell).to_be_visible()
        self.page.wait_for_load_state("networkidle")

    def enter(self, email: str, path: str = "/", *, password: str = DEMO_PASSWORD,
              tenant: str | None = None) -> None:
        """Signed in without the sign-in page (its own tests walk it), straight to `path`."""
        if tenant is None and email == DEMO_EMAIL:
            tenant = DEMO_SLUG  # the demo's admin belongs to two tenants
        response = self.page.context.request.post(
            f"{self.base_url}/graphql", headers={CSRF_HEADER: "tests"},
            data={"query": LOGIN, "variables": {"email": email, "password": password,
                                                "tenant": tenant}})
        body = response.json()
        assert response.ok and not body.get("errors"), body
        self.go(path)
        expect(self.page.locator("[data-test=account-menu]")).to_be_visible()

    @property
    def english(self) -> bool:
        return self.page.evaluate("document.documentElement.lang") == "en"

    def check(self, name: str) -> Path:
        return check_page(self.page, self.folder, name)


@pytest.fixture
def ui(browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[UI]:
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP,
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    tab = UI(page, live_server.url, ARTEFACTS)
    try:
        yield tab
    finally:
        context.close()
    assert not tab.errors, f"uncaught errors in the page: {tab.errors}"


def api_as(live_server: LiveServer, gql: GraphQLClient, email: str, password: str,
           tenant: str | None = None) -> Any:
    """An HTTP client signed in as that user (to compare what the page shows with the API)."""
    return login(live_server, gql, email, password, tenant)


__all__ = ["PASSWORD", "PHONE", "UI", "World", "api_as"]

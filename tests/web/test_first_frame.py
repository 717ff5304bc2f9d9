"""The contact list's first frame comes drawn by the server (infra/ssr.py): with scripts off the
page already shows the list, and with them on the app mounts over that frame drawing the same
thing, so what the user saw first does not change under them."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, expect

from graphql_api.csrf import CSRF_HEADER
from modules.demo import DEMO_EMAIL, DEMO_PASSWORD, DEMO_SLUG
from tests.conftest import LOGIN, LiveServer
from tests.web.checks import missing_glyphs
from tests.web.conftest import ARTEFACTS, DESKTOP

ZONE = "Asia/Shanghai"
# What a user reads on the list: the shell's tenant and user, the column headers, every cell.
READ = """() => {
  const text = (el) => (el ? el.textContent.replace(/\\s+/g, ' ').trim() : null)
  const table = document.querySelector('[data-test=contact-table]')
  return {
    tenant: text(document.querySelector('[data-test=tenant-name]')),
    title: text(document.querySelector('h1')),
    headers: [...table.querySelectorAll('thead th')].map(text),
    rows: [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map(text)),
    total: text(document.querySelector('[data-test=total]')),
    tables: document.querySelectorAll('[data-test=contact-table]').length,
  }
}"""


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like "
                       "Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"}


def _context(browser: Browser, live_server: LiveServer, *, scripts: bool,
             zone_cookie: bool = True, phone: bool = False) -> BrowserContext:
    shape: dict[str, Any] = PHONE if phone else {"viewport": DESKTOP}
    context = browser.new_context(locale="zh-CN", timezone_id=ZONE,
                                  java_script_enabled=scripts, **shape)
    context.set_default_timeout(15_000)
    response = context.request.post(f"{live_server.url}/graphql", headers={CSRF_HEADER: "tests"},
                                    data={"query": LOGIN, "variables": {
                                        "email": DEMO_EMAIL, "password": DEMO_PASSWORD,
                                        "tenant": DEMO_SLUG}})
    assert response.ok and not response.json().get("errors")
    if zone_cookie:  # as the app leaves it after a first visit (web/src/cookies.ts)
        context.add_cookies([{"name": "crm.tz", "value": "Asia%2FShanghai",
                              "url": live_server.url}])
    return context


def _read(page: Page) -> dict[str, Any]:
    return page.evaluate(READ)  # type: ignore[no-any-return]


def test_the_app_mounts_over_the_frame_it_was_drawn_as(browser: Browser,
                                                       live_server: LiveServer) -> None:
    drawn_context = _context(browser, live_server, scripts=False)
    drawn = drawn_context.new_page()
    drawn.goto(live_server.url + "/contacts")
    expect(drawn.locator("[data-test=contact-table] tbody tr").first).to_be_visible()
    drawn.evaluate("document.fonts.ready.then(() => true)")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    drawn.screenshot(path=str(ARTEFACTS / "contacts-drawn-by-the-server.png"))
    assert not missing_glyphs(drawn)
    # No message key left untranslated (the app's check needs the app running: by pattern here).
    shown = drawn.evaluate("() => document.body.innerText")
    assert not re.search(r"\b(?:contacts|customers|fields|nav|table)\.[a-z]\w*", shown), shown
    frame = _read(drawn)
    drawn_context.close()

    app_context = _context(browser, live_server, scripts=True)
    page = app_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    scripts: list[str] = []
    page.on("request", lambda request: scripts.append(request.url)
            if request.resource_type == "script" else None)
    page.goto(live_server.url + "/contacts")
    # Mounted, and Element Plus's widgets in place of their stand-ins.
    expect(page.locator("[data-test=tag-filter]")).to_be_visible()
    assert page.evaluate("!!document.getElementById('app').__vue_app__")
    # The app's chunks were asked for, every one the page names (its preloads, held back by the
    # server until then); the app's and the page's own once the frame was on screen.
    held_back = page.evaluate("""() => [...document.querySelectorAll('link[data-rel]')]
        .map((link) => [link.rel, link.href])""")
    assert held_back and all(rel in ("modulepreload", "preload") for rel, _ in held_back)
    chunks = [href for rel, href in held_back if rel == "modulepreload"]
    assert set(chunks) <= set(scripts)
    asked = page.evaluate("""(chunks) => {
        const painted = performance.getEntriesByName('first-contentful-paint')[0].startTime
        return performance.getEntriesByType('resource')
          .filter((r) => chunks.includes(r.name)).map((r) => [r.name, r.startTime - painted])
      }""", chunks)
    assert len(asked) == len(chunks)
    late = [after for name, after in asked if re.search(r"/assets/(app|ContactList)-", name)]
    assert len(late) == 2 and min(late) >= 0, asked
    assert all(scripts.count(chunk) == 1 for chunk in chunks), scripts
    app = _read(page)
    app_context.close()
    assert not errors, errors

    assert frame["tables"] == app["tables"] == 1
    assert frame["rows"] and len(frame["rows"]) == len(app["rows"])
    assert frame == app


def test_the_app_tells_the_server_its_time_zone(browser: Browser, live_server: LiveServer) -> None:
    """A first visit has no zone for the server (its frame then uses the server's): the app
    leaves it in a cookie once the page is idle, and the next frame's dates are the browser's."""
    context = _context(browser, live_server, scripts=True, zone_cookie=False)
    page = context.new_page()
    page.goto(live_server.url + "/contacts")
    expect(page.locator("[data-test=tag-filter]")).to_be_visible()

    def zone() -> str | None:
        return next((c["value"] for c in context.cookies() if c["name"] == "crm.tz"), None)

    for _ in range(50):  # the app waits for an idle moment after its first paint
        if zone():
            break
        page.wait_for_timeout(100)
    assert zone() == "Asia%2FShanghai"
    context.close()


def test_a_phones_first_visit_is_drawn_as_a_phones(browser: Browser,
                                                   live_server: LiveServer) -> None:
    """No width cookie yet (a first visit): the frame is drawn for a phone because its browser
    says it is one, with the list's filters folded behind their button as the app folds them."""
    folded = """() => [...document.querySelectorAll('[role=search] > button')]
        .map((b) => [b.textContent.trim(), b.getAttribute('aria-expanded')])"""
    drawn_context = _context(browser, live_server, scripts=False, phone=True)
    drawn = drawn_context.new_page()
    drawn.goto(live_server.url + "/contacts")
    expect(drawn.locator("[data-test=contact-table] tbody tr").first).to_be_attached()
    frame = _read(drawn) | {"folded": drawn.evaluate(folded)}
    drawn_context.close()

    app_context = _context(browser, live_server, scripts=True, phone=True)
    page = app_context.new_page()
    page.goto(live_server.url + "/contacts")
    page.evaluate("""() => new Promise((mounted) => {
        const check = () => (document.getElementById('app').__vue_app__
          ? mounted() : setTimeout(check, 20))
        check()
      })""")
    page.wait_for_load_state("networkidle")  # its widgets in (the filters stay folded)
    app = _read(page) | {"folded": page.evaluate(folded)}
    app_context.close()
    assert frame["folded"] == [["筛选", "false"]]
    assert frame == app


def test_a_frame_the_server_could_not_draw_in_time_costs_only_the_frame(
        browser: Browser, live_server: LiveServer) -> None:
    """The head is sent before the frame is drawn, with the app's preloads held back: when the
    render then takes too long, the page comes undrawn, and the app turns its preloads on and
    draws the list itself, without an error."""
    frames = live_server.app.state.web.first_frames  # type: ignore[attr-defined]
    saved = frames.timeout, frames.first_timeout
    frames.timeout = frames.first_timeout = 0.000_001
    try:
        context = _context(browser, live_server, scripts=True)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        response = page.goto(live_server.url + "/contacts")
        assert response is not None and "data-drawn" not in response.text()
        expect(page.locator("[data-test=contact-table] tbody tr").first).to_be_visible()
        expect(page.locator("[data-test=tag-filter]")).to_be_visible()
        rels = page.evaluate("() => [...document.querySelectorAll('link[data-rel]')]"
                             ".map((link) => link.rel)")
        assert rels and set(rels) <= {"modulepreload", "preload"}, rels
        context.close()
        assert not errors, errors
    finally:
        frames.timeout, frames.first_timeout = saved

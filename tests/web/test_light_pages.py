"""The customer lists draw their first frame without Element Plus (web/src/deferred.ts): its
620 kB of code and its rendering were most of the list's first paint (README, "The web app's
first paint"). These tests keep it so: a light page that imports Element Plus, or a shell that
needs it, would still work, and only a benchmark would notice."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from infra import web_build
from modules.demo import DEMO_EMAIL
from tests.web.conftest import UI

ASSETS = web_build.DIST / "assets"
IMPORT = re.compile(r'(?:from|import)\s*"\./([^"]+\.js)"')
# Where the rows appear (first: in the frame the server drew, infra/ssr.py), and when each
# contact table appears: the server's, then the app's, which mounts over it.
WATCH = """
window.__light = { tables: [] };
const seen = new WeakSet();
new MutationObserver(() => {
  if (!window.__light.rows && document.querySelector('[data-test=contact-table] tbody tr'))
    window.__light.rows = performance.now();
  for (const table of document.querySelectorAll('[data-test=contact-table]')) {
    if (!seen.has(table) && table.querySelector('tbody tr')) {
      seen.add(table);
      window.__light.tables.push(performance.now());
    }
  }
}).observe(document, { childList: true, subtree: true });
"""


def _static_graph(chunk: str) -> set[str]:
    """The chunks `chunk` imports statically, itself included (what must load before it runs)."""
    seen: set[str] = set()
    todo = [chunk]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(IMPORT.findall((ASSETS / name).read_text(encoding="utf-8")))
    return seen


def _chunk(prefix: str) -> str:
    found = [p.name for p in ASSETS.glob(f"{prefix}-*.js")]
    assert len(found) == 1, f"one chunk {prefix}-*.js expected, found {found}"
    return found[0]


def test_no_element_plus_before_a_light_page_runs(ui: UI) -> None:
    """Built app: neither the entry, the app, nor a light page imports Element Plus's chunk
    (statically), and index.html does not preload it."""
    element_plus = _chunk("element-plus")
    for page in ("index", "app", "ContactList", "CompanyList"):
        graph = _static_graph(_chunk(page))
        assert element_plus not in graph, f"{page} loads Element Plus before it runs: {graph}"
    html = Path(web_build.DIST / "index.html").read_text(encoding="utf-8")
    assert element_plus not in html
    assert _chunk("ContactList") in html  # preloaded: a first load fetches nothing later


def test_the_rows_come_before_element_plus_and_its_widgets_after(ui: UI) -> None:
    page = ui.page
    page.context.add_init_script(WATCH)
    ui.enter(DEMO_EMAIL, "/contacts")
    expect(page.locator("[data-test=tag-filter]")).to_be_visible()
    rows = page.evaluate("window.__light.rows")
    asked = page.evaluate("""performance.getEntriesByType('resource')
        .filter((r) => /element-plus-[^/]*\\.js$/.test(r.name)).map((r) => r.startTime)""")
    assert rows is not None and asked, (rows, asked)
    assert rows < min(asked), f"rows at {rows:.0f} ms, Element Plus asked for at {min(asked):.0f}"
    # The filters, made of Element Plus widgets, replaced their stand-ins.
    expect(page.locator(".stand-in")).to_have_count(0)
    expect(page.locator("[data-test=language-menu]")).to_be_visible()


def test_dates_read_as_the_browser_writes_them(ui: UI) -> None:
    """format.ts writes dates out by hand for zh-CN and en (Intl.DateTimeFormat's first use is
    slow): the same text as Intl would give, in both languages."""
    page = ui.page
    ui.enter(DEMO_EMAIL, "/contacts")
    # (After the selection box bulk actions put first for those who may write.)
    cell = page.locator("[data-test=contact-table] tbody tr").first.locator("td").nth(7)
    expect(cell).to_have_text(re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}$"))
    created = page.evaluate("""async () => {
        const r = await fetch('/graphql', { method: 'POST', headers: { 'content-type':
          'application/json', 'x-requested-by': 'tests' }, body: JSON.stringify({ query:
          '{ contacts(first: 1, sort: CREATED_AT_DESC) { nodes { createdAt } } }' }) })
        return (await r.json()).data.contacts.nodes[0].createdAt }""")
    options = ("{year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', "
               "minute: '2-digit'}")
    for locale in ("zh-CN", "en"):
        if locale == "en":
            page.locator("[data-test=language-menu]").click()
            page.locator("[data-test=language-en]").click()
        wanted = page.evaluate(f"(iso) => new Intl.DateTimeFormat('{locale}', {options})"
                               ".format(new Date(iso))", created)
        expect(cell).to_have_text(wanted)


def test_a_light_page_asks_nothing_before_its_rows(ui: UI) -> None:
    """The server answered the session check and the list query in the page's HTML
    (infra/first_load.py) and drew its first frame with them (infra/ssr.py): the app draws its
    rows over that frame without one request to /graphql, and with the same rows the API gives;
    a view of the list with its own parameters asks as before."""
    page = ui.page
    page.context.add_init_script(WATCH + """
window.__asked = [];
const fetched = window.fetch;
window.fetch = (...args) => { window.__asked.push(performance.now()); return fetched(...args); };
""")
    ui.enter(DEMO_EMAIL, "/contacts")
    rows = page.locator("[data-test=contact-table] tbody tr")
    expect(rows.first).to_be_visible()
    first_rows = page.evaluate("window.__light.rows")
    tables = page.evaluate("window.__light.tables")
    asked = page.evaluate("window.__asked")
    assert first_rows is not None
    # The server's frame, then the app's own rows over it: neither after a request.
    assert len(tables) == 2, tables
    assert not [t for t in asked if t < tables[-1]], f"asked before the rows: {asked}, {tables}"
    assert page.locator("#first-answers").count() == 0  # taken, and gone from the page
    names = rows.locator("td a.plain-link").first.inner_text()
    api = page.evaluate("""async () => (await (await fetch('/graphql', { method: 'POST',
        headers: { 'content-type': 'application/json', 'x-requested-by': 'tests' },
        body: JSON.stringify({ query: '{ contacts(first: 1, sort: CREATED_AT_DESC) ' +
        '{ nodes { name } } }' }) })).json()).data.contacts.nodes[0].name""")
    assert names == api
    # Its own view (a search): the page asks, and shows what it asked for.
    with page.expect_response(lambda r: r.url.endswith("/graphql")):
        ui.go("/contacts?q=" + api)
    expect(rows.first.locator("td a.plain-link").first).to_have_text(api)

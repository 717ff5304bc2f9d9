"""A page of another origin cannot make a signed-in user's browser write: neither a form post
nor a fetch, from the same site (another port: SameSite does not help there) or another site."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from modules.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.conftest import GraphQLClient, LiveServer
from tests.web.conftest import UI, World, api_as

PROBE = "CSRF 探针"
MUTATION = f'mutation {{ createContact(input: {{name: "{PROBE}"}}) {{ id }} }}'

ATTACK = """<!doctype html><meta charset="utf-8"><title>attacker</title>
<form id="form" method="POST" action="{target}/graphql" enctype="text/plain">
  <input name='{{"query": "{mutation_js}", "x": "' value='"}}'>
</form>
<script>
window.results = {{}};
async function attempt(name, init) {{
  try {{
    const r = await fetch('{target}/graphql',
                          {{ method: 'POST', credentials: 'include', ...init }});
    window.results[name] = 'status ' + r.status + (r.type === 'opaque' ? ' (opaque)' : '');
  }} catch (e) {{ window.results[name] = 'blocked: ' + e.message; }}
}}
(async () => {{
  const body = JSON.stringify({{ query: {mutation_json} }});
  await attempt('json', {{ headers: {{ 'Content-Type': 'application/json' }}, body }});
  await attempt('json-with-header',
    {{ headers: {{ 'Content-Type': 'application/json', 'X-Requested-By': 'x' }}, body }});
  await attempt('text-plain', {{ headers: {{ 'Content-Type': 'text/plain' }}, body }});
  await attempt('no-cors',
    {{ mode: 'no-cors', headers: {{ 'Content-Type': 'text/plain' }}, body }});
  window.done = true;
}})();
</script>"""


@pytest.fixture(scope="module")
def attacker(live_server: LiveServer) -> Iterator[int]:
    page = ATTACK.format(target=live_server.url, mutation_js=MUTATION.replace('"', '\\"'),
                         mutation_json=json.dumps(MUTATION)).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def _probes(live_server: LiveServer, gql: GraphQLClient, world: World) -> int:
    api = api_as(live_server, gql, DEMO_EMAIL, DEMO_PASSWORD, world.demo_slug)
    query = "query($q: String) { contacts(filter: {search: $q}) { totalCount } }"
    return gql.data(query, {"q": PROBE}, client=api)["contacts"]["totalCount"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"], ids=["same-site", "cross-site"])
def test_another_origin_cannot_write_with_the_users_session(
    ui: UI, world: World, attacker: int, host: str, live_server: LiveServer, gql: GraphQLClient
) -> None:
    ui.enter(DEMO_EMAIL)  # the victim is signed in, on 127.0.0.1:<app port>
    page = ui.page
    page.goto(f"http://{host}:{attacker}/")
    page.wait_for_function("window.done === true")
    results = page.evaluate("window.results")
    # Every JSON request needs a preflight that is never granted; a simple one is not JSON.
    assert results["json"].startswith("blocked"), results
    assert results["json-with-header"].startswith("blocked"), results
    assert not results["text-plain"].startswith("status 200"), results
    assert results["no-cors"].endswith("(opaque)"), results
    with page.expect_navigation():
        page.evaluate("document.getElementById('form').submit()")
    assert "createContact" not in page.content()
    expect(page.locator("body")).to_contain_text("BAD_REQUEST")
    assert _probes(live_server, gql, world) == 0

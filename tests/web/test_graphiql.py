"""GraphiQL runs from our own copies of its scripts, and its requests pass the CSRF guard."""

from __future__ import annotations

from urllib.parse import quote

from playwright.sync_api import Request, expect

from modules.demo import DEMO_EMAIL
from tests.web.conftest import UI


def test_graphiql_loads_locally_and_runs_a_query_with_the_session(ui: UI) -> None:
    elsewhere: list[str] = []

    def watch(request: Request) -> None:
        if not request.url.startswith(ui.base_url):
            elsewhere.append(request.url)

    ui.page.on("request", watch)
    ui.enter(DEMO_EMAIL)
    ui.go("/graphql?q=" + quote("{ me { role tenant { slug } } }"))
    page = ui.page
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".result-window")
    expect(result).to_contain_text('"role": "owner"')
    expect(result).to_contain_text('"slug": "demo"')
    assert not elsewhere, f"GraphiQL fetched from elsewhere: {elsewhere}"

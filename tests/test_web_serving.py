"""The web app and GraphiQL are served from our own origin: SPA fallback, caching, no CDN."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

from graphql_api.graphiql import ASSETS_URL, cdn_assets
from infra import web_build
from tests.conftest import LiveServer


@pytest.fixture(scope="module")
def built() -> None:
    web_build.build(quiet=True)


@pytest.mark.usefixtures("built")
@pytest.mark.parametrize("path", ["/", "/contacts", "/contacts/Q29udGFjdDox/edit", "/admin/audit"])
def test_client_routes_get_the_app(live_server: LiveServer, path: str) -> None:
    response = httpx.get(live_server.url + path)
    assert response.status_code == 200
    assert '<div id="app">' in response.text
    assert response.headers["cache-control"] == "no-cache"
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp


@pytest.mark.usefixtures("built")
def test_every_asset_of_the_page_is_ours_cached_and_compressed(live_server: LiveServer) -> None:
    page = httpx.get(live_server.url + "/").text
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    script = next(u for u in urls if u.endswith(".js"))
    response = httpx.get(live_server.url + script, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "immutable" in response.headers["cache-control"]
    assert response.headers["content-type"].startswith("text/javascript")
    again = httpx.get(live_server.url + script, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.usefixtures("built")
def test_missing_files_are_404_not_the_app(live_server: LiveServer) -> None:
    assert httpx.get(live_server.url + "/assets/nope.js").status_code == 404
    assert httpx.get(live_server.url + "/robots.txt").status_code == 404
    assert httpx.get(live_server.url + "/assets/../../pyproject.toml").status_code == 404


@pytest.mark.usefixtures("built")
def test_graphiql_loads_nothing_from_a_cdn(live_server: LiveServer) -> None:
    page = httpx.get(live_server.url + "/graphql", headers={"Accept": "text/html"}).text
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page), "a script or style from elsewhere"
    assets = cdn_assets()
    assert assets
    for asset in assets:
        url = ASSETS_URL + asset.local_path
        assert url in page
        # The page keeps strawberry's Subresource Integrity hash: our copy must be the same file.
        tag = re.search(rf'(?:src|href)="{re.escape(url)}"\s+integrity="sha384-([^"]+)"', page)
        response = httpx.get(live_server.url + url)
        assert response.status_code == 200, url
        if tag:
            digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
            assert digest == tag.group(1), url

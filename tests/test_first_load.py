"""A light page's first answers in its HTML (infra/first_load.py): the same answers `/graphql`
gives the same user, never anyone else's, never cached, and never a way into the page's script."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from infra import web_build
from infra.first_load import FIRST_LOADS, FontIndex, font_subsets, script_json
from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, TenantFactory

BLOCK = re.compile(r'<script type="application/json" id="first-answers">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def built() -> None:
    web_build.build(quiet=True)


def _answers(page: str) -> list[dict]:
    found = BLOCK.search(page)
    assert found, "no first answers in the page"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def _documents() -> dict[str, str]:
    return json.loads((web_build.DIST / "documents.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.usefixtures("built")
def test_the_page_holds_what_the_api_answers_the_same_user(
        tenants: TenantFactory, live_server: LiveServer, gql: GraphQLClient) -> None:
    team = tenants.make()
    member = tenants.add_member(team, email=f"first-{team.slug}@example.com", name="李雷",
                                role="manager")
    hostile = "</script><script>alert(1)</script><!-- \u2028 甲"
    gql.data('mutation($n: String!) { createContact(input: {name: $n}) { id } }', {"n": hostile},
             key=team.keys["owner"])
    client = login(live_server, gql, member.email, PASSWORD)

    response = client.get("/contacts")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "Cookie" in [part.strip() for part in response.headers["vary"].split(",")]
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert '<meta name="first-answers"' in response.text
    assert "<script>alert" not in response.text  # the name cannot end the data block
    answers = _answers(response.text)
    documents = _documents()
    assert [a["query"] for a in answers] == [documents["Me"], documents["ContactList"]]
    for answer in answers:
        asked = client.post("/graphql", headers={"X-Requested-By": "tests"}, json={
            "query": answer["query"], "variables": answer["variables"]}).json()
        assert asked == {"data": answer["data"]}
    nodes = answers[1]["data"]["contacts"]["nodes"]
    # This tenant's one contact, its name intact (the API drops the line separator on input).
    assert [n["name"] for n in nodes] == ["</script><script>alert(1)</script><!-- 甲"]
    # The font files the answers' text needs are asked for with them.
    assert re.search(r'<link rel="preload" as="font" type="font/woff2" crossorigin '
                     r'href="/assets/noto-sans-sc-[^"]+\.woff2">', response.text)


@pytest.mark.usefixtures("built")
def test_other_tenants_see_only_their_own(tenants: TenantFactory, live_server: LiveServer,
                                          gql: GraphQLClient) -> None:
    a, b = tenants.make(), tenants.make()
    gql.data('mutation { createContact(input: {name: "甲方客户 only-in-a"}) { id } }',
             key=a.keys["owner"])
    reader = tenants.add_member(b, email=f"reader-{b.slug}@example.com", name="B", role="viewer")
    page = login(live_server, gql, reader.email, PASSWORD).get("/contacts").text
    assert "only-in-a" not in page
    assert _answers(page)[1]["data"]["contacts"]["nodes"] == []


@pytest.mark.usefixtures("built")
@pytest.mark.parametrize("path", ["/contacts?q=x", "/", "/contacts/abc", "/admin/audit"])
def test_other_pages_and_views_are_the_plain_app(tenants: TenantFactory, live_server: LiveServer,
                                                gql: GraphQLClient, path: str) -> None:
    team = tenants.make()
    member = tenants.add_member(team, email=f"plain-{team.slug}@example.com", name="P",
                                role="manager")
    response = login(live_server, gql, member.email, PASSWORD).get(path)
    assert response.status_code == 200
    assert "first-answers" not in response.text
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.usefixtures("built")
@pytest.mark.parametrize("cookie", [None, b"forged", b"a" * 5000, b"\xe9x%00", b"\xff\xfe"])
def test_no_session_no_answers(live_server: LiveServer, cookie: bytes | None) -> None:
    headers = {} if cookie is None else {b"cookie": b"crm_session=" + cookie}
    response = httpx.get(live_server.url + "/companies", headers=headers)
    assert response.status_code == 200
    assert 'id="app"' in response.text
    assert "first-answers\">" not in response.text  # no data block
    assert len(_documents()) > 10  # the manifest itself is built


def test_every_light_route_is_an_operation_of_the_app(built: None) -> None:
    documents = _documents()
    for path, load in FIRST_LOADS.items():
        assert load.operation in documents, path
        assert documents[load.operation].lstrip().startswith("query"), path


def test_script_json_cannot_close_the_block() -> None:
    text = script_json({"a": "</script><!-- & \u2028\u2029 <b>"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028\u2029 <b>"}


def test_font_subsets_by_unicode_range() -> None:
    css = ("@font-face{font-family:'Noto Sans SC';font-weight:400;src:url(/assets/a.woff2) "
           "format('woff2');unicode-range:U+4E00-4E0F,U+4E2D}"
           "@font-face{font-family:'Noto Sans SC';font-weight:500;src:url(/assets/b.woff2);"
           "unicode-range:U+4E00-9FFF}"
           "@font-face{font-family:'Noto Sans SC';font-weight:400;src:url(/assets/c.woff2);"
           "unicode-range:U+0000-00FF}")
    subsets = font_subsets(css)
    assert [s.url for s in subsets] == ["/assets/a.woff2", "/assets/c.woff2"]
    index = FontIndex(subsets)
    assert [s.url for s in index.covering({ord("中")})] == ["/assets/a.woff2"]
    assert index.covering({ord("国"), 0x10FFFF}) == []
    assert [s.url for s in index.covering({ord("A"), ord("中"), ord("国")})] == [
        "/assets/a.woff2", "/assets/c.woff2"]


def test_font_index_agrees_with_the_built_fonts(built: None) -> None:
    """Against the real stylesheet: bisection finds what testing every range finds."""
    css = next((web_build.DIST / "assets").glob("app-*.css")).read_text()
    subsets = font_subsets(css)
    assert len(subsets) > 50
    index = FontIndex(subsets)
    sample = {ord(c) for c in "张伟北京科技有限公司王芳Admin 演示公司 广州市天河区 é€"} | {0x10FFFF}
    slow = [s for s in subsets if any(lo <= c <= hi for c in sample for lo, hi in s.ranges)]
    assert index.covering(sample) == slow

"""A light page's first frame drawn by the server (infra/ssr.py): the app's own markup over the
page's first answers, in the user's language, columns and time zone; nothing of anyone else's,
however renders interleave; and a page that still works when the renderer is slow, crashed or
missing."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra import ssr, web_build
from infra.ssr import FirstFrames
from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, TenantData, TenantFactory

BLOCK = re.compile(r'<script type="application/json" id="first-answers">(.*?)</script>', re.S)
FRAME = re.compile(r'<div id="app" data-drawn="">(.*?)</div>\s*<script type="application/json"',
                   re.S)
HEADERS = re.compile(r"<th[^>]*>(?:<button[^>]*>)?\s*(?:<!--\[-->)?([^<]*)")


@pytest.fixture(scope="module")
def built() -> None:
    web_build.build(quiet=True)


def _frame(page: str) -> str:
    found = FRAME.search(page)
    assert found, "no drawn frame in the page"
    return found.group(1)


def _headers(frame: str) -> list[str]:
    table = frame[frame.index('data-test="contact-table"'):]
    table = table[:table.index("</thead>")]
    return [h.strip() for h in HEADERS.findall(table) if h.strip()]


def _rows(frame: str) -> list[str]:
    """The names in the frame's table, in order."""
    body = frame[frame.index("<tbody"):frame.index("</tbody>")]
    return re.findall(r'<a href="/contacts/[^"]+" class="plain-link"[^>]*>([^<]*)</a>', body)


@pytest.fixture(scope="module")
def team(tenants: TenantFactory, gql: GraphQLClient) -> TenantData:
    team = tenants.make()
    for name in ("赵一", "钱二", "孙三 <b>&amp;</b>"):
        gql.data('mutation($n: String!) { createContact(input: {name: $n}) { id } }',
                 {"n": name}, key=team.keys["owner"])
    tenants.add_member(team, email=f"frame-{team.slug}@example.com", name="周七", role="manager")
    return team


def _signed_in(team: TenantData, live_server: LiveServer, gql: GraphQLClient) -> httpx.Client:
    return login(live_server, gql, team.members["周七"].email, PASSWORD)


@pytest.mark.usefixtures("built")
def test_the_page_comes_drawn(team: TenantData, live_server: LiveServer,
                              gql: GraphQLClient) -> None:
    client = _signed_in(team, live_server, gql)
    response = client.get("/contacts", headers={"accept-language": "zh-CN,zh;q=0.9"})
    assert response.status_code == 200
    page = response.text
    frame = _frame(page)
    # The app's own markup: its table, the shell, the rows newest first, names escaped.
    assert 'data-test="contact-table"' in frame and 'class="shell"' in frame
    assert _rows(frame) == ["孙三 &lt;b&gt;&amp;amp;&lt;/b&gt;", "钱二", "赵一"]
    assert "<b>" not in frame
    assert _headers(frame)[:3] == ["名称", "公司", "职位"]
    assert "周七" in frame  # the signed-in user in the shell
    # Its styles come with it: the stylesheets' rules in the head, and in the body the
    # @font-face rules of the font subsets its text needs (fetched at once: preloaded).
    head = page[:page.index("</head>")]
    assert re.search(r"<style>[^<]*\.data-table[^<]*</style>", head)
    assert "@font-face" not in head
    # The app's chunks and stylesheets are not fetched before the frame's paint: their
    # preloads are there, inert, for the app to turn on (web/src/main.ts).
    assert not re.search(r'<link rel="(modulepreload|preload" as="style)"', head)
    assert head.count('<link rel="preload-later" data-rel="modulepreload" ') > 3
    faces = re.search(r"<style>(@font-face[^<]*)</style>", page)
    assert faces and page.index(faces.group(0)) < page.index('<div id="app"')
    fonts = re.findall(r"url\((/assets/noto-sans-sc-[^)]+\.woff2)\)", faces.group(1))
    assert 2 < len(fonts) < 30  # the subsets for this text, of ~100
    # In one weight: the headers' medium is drawn in the regular until the app has loaded.
    assert set(re.findall(r"font-weight:\s*(\d+)", faces.group(1))) == {"400"}
    for url in fonts:
        assert f'rel="preload" as="font" type="font/woff2" crossorigin href="{url}"' in page
    assert response.headers["content-security-policy"].startswith(
        "default-src 'self'; script-src 'self'; ")
    assert response.headers["vary"] == "Cookie, User-Agent"  # (a phone's frame: phone_width)
    # The answers it was drawn from are there for the app, which mounts over it.
    answers = json.loads(BLOCK.search(page).group(1))  # type: ignore[union-attr]
    assert [n["name"] for n in answers[1]["data"]["contacts"]["nodes"]] == [
        "孙三 <b>&amp;</b>", "钱二", "赵一"]


@pytest.mark.usefixtures("built")
def test_the_users_language_and_columns(team: TenantData, live_server: LiveServer,
                                        gql: GraphQLClient) -> None:
    client = _signed_in(team, live_server, gql)
    # The tenant's language (zh-CN) comes before the browser's...
    english_browser = {"accept-language": "en-US,en;q=0.9"}
    assert _headers(_frame(client.get("/contacts", headers=english_browser).text))[0] == "名称"
    # ... and the user's own choice (kept in a cookie by the app) before both.
    client.cookies.set("crm.locale", "en")
    frame = _frame(client.get("/contacts").text)
    assert _headers(frame)[:3] == ["Name", "Company", "Job title"]
    # The columns the user chose for this list (JSON, URL-encoded by the app).
    client.cookies.set("crm.columns.contacts", "%5B%22email%22%2C%22owner%22%5D")
    assert _headers(_frame(client.get("/contacts").text)) == ["Name", "Email", "Owner"]
    # A cookie that is not JSON, or not a list of columns, is the default choice.
    for junk in ("%7B%7D", "not-json", "%5B1%2C%7B%7D%5D"):
        client.cookies.set("crm.columns.contacts", junk)
        headers = _headers(_frame(client.get("/contacts").text))
        assert headers[:2] in (["Name", "Company"], ["Name"]), (junk, headers)


@pytest.mark.usefixtures("built")
def test_a_phone_gets_a_phones_frame(team: TenantData, live_server: LiveServer,
                                     gql: GraphQLClient) -> None:
    """The layouts CSS cannot say (the list's filters folded behind a button on a phone) follow
    the window's width the app left in a cookie; with junk, a desktop's; without one, a
    phone's if the browser says it is one."""
    client = _signed_in(team, live_server, gql)

    def folded() -> int:  # the filters' button, closed (the only thing a phone adds)
        return _frame(client.get("/contacts").text).count('aria-expanded="false"')

    desktop = folded()
    client.cookies.set("crm.width", "390")
    assert folded() == desktop + 1
    for junk in ("1366", "-1", "99999999", "390px", "0x10"):
        client.cookies.set("crm.width", junk)
        assert folded() == desktop, junk
    # A first visit from a phone (no cookie yet): its browser says so in its user agent.
    client.cookies.delete("crm.width")
    phone = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
             "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1")
    tablet = ("Mozilla/5.0 (iPad; CPU OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
              "(KHTML, like Gecko) Version/18.0 Safari/604.1")
    client.headers["user-agent"] = phone
    assert folded() == desktop + 1
    client.cookies.set("crm.width", "1366")  # the app's word wins once it has said it
    assert folded() == desktop
    client.cookies.delete("crm.width")
    client.headers["user-agent"] = tablet
    assert folded() == desktop


@pytest.mark.usefixtures("built")
def test_dates_in_the_users_time_zone(team: TenantData, live_server: LiveServer,
                                      gql: GraphQLClient) -> None:
    client = _signed_in(team, live_server, gql)

    def created(zone: str | None) -> str:
        if zone is not None:
            client.cookies.set("crm.tz", zone)
        frame = _frame(client.get("/contacts").text)
        cells = re.findall(r">(\d{4}/\d{2}/\d{2} \d{2}:\d{2})<", frame)
        assert cells, frame[-2000:]
        return cells[0]

    shanghai, utc = created("Asia%2FShanghai"), created("UTC")
    hours = (int(shanghai[-5:-3]) - int(utc[-5:-3])) % 24
    assert hours == 8, (shanghai, utc)
    # A zone the server does not know is no zone: the renderer's own.
    assert created("Mars%2FOlympus") == created("..%2F..%2Fetc%2Fpasswd")


@pytest.mark.usefixtures("built")
def test_other_tenants_never_in_the_frame(team: TenantData, tenants: TenantFactory,
                                          live_server: LiveServer, gql: GraphQLClient) -> None:
    other = tenants.make()
    reader = tenants.add_member(other, email=f"reader-{other.slug}@example.com", name="B",
                                role="viewer")
    frame = _frame(login(live_server, gql, reader.email, PASSWORD).get("/contacts").text)
    assert _rows(frame) == []
    for name in ("赵一", "钱二", "周七"):
        assert name not in frame


@pytest.mark.usefixtures("built")
@pytest.mark.parametrize("path", ["/contacts?q=x", "/", "/contacts/abc", "/admin/audit"])
def test_only_light_pages_come_drawn(team: TenantData, live_server: LiveServer, gql: GraphQLClient,
                                     path: str) -> None:
    page = _signed_in(team, live_server, gql).get(path).text
    assert "data-drawn" not in page


# The renderer on its own: a live page's answers, the built bundle, a Node process.

@pytest.fixture(scope="module")
def answers(team: TenantData, live_server: LiveServer, gql: GraphQLClient, built: None
            ) -> list[dict[str, Any]]:
    page = _signed_in(team, live_server, gql).get("/contacts").text
    return json.loads(BLOCK.search(page).group(1))  # type: ignore[union-attr,no-any-return]


def _renamed(answers: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    out = copy.deepcopy(answers)
    out[0]["data"]["me"]["user"]["name"] = f"{prefix}-viewer"
    out[0]["data"]["me"]["tenant"]["name"] = f"{prefix}-tenant"
    for i, node in enumerate(out[1]["data"]["contacts"]["nodes"]):
        node["name"] = f"{prefix}-contact-{i}"
    return out


async def _render(frames: FirstFrames, answers: Any, *,
                  storage: dict[str, str] | None = None) -> str | None:
    return await frames.render("/contacts", answers, stamp="test", browser=ssr.BrowserState(
        storage or {}, ["zh-CN"], None, None))


def test_renders_never_mix(answers: list[dict[str, Any]]) -> None:
    """Many renders at once, each of another tenant's answers and language: each frame holds
    its own and nothing of the others (every render runs in a realm of its own)."""
    frames = FirstFrames(web_build.DIST, timeout=30)

    async def main() -> list[str | None]:
        try:
            return await asyncio.gather(*(
                _render(frames, _renamed(answers, f"t{i}"),
                        storage={"crm.locale": "en"} if i % 2 else {})
                for i in range(8)))
        finally:
            await frames.close()

    drawn = asyncio.run(main())
    for i, frame in enumerate(drawn):
        assert frame is not None
        assert f"t{i}-viewer" in frame and f"t{i}-tenant" in frame
        assert f"t{i}-contact-0" in frame
        others = {f"t{j}-" for j in range(8) if j != i}
        assert not any(o in frame for o in others), i
        assert _headers(frame)[0] == ("Name" if i % 2 else "名称"), i


def test_answers_may_come_after_the_render_has_begun(answers: list[dict[str, Any]]) -> None:
    """The server starts the renderer on a page while its queries still run: the frame is
    drawn once they are in; no answers (or a page given up) draw nothing, and the renderer
    goes on with the next."""
    frames = FirstFrames(web_build.DIST, timeout=30)

    async def later(value: Any, delay: float = 0.05) -> Any:
        await asyncio.sleep(delay)
        return value

    async def main() -> None:
        try:
            frame = await _render(frames, later(_renamed(answers, "late")))
            assert frame is not None and "late-contact-0" in frame
            assert await _render(frames, later(None)) is None
            given_up = asyncio.ensure_future(_render(frames, later(answers, 10)))
            await asyncio.sleep(0.1)
            given_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await given_up
            frame = await asyncio.wait_for(_render(frames, _renamed(answers, "next")), 5)
            assert frame is not None and "next-contact-0" in frame
        finally:
            await frames.close()

    asyncio.run(main())


def test_renders_wait_for_their_answers_side_by_side(answers: list[dict[str, Any]]) -> None:
    """Pages whose queries are still running do not hold each other up in the renderer, and
    renders in different time zones at once each keep their own (the process's zone is shared:
    a render for another zone waits for those under way)."""
    frames = FirstFrames(web_build.DIST, timeout=30)

    async def later(value: Any, delay: float) -> Any:
        await asyncio.sleep(delay)
        return value

    def created(frame: str | None) -> str:
        assert frame is not None
        found = re.findall(r">(\d{4}/\d{2}/\d{2} \d{2}:\d{2})<", frame)
        assert found
        return found[0]

    async def main() -> None:
        try:
            await _render(frames, answers)  # the process started and its code compiled
            started = time.monotonic()
            drawn = await asyncio.gather(*(_render(frames, later(answers, 0.4)) for _ in range(5)))
            assert all(drawn) and time.monotonic() - started < 1.5  # not 5 x 0.4 s in a row
            zones = ["Asia/Shanghai", "UTC"] * 3
            drawn = await asyncio.gather(*(
                frames.render("/contacts", later(answers, 0.05 * i), stamp="test",
                              browser=ssr.BrowserState({}, ["zh-CN"], zone, None))
                for i, zone in enumerate(zones)))
            times = [created(frame) for frame in drawn]
            for zone, at in zip(zones, times, strict=True):
                assert at == times[zones.index(zone)], (zones, times)
            assert (int(times[0][-5:-3]) - int(times[1][-5:-3])) % 24 == 8, times
        finally:
            await frames.close()

    asyncio.run(main())


def test_a_slow_crashed_or_missing_renderer_costs_only_the_frame(
        answers: list[dict[str, Any]], tmp_path: Path) -> None:
    async def main() -> None:
        # Missing Node: nothing to wait for, the page goes without a frame.
        missing = FirstFrames(web_build.DIST, node=tmp_path / "no-node")
        assert not missing.available("test")
        assert await _render(missing, answers) is None
        # A bundle that is not there (a build without it): the same.
        assert not FirstFrames(tmp_path).available("test")
        # Too slow: no frame, and the late answer is dropped.
        slow = FirstFrames(web_build.DIST, timeout=0.000_001, first_timeout=0.000_001)
        assert await _render(slow, answers) is None
        slow.timeout = slow.first_timeout = 30
        assert await _render(slow, answers) is not None
        await slow.close()
        # Crashed: the pages in flight go without; a later one, after a pause, gets one again.
        frames = FirstFrames(web_build.DIST, timeout=30)
        assert await _render(frames, answers) is not None
        process = frames._process
        assert process is not None
        process.proc.kill()
        for _ in range(200):  # until the server has seen it go
            if frames._process is None:
                break
            await asyncio.sleep(0.01)
        assert await _render(frames, answers) is None
        assert not frames.available("test")  # not restarted in a loop
        frames._failed_at -= FirstFrames.RESTART_AFTER
        assert await _render(frames, answers) is not None
        await frames.close()
        # Answers of the wrong shape: an error in the render, no frame, the process lives on.
        frames = FirstFrames(web_build.DIST, timeout=30)
        broken = copy.deepcopy(answers)
        broken[0]["data"]["me"] = None
        assert await _render(frames, broken) is None
        assert await _render(frames, answers) is not None
        await frames.close()

    asyncio.run(main())


def test_accept_language_and_time_zone_parsing() -> None:
    assert ssr.languages("en-US,en;q=0.9,zh-CN;q=0.8") == ["en-US", "en", "zh-CN"]
    assert ssr.languages("zh;q=0.5, en;q=0.9") == ["en", "zh"]
    assert ssr.languages("x" * 5000) == []
    assert ssr.languages("en;q=abc, de;q=0, fr") == ["fr"]
    assert ssr.languages(None) == []
    assert len(ssr.languages(",".join(["en"] * 100))) == 6
    assert ssr.time_zone("Asia/Shanghai") == "Asia/Shanghai"
    for bad in ("", "../../etc/passwd", "Mars/Olympus", "Asia/Shanghai\x00", "a" * 100, None):
        assert ssr.time_zone(bad) is None
    assert ssr.width("390") == 390
    for bad in ("", "199", "10001", "1e3", "٣٩٠", "390 ", None):
        assert ssr.width(bad) is None


@pytest.mark.usefixtures("built")
def test_hostile_cookies_and_headers_are_a_page_not_an_error(
        team: TenantData, live_server: LiveServer, gql: GraphQLClient) -> None:
    client = _signed_in(team, live_server, gql)
    session = "; ".join(f"{name}={value}" for name, value in client.cookies.items()).encode()
    hostile = (b"; crm.locale=%00%FF; crm.columns.contacts=" + b"%5B" * 3000
               + b"; crm.tz=%E2%80%AE; crm.columns.x=\xe2\x80\xae; crm.columns.companies=\xff")
    odd = ("\u00ff" * 300 + ";q=x, en;q=").encode("latin-1")
    response = httpx.get(live_server.url + "/contacts",
                         headers={b"cookie": session + hostile, b"accept-language": odd})
    assert response.status_code == 200
    assert _rows(_frame(response.text))
    # A user agent of odd Unicode, 10,000 characters, "Mobi" past where it is read...
    for agent in (b"Mobi\xff", "\u202eMobi".encode(), b"x" * 10_000, b"x" * 5_000 + b"Mobi"):
        response = httpx.get(live_server.url + "/contacts",
                             headers={b"cookie": session, b"user-agent": agent})
        assert response.status_code == 200, agent[:20]
        assert _rows(_frame(response.text))
    # ...and a NUL byte (no client library sends one: a raw request), refused by the server.
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as raw:
        raw.sendall(b"GET /contacts HTTP/1.1\r\nHost: x\r\nCookie: " + session
                    + b"\r\nUser-Agent: Mobi\x00\r\nConnection: close\r\n\r\n")
        status = raw.recv(64).split(b" ")[1]
    assert status.startswith(b"4"), status
    assert httpx.get(live_server.url + "/contacts").status_code == 200  # and without a session


def test_warming_starts_the_renderer_the_first_page_then_uses(answers: list[dict[str, Any]],
                                                               tmp_path: Path) -> None:
    """`crm serve` and `crm dev` warm the renderer at start-up (infra/app.py): the process is
    there before any page, it draws nothing for the warming, and the first page's frame comes
    from that same process."""
    async def main() -> None:
        frames = FirstFrames(web_build.DIST, timeout=30)
        await frames.warm("test")
        process = frames._process
        assert process is not None and process.proc.returncode is None
        # It has evaluated the app (it answered), so the first page gets the usual patience.
        assert process.rendered and not process.waiting
        frame = await _render(frames, answers)
        assert frame is not None and "钱二" in frame
        assert frames._process is process
        await frames.close()
        # Without Node there is nothing to warm, and nothing fails.
        await FirstFrames(web_build.DIST, node=tmp_path / "no-node").warm("test")

    asyncio.run(main())

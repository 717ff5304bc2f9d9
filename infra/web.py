"""Serves the built web app (`web/dist`) at `/`, and GraphiQL's scripts, from our own origin.

Hashed files under `/assets/` are cached for a year; `index.html` is answered for every client
route (`/contacts/…`: the app's router takes it from there) and never cached, so a new build is
picked up on the next load. Files are read once and kept in memory with their gzip twins (made by
`infra.web_build`); a new build (its stamp file changes) empties the cache.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from infra import ssr
from infra.first_load import FirstAnswers, FirstLoad
from infra.web_build import DIST, STAMP

IMMUTABLE = "public, max-age=31536000, immutable"
# The app needs nothing from elsewhere: every script, style, font and image is ours. Element Plus
# positions popups with inline style attributes, hence 'unsafe-inline' for styles only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}
# The app's element in the built index.html, with the splash shown until the app mounts.
APP_ELEMENT = '<div id="app"><div class="boot-splash" aria-busy="true">CRM</div></div>'
# index.html's preloads of the app's chunks and stylesheets (web/vite.config.ts).
_PRELOAD = re.compile(r'<link rel="(modulepreload)" |<link rel="(preload)" (?=as="style")')
NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>CRM</title>
<p>The web app is not built yet: run <code>make dev</code> (or
<code>.venv/bin/python -m infra.web_build</code>). The API is at <a href="/graphql">/graphql</a>.
"""


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str


class WebApp:
    def __init__(self, dist: Path = DIST, *, first_answers: FirstAnswers | None = None,
                 first_frames: ssr.FirstFrames | None = None) -> None:
        self.dist = dist.resolve()
        self.files: dict[Path, StaticFile | None] = {}
        self.stamp: str | None = None
        self.first_answers = first_answers
        self.first_frames = first_frames
        self.frame_styles = ssr.FrameStyles()
        self._pages: dict[bool, tuple[bytes, str | None, str]] = {}  # see _page
        self._pages_stamp: str | None = None

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/assets/{path:path}", self.asset, methods=["GET", "HEAD"]),
            Route("/static/graphiql/{path:path}", self.graphiql_asset, methods=["GET", "HEAD"]),
            Route("/{path:path}", self.page, methods=["GET", "HEAD"]),
        ]

    async def warm(self) -> None:
        """Readies what the first page after a start would otherwise wait for: the renderer of
        first frames (ssr.FirstFrames.warm)."""
        if self.first_frames is not None:
            await self.first_frames.warm(self._current_stamp())

    def _current_stamp(self) -> str | None:
        try:
            return (self.dist / STAMP).read_text()
        except OSError:
            return None

    def _load(self, relative: str) -> StaticFile | None:
        stamp = self._current_stamp()
        if stamp != self.stamp:
            self.files.clear()
            self.stamp = stamp
        path = (self.dist / relative).resolve()
        if self.dist not in path.parents or path.name.endswith(".gz"):
            return None
        if path not in self.files:
            self.files[path] = self._read(path)
        return self.files[path]

    def _read(self, path: Path) -> StaticFile | None:
        if not path.is_file():
            return None
        body = path.read_bytes()
        twin = path.with_name(path.name + ".gz")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if media_type.startswith("text/") or media_type in ("application/javascript",
                                                              "image/svg+xml"):
            media_type += "; charset=utf-8"
        etag = f'"{self.stamp[:16] if self.stamp else "0"}-{len(body)}"'
        return StaticFile(body, twin.read_bytes() if twin.is_file() else None, media_type, etag)

    def _respond(self, request: Request, file: StaticFile, cache: str,
                 headers: dict[str, str] | None = None) -> Response:
        out = {"Cache-Control": cache, "ETag": file.etag, "Vary": "Accept-Encoding",
               **(headers or {})}
        if request.headers.get("if-none-match") == file.etag:
            return Response(status_code=304, headers=out)
        body = file.body
        if file.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            body = file.gzipped
            out["Content-Encoding"] = "gzip"
        if request.method == "HEAD":
            out["Content-Length"] = str(len(body))
            return Response(status_code=200, headers=out, media_type=file.media_type)
        return Response(body, headers=out, media_type=file.media_type)

    async def asset(self, request: Request) -> Response:
        file = self._load("assets/" + request.path_params["path"])
        if file is None:
            return Response("not found", status_code=404, media_type="text/plain")
        return self._respond(request, file, IMMUTABLE)

    async def graphiql_asset(self, request: Request) -> Response:
        file = self._load("graphiql/" + request.path_params["path"])
        if file is None:
            return Response("not found", status_code=404, media_type="text/plain")
        return self._respond(request, file, IMMUTABLE)  # the path names the version

    async def page(self, request: Request) -> Response:
        path: str = request.path_params["path"]
        last = path.rsplit("/", 1)[-1]
        if "." in last:  # a file (favicon.svg, robots.txt): a missing one is a 404, not the app
            file = self._load(path) if "/" not in path else None
            if file is None:
                return Response("not found", status_code=404, media_type="text/plain")
            return self._respond(request, file, "public, max-age=3600")
        index = self._load("index.html")
        if index is None:
            return HTMLResponse(NOT_BUILT, status_code=503)
        if self.first_answers and (load := self.first_answers.wanted(request)):
            return self._with_first_answers(request, index, load)
        return self._respond(request, index, "no-cache", SECURITY_HEADERS)

    def _page(self, index: StaticFile, drawn: bool) -> tuple[bytes, str | None, str]:
        """index.html for a light route, made once per build: the head that goes out at once,
        then for a page that may come drawn what follows the app's element (None: it is not
        drawn, or cannot be, with no app element where expected), and the end."""
        if self._pages_stamp != self.stamp:
            self._pages, self._pages_stamp = {}, self.stamp
        if drawn in self._pages:
            return self._pages[drawn]
        assert self.first_answers is not None
        html = index.body.decode()
        self.first_answers.load(self.stamp, html)
        head, tail = html.rsplit("</body>", 1)
        drawn = drawn and APP_ELEMENT in head
        # Tells the entry script the answers are coming (web/src/api/prefetch.ts). (Whether the
        # frame came drawn it reads from the app's element, `data-drawn`: web/src/main.ts.)
        marks = '<meta name="first-answers" content="">'
        if drawn:
            # The frame's styles in the page (ssr.FrameStyles): the head's part now.
            self.frame_styles.load(self.stamp, self.dist, html)
            marks += "\n<style>" + self.frame_styles.rules + "</style>"
            # The app's scripts and stylesheets are wanted after the paint, and not before it:
            # fetched early, even at a low priority, their compiling on a machine with few cores
            # takes the threads the frame is put on screen with (a quarter of the time to its
            # paint, bench/web_first_paint.py). Their preloads go in as links the browser does
            # not act on, which the entry turns into preloads once the frame is on screen
            # (web/src/main.ts); the font files the frame's text needs go first.
            head = _PRELOAD.sub(lambda m: f'<link rel="preload-later" data-rel="{m[1] or m[2]}" ',
                                head)
            # Nor does the entry script run before the frame: not `async` (it would cut into
            # the parsing of the frame), but once the page is parsed.
            head = head.replace('<script type="module" async ', '<script type="module" ', 1)
        head = head.replace("</head>", marks + "\n</head>", 1)
        before, after = head.split(APP_ELEMENT, 1) if drawn else (head, None)
        page = (before.encode(), after, tail)
        self._pages[drawn] = page
        return page

    def _with_first_answers(self, request: Request, index: StaticFile, load: FirstLoad
                            ) -> Response:
        """The page's head at once (the browser fetches the scripts and styles), then, once the
        server has answered the page's first queries (first_load.py), its body: the first frame
        drawn over those answers when the renderer can (ssr.py), and the answers themselves."""
        assert self.first_answers is not None
        frames = self.first_frames
        drawn = frames is not None and frames.available(self.stamp)
        before, after, tail = self._page(index, drawn)
        drawn = after is not None
        styles = self.frame_styles
        first_answers = self.first_answers
        path = request.url.path

        async def body() -> AsyncIterator[bytes]:
            yield before
            answering = asyncio.ensure_future(first_answers.answer(request, load))
            if not drawn:
                answered = await answering
                if answered is not None:
                    yield (answered.preloads + answered.data_block()).encode()
                yield ("</body>" + tail).encode()
                return

            async def block() -> list[dict[str, Any]] | None:
                found = await answering
                return found.block if found is not None else None

            # The renderer starts on the page while its queries run (ssr.FirstFrames.render).
            assert frames is not None
            browser = ssr.BrowserState.of(request.cookies, request.headers.get("accept-language"),
                                          request.headers.get("user-agent"))
            drawing = asyncio.ensure_future(frames.render(path, block(), stamp=self.stamp,
                                                          browser=browser))
            try:
                answered = await answering
                if answered is not None:
                    # The font files the answers' text needs, asked for while the frame is drawn.
                    yield answered.preloads.encode()
                frame = await drawing
            finally:
                drawing.cancel()  # (the client went away: nothing more to draw)
            if frame:
                faces, fonts = styles.faces(frame, first_answers.fonts)
                parts = [f"<style>{faces}</style>"]
                asked = answered.preloads if answered is not None else ""
                parts.extend(f'<link rel="preload" as="font" type="font/woff2" crossorigin '
                             f'href="{url}">' for url in fonts if f'href="{url}"' not in asked)
                parts.append(f'<div id="app" data-drawn="">{frame}</div>')
            else:
                parts = [APP_ELEMENT]
            parts.append(after or "")
            if answered is not None:
                parts.append(answered.data_block())
            parts.append("</body>" + tail)
            yield "".join(parts).encode()

        # The answers are the user's own data: never stored by a cache, and per cookie (and a
        # frame drawn for a phone per user agent: ssr.phone_width).
        return StreamingResponse(body(), media_type="text/html; charset=utf-8", headers={
            "Cache-Control": "no-store", "Vary": "Cookie, User-Agent" if drawn else "Cookie",
            **SECURITY_HEADERS})

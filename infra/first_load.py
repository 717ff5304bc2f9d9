"""A light page's first answers, sent inside the HTML that loads the app (issue 10's first paint).

Opening `/contacts` used to cost two round trips before the first row could be drawn: the HTML,
then its scripts, and only once the entry script ran, the session check and the list query. Here
the server answers those same queries while the browser is still fetching the scripts: the page's
HTML goes out at once (its `<head>` starts every script and stylesheet download), the queries run
as the signed-in user through the public GraphQL endpoint (`GraphQLEndpoint.answer_for_page`: the
same schema, authentication, row-level security and data scopes as any API call: no private data
path), and their answers follow in the same response as a JSON data block the entry script takes
(`web/src/boot.ts`), with preloads of the font files their text needs (the page's CJK text would
otherwise ask for its font subsets only after its first layout).

The operations are the app's own documents, by name, from the build's manifest
(`web/dist/documents.json`, written by `infra.web_build` from the generated typed documents); the
variables are those the page sends for its default view (a URL with a query string of its own gets
no answers here: the page asks as usual). The browser uses an answer only when its own document and
variables are the same (deep equality), so a page whose query changed never shows a stale shape:
it just asks again (and tests/web/test_light_pages.py fails, since the page must not ask).
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from tenancy.auth import SESSION_COOKIE

if TYPE_CHECKING:
    from starlette.requests import Request

    from graphql_api.endpoint import GraphQLEndpoint

DOCUMENTS = "documents.json"  # in web/dist: {operation name: document text}


@dataclass(frozen=True)
class FirstLoad:
    operation: str
    variables: dict[str, Any]


# `contactListVariables` / `companyListVariables` (web/src/pages/customers) of the default list
# parameters (`LIST_DEFAULTS`), null values left out: the page compares variables with null and
# absent alike (as GraphQL reads an input), so a filter the page adds later, null by default,
# needs nothing here.
_LIST_VARIABLES = {"first": 20, "sort": "CREATED_AT_DESC",
                   "filter": {"includeDeleted": False, "deletedOnly": False}}

# The light routes (router `meta.light`), their first queries besides the viewer's `Me`.
FIRST_LOADS: dict[str, FirstLoad] = {
    "/contacts": FirstLoad("ContactList", _LIST_VARIABLES),
    "/companies": FirstLoad("CompanyList", _LIST_VARIABLES),
}
VIEWER = FirstLoad("Me", {})

# In a JSON data block: nothing the HTML parser could take for the end of the block, or a comment.
_SCRIPT_UNSAFE = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                  0x2028: "\\u2028", 0x2029: "\\u2029"}


def script_json(value: Any) -> str:
    return orjson.dumps(value).decode().translate(_SCRIPT_UNSAFE)


_APP_CSS = re.compile(r'<link rel="(?:stylesheet|preload)"[^>]*href="(/assets/app-[^"]+\.css)"')
FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
_WOFF2 = re.compile(r"url\(([^)]+\.woff2)\)")
_RANGE = re.compile(r"U\+([0-9A-Fa-f]+)(?:-([0-9A-Fa-f]+))?")


@dataclass(frozen=True)
class FontSubset:
    url: str
    ranges: tuple[tuple[int, int], ...]


class FontIndex:
    """Which subsets hold which code points: every subset's ranges in one sorted list, searched
    by bisection (a page's text is a few hundred code points; the font has ~100 subsets of up
    to ~100 ranges each, too many to test one by one inside a page's request)."""

    def __init__(self, subsets: list[FontSubset]) -> None:
        spans = sorted((low, high, i) for i, s in enumerate(subsets) for low, high in s.ranges)
        self.subsets = subsets
        self.lows = [low for low, _, _ in spans]
        self.spans = spans
        # reach[i]: the highest code point any of spans[:i + 1] holds (where looking back ends)
        self.reach = list(itertools.accumulate((high for _, high, _ in spans), max))

    def covering(self, codepoints: set[int]) -> list[FontSubset]:
        found: set[int] = set()
        for c in codepoints:
            at = bisect.bisect_right(self.lows, c) - 1
            # Ranges of different subsets may overlap: look back while one could still hold c.
            while at >= 0 and self.reach[at] >= c:
                low, high, which = self.spans[at]
                if c <= high:
                    found.add(which)  # every face holding c, as the browser asks for them all
                at -= 1
        return [self.subsets[i] for i in sorted(found)]


def font_faces(css: str) -> dict[str, str]:
    """A stylesheet's @font-face rules by the woff2 file each loads."""
    out = {}
    for rule in FONT_FACE.findall(css):
        url = _WOFF2.search(rule)
        if url is not None:
            out[url.group(1).strip("'\"")] = rule
    return out


def font_subsets(css: str, family: str = "Noto Sans SC", weight: str = "400") -> list[FontSubset]:
    """The woff2 files of one family and weight in a stylesheet, with their unicode-ranges."""
    out = []
    for url, rule in font_faces(css).items():
        if family not in rule or not re.search(rf"font-weight:\s*{weight}\b", rule):
            continue
        ranges = re.search(r"unicode-range:([^;]+)", rule)
        if ranges is None:
            continue
        out.append(FontSubset(url, tuple(
            (int(a, 16), int(b or a, 16)) for a, b in _RANGE.findall(ranges.group(1)))))
    return out


def _texts(value: Any) -> set[int]:
    """The code points above ASCII in an answer's strings (ASCII is in the Latin subset)."""
    out: set[int] = set()
    if isinstance(value, str):
        out.update(ord(c) for c in value if ord(c) > 0x7F)
    elif isinstance(value, dict):
        for item in value.values():
            out |= _texts(item)
    elif isinstance(value, list):
        for item in value:
            out |= _texts(item)
    return out


class FirstAnswers:
    """What `WebApp` adds to a light route's HTML (see the module docstring)."""

    MAX_FONT_PRELOADS = 24  # beyond that the page is mostly text the fonts would fetch anyway

    def __init__(self, endpoint: GraphQLEndpoint, dist: Path) -> None:
        self.endpoint = endpoint
        self.dist = dist
        self._stamp: str | None = None
        self._documents: dict[str, str] = {}
        self.fonts = FontIndex([])  # the regular weight's subsets (ssr.FrameStyles reads it too)

    def wanted(self, request: Request) -> FirstLoad | None:
        if request.method != "GET" or request.url.query or SESSION_COOKIE not in request.cookies:
            return None
        return FIRST_LOADS.get(request.url.path.rstrip("/") or "/")

    def load(self, stamp: str | None, index_html: str) -> None:
        """Reads the build's documents and fonts again when the build changed."""
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self._documents = json.loads((self.dist / DOCUMENTS).read_text())
        except (OSError, ValueError):
            self._documents = {}
        fonts: list[FontSubset] = []
        for href in _APP_CSS.findall(index_html):  # the app's stylesheet holds the @font-faces
            with contextlib.suppress(OSError):
                fonts = font_subsets((self.dist / href.lstrip("/")).read_text())
        self.fonts = FontIndex(fonts)

    async def answer(self, request: Request, load: FirstLoad) -> Answered | None:
        """The page's first answers and the font files their text needs, or None when there is
        nothing to send (no session, a query not in the build, an error: the page then asks as
        usual)."""
        operations = []
        for first in (VIEWER, load):
            document = self._documents.get(first.operation)
            if document is None:  # a build without it: the page asks
                return None
            operations.append((document, first.variables))
        answers = await self.endpoint.answer_for_page(request, operations)
        if not answers:
            return None
        block = [{"query": document, "variables": variables, "data": data}
                 for (document, variables), data in zip(operations, answers, strict=True)]
        codepoints = _texts(answers) | {ord("A")}  # and the Latin subset: ASCII is in every answer
        preloads = [f'<link rel="preload" as="font" type="font/woff2" crossorigin href="{f.url}">'
                    for f in self.fonts.covering(codepoints)][: self.MAX_FONT_PRELOADS]
        return Answered(block, "".join(preloads))


@dataclass(frozen=True)
class Answered:
    block: list[dict[str, Any]]  # [{query, variables, data}], as web/src/api/prefetch.ts reads it
    preloads: str  # <link rel="preload"> of the font files the answers' text needs

    def data_block(self) -> str:
        return ('<script type="application/json" id="first-answers">' + script_json(self.block)
                + "</script>")

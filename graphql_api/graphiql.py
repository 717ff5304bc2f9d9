"""GraphiQL from our own origin: strawberry's page with its CDN scripts pointed at our copies.

Strawberry's page loads React, GraphiQL and its explorer plugin from a CDN, pinned by version and
by Subresource Integrity hash. `web/package.json` pins the same versions, the web build copies those
files to `web/dist/graphiql/<package>@<version>/<path>` (`infra.web_build`), and this page asks
for them there instead. The integrity hashes stay: the browser refuses a copy that differs.

The page also sends the CSRF header (`graphql_api.csrf`) on every request, since it runs on the
session cookie of whoever is signed in to the web app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from strawberry.http.ides import get_graphql_ide_html

from graphql_api.csrf import CSRF_HEADER

ASSETS_URL = "/static/graphiql/"
_CDN = re.compile(r"https://unpkg\.com/((?:@[\w.-]+/)?[\w.-]+)@([\w.-]+)/([\w./-]+)")
_HEADERS = "const defaultHeaders = {};"


@dataclass(frozen=True)
class CdnAsset:
    package: str
    version: str
    path: str

    @property
    def local_path(self) -> str:
        """Where the web build puts it, under web/dist/graphiql/ (and the URL under ASSETS_URL)."""
        return f"{self.package}@{self.version}/{self.path}"


def cdn_assets() -> list[CdnAsset]:
    """Every file strawberry's GraphiQL page would fetch from the CDN."""
    found = {CdnAsset(*m.groups()) for m in _CDN.finditer(get_graphql_ide_html())}
    return sorted(found, key=lambda a: a.local_path)


@cache
def graphiql_html() -> str:
    html = get_graphql_ide_html()
    if _HEADERS not in html:
        raise RuntimeError("strawberry's GraphiQL page changed: update graphql_api/graphiql.py")
    html = html.replace(_HEADERS, f'const defaultHeaders = {{"{CSRF_HEADER}": "graphiql"}};')
    return _CDN.sub(lambda m: f"{ASSETS_URL}{m[1]}@{m[2]}/{m[3]}", html)

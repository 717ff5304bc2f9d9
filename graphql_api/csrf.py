"""The CSRF guard of `/graphql`: a browser's POST must carry a header other sites cannot add.

Two walls were already there: only JSON bodies are accepted (a cross-site form cannot send one,
and a cross-site `fetch` with one needs a CORS preflight that is never granted), and the session
cookie is `SameSite=Lax`. Neither holds against a page on the same *site* (another port or
subdomain: SameSite ignores both), nor if a proxy ever answered preflights. This third one does:
`X-Requested-By` is not a CORS-safelisted header, so no page of another origin can set it without
a preflight. The web app sends it on every POST.

A request with an `Authorization` header is exempt: it is authenticated by that header alone
(the endpoint then never reads the cookie), and browsers never add one to a cross-site request.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from graphql_api.errors import error_payload

CSRF_HEADER = "X-Requested-By"


def csrf_refusal(request: Request) -> Response | None:
    """None when the request may go on; otherwise the 403 that refuses it."""
    if request.method != "POST" or request.headers.get("authorization"):
        return None
    if request.headers.get(CSRF_HEADER, "").strip():
        return None
    payload = {"errors": [error_payload(
        f"send the {CSRF_HEADER} header (any value) with requests authenticated by the "
        "session cookie, or use `Authorization: Bearer <api key>`",
        "FORBIDDEN", reason="CSRF", header=CSRF_HEADER)]}
    return Response(orjson.dumps(payload), status_code=403, media_type="application/json")

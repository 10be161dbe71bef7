"""Who may call the browser routes: fetch metadata, the origin allow-list and CORS.

A browser post is accepted when the browser says it is same-origin (``Sec-Fetch-Site:
same-origin``) or when its ``Origin`` is one of the configured origins (``--allow-origin``). The
allowed origin is never derived from the request's own ``Host`` header, so a rebinding host name
gains nothing. CORS (Starlette's middleware) opens the browser routes, and only those, to the
allow-list; the server-to-server API (``/api/v1``, API keys) is never opened to browsers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fastapi import Request
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from troth.errors import ConfigError, ConsentError
from troth.web.apikeys import AuthError

#: ``scheme://host[:port]``, nothing else (no path, no wildcard)
_ORIGIN = re.compile(r"^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$")
#: the routes a banner on an allowed origin calls
BROWSER_PATHS = ("/consent/", "/static/troth-consent.", "/.well-known/gpc.json")


def check_origins(origins: Iterable[str]) -> frozenset[str]:
    """The allow-list as exact origins; :class:`ConfigError` for anything that is not one."""
    out = set()
    for origin in origins:
        value = origin.strip().rstrip("/")
        if not _ORIGIN.match(value):
            raise ConfigError(
                f"{origin!r} is not an origin",
                where="--allow-origin",
                fix="pass scheme://host[:port] of the site that shows the banner, "
                "e.g. https://shop.example (no path, no wildcard)",
            )
        out.add(value.lower())
    return frozenset(out)


def check_browser_post(request: Request, allowed: frozenset[str]) -> None:
    """Refuse a banner post that is neither same-origin nor from an allowed origin."""
    site = request.headers.get("sec-fetch-site")
    origin = (request.headers.get("origin") or "").rstrip("/").lower()
    if site != "same-origin" and origin not in allowed:
        raise AuthError(
            "cross-site request refused: browser posts need Sec-Fetch-Site: same-origin or an "
            "Origin passed with --allow-origin",
            forbidden=True,
        )
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ConsentError("browser posts must be application/json", where="Content-Type")


class BrowserCORS:
    """ASGI middleware: CORS for the allow-list on the browser routes only."""

    def __init__(self, app: ASGIApp, origins: frozenset[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=sorted(origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(BROWSER_PATHS):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)

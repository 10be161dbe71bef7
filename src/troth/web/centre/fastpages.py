"""Cached page GETs answered before routing (pure ASGI): the same bytes and headers, less work.

A page the centre renders once per process (``CentreWeb.page(..., cached=True)``) is recorded
here the first time its route serves it for a plain GET (no query, no session cookie), the only
case where the route's answer depends on nothing but the path. Later plain GETs of that path are
answered from the cached bytes with this browser's CSRF token spliced in (and a fresh
``troth_csrf`` cookie when it has none), skipping FastAPI's routing and dependency solving.
Anything else (a query, a session cookie, another method, a path never rendered) goes to the app.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from troth.web.centre.security import SESSION_COOKIE, cookie_header, security_headers

#: a cookie value that needs no quoting (like the base64url tokens), split out of the header
SLOT = "troth-cookie-value"


@dataclass(frozen=True)
class CachedPage:
    """A rendered page split around its CSRF token slot."""

    parts: tuple[bytes, ...]
    status: int

    def body(self, token: str) -> bytes:
        return token.encode().join(self.parts)


class CachedPages:
    """ASGI middleware: serve recorded cached pages (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        base = [(b"content-type", b"text/html; charset=utf-8")]
        self._headers = {https: base + security_headers(https) for https in (False, True)}
        #: the Set-Cookie header around its value, per (cookie name, https): built once
        self._cookies: dict[tuple[str, bool], tuple[bytes, bytes]] = {}

    def _set_cookie(self, name: str, value: str, https: bool) -> tuple[bytes, bytes]:
        around = self._cookies.get((name, https))
        if around is None:
            _, header = cookie_header(name, SLOT, https=https)
            before, after = header.split(SLOT.encode())
            around = self._cookies[(name, https)] = (before, after)
        return b"set-cookie", around[0] + value.encode() + around[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["query_string"]:
            await self.app(scope, receive, send)
            return
        state = getattr(scope.get("app"), "state", None)
        web = getattr(state, "centre", None)
        page = web.fast.get(scope["path"]) if web is not None else None
        if web is None or page is None:
            await self.app(scope, receive, send)
            return
        raw = b""
        for name, value in scope["headers"]:
            if name == b"cookie":
                raw = value
                break
        cookies = cookie_parser(raw.decode("latin-1")) if raw else {}
        if SESSION_COOKIE in cookies:  # a signed-in browser: the route decides
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        token, fresh = web.guard.csrf_of(cookies.get(web.guard.csrf_cookie, ""))
        body = page.body(token)
        headers = [*self._headers[https], (b"content-length", str(len(body)).encode())]
        if fresh:
            headers.append(self._set_cookie(web.guard.csrf_cookie, fresh, https))
        await send({"type": "http.response.start", "status": page.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

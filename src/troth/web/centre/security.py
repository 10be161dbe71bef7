"""The centre's browser security: CSRF tokens, signed session cookies, response headers.

CSRF: a random ``troth_csrf`` cookie (``HttpOnly``, ``SameSite=Strict``) and, in every form, an
HMAC of it under a key derived from troth's secret; a post without both, or with a token of
another cookie, is refused. The preference centre's session is a signed, expiring cookie that names
the person by the consent ledger's keyed hash (and their identifier encrypted, so a withdrawal can
be pushed to the mailing service). Every page gets a CSP without inline scripts
(no scripts at all), ``frame-ancestors 'none'``, no referrer, no caching, and HSTS over HTTPS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from fastapi import Request, Response

from troth.centre.crypto import Box, Signer, derive
from troth.errors import RequestError

CSRF_COOKIE = "troth_csrf"
SESSION_COOKIE = "troth_centre"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class Guard:
    """*csrf_cookie*: the CSRF cookie's name (the console has its own)."""

    def __init__(self, secret: bytes, *, csrf_cookie: str = CSRF_COOKIE) -> None:
        self._csrf_key = derive(secret, "csrf")
        self.sessions = Signer(secret, "session")
        self._box = Box(secret, "session identifier")
        self.csrf_cookie = csrf_cookie

    def _token_of(self, cookie: str) -> str:
        mac = hmac.digest(self._csrf_key, cookie.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def csrf(self, request: Request) -> tuple[str, str | None]:
        """The form token for this browser, and a new cookie to set when it has none."""
        return self.csrf_of(request.cookies.get(self.csrf_cookie, ""))

    def csrf_of(self, cookie: str) -> tuple[str, str | None]:
        """:meth:`csrf` from the value of the browser's CSRF cookie (``""`` when it has none)."""
        if 20 <= len(cookie) <= 100:
            return self._token_of(cookie), None
        fresh = secrets.token_urlsafe(32)
        return self._token_of(fresh), fresh

    def csrf_ok(self, request: Request, token: str) -> bool:
        cookie = request.cookies.get(self.csrf_cookie, "")
        if not cookie or not token:
            return False
        return token.isascii() and hmac.compare_digest(self._token_of(cookie), token)

    def subject(self, request: Request) -> str | None:
        """The keyed hash of the verified person of this browser's session, if any."""
        data = self.sessions.read(request.cookies.get(SESSION_COOKIE))
        subject = data.get("s") if data else None
        return subject if isinstance(subject, str) else None

    def identifier(self, request: Request) -> str | None:
        """The verified person's identifier, when the session carries it (encrypted)."""
        data = self.sessions.read(request.cookies.get(SESSION_COOKIE))
        sealed = data.get("e") if data else None
        if not isinstance(sealed, str):
            return None
        try:
            value = self._box.open(sealed)
        except RequestError:
            return None
        return value if isinstance(value, str) else None

    def sign_in(
        self,
        request: Request,
        response: Response,
        subject: str,
        seconds: int,
        identifier: str | None = None,
    ) -> None:
        data = {"s": subject}
        if identifier is not None:
            data["e"] = self._box.seal(identifier)
        token = self.sessions.sign(data, ttl=seconds)
        set_cookie(request, response, SESSION_COOKIE, token, max_age=seconds)


def set_cookie(
    request: Request,
    response: Response,
    name: str,
    value: str,
    *,
    max_age: int | None,
    path: str = "/privacy",
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
        path=path,
    )


HSTS = "max-age=63072000; includeSubDomains"


def harden(request: Request, response: Response, *, csp: str = CSP) -> None:
    """The security headers of every centre response."""
    headers = response.headers
    headers["Content-Security-Policy"] = csp
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers.setdefault("Cache-Control", "no-store")
    if request.url.scheme == "https":
        headers["Strict-Transport-Security"] = HSTS


def security_headers(https: bool) -> list[tuple[bytes, bytes]]:
    """:func:`harden`'s headers of an HTML page, as raw ASGI headers (the cached pages)."""
    response = Response()
    del response.headers["content-length"]
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cache-Control"] = "no-store"
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return list(response.raw_headers)


def cookie_header(name: str, value: str, *, https: bool) -> tuple[bytes, bytes]:
    """The ``Set-Cookie`` header :func:`set_cookie` writes for a session-long centre cookie."""
    response = Response()
    response.set_cookie(
        name, value, max_age=None, httponly=True, secure=https, samesite="strict", path="/privacy"
    )
    return response.raw_headers[-1]

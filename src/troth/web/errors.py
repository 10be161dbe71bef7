"""The ONE place where troth's exception tree becomes HTTP status codes (and request guards).

Responses carry ``{"error": <class name>, "message": <one line>}``; messages hold no personal data
(the tree's rule). A 5xx never carries detail (no database URL, no driver text): a store error or
anything unexpected is ``{"error": "InternalError", "message": "internal error"}``, a store that is
down a 503 saying to retry; the class name goes to the log.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from troth.consent.ledger import UnknownSubjectError
from troth.errors import (
    ConfigError,
    ConsentError,
    DisclosureRefusedError,
    PurposeDeniedError,
    RequestNotFoundError,
    RequestStateError,
    StoreError,
    StoreUnavailableError,
    TrothError,
    UnknownNameError,
)
from troth.web.apikeys import AuthError

log = logging.getLogger("troth.web")
INTERNAL = {"error": "InternalError", "message": "internal error"}

#: most specific first
STATUS: list[tuple[type[TrothError], int]] = [
    (UnknownSubjectError, 404),
    (RequestNotFoundError, 404),
    (RequestStateError, 409),
    (UnknownNameError, 422),
    (PurposeDeniedError, 403),
    (DisclosureRefusedError, 403),
    (ConsentError, 422),
    (StoreUnavailableError, 503),
    (StoreError, 500),
    (ConfigError, 500),
]


def status_for(exc: TrothError) -> int:
    if isinstance(exc, AuthError):
        return 403 if exc.forbidden else 401
    for cls, code in STATUS:
        if isinstance(exc, cls):
            return code
    return 400


def install(app: FastAPI) -> None:
    @app.exception_handler(TrothError)
    async def troth_error(_request: Request, exc: TrothError) -> JSONResponse:
        code = status_for(exc)
        if code == 503:
            log.warning("state store unavailable: %s", type(exc).__name__)
            body = {"error": "ServiceUnavailable", "message": "try again later"}
            return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
        if code >= 500:
            log.error("internal error: %s", type(exc).__name__)
            return JSONResponse(INTERNAL, status_code=500)
        headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
        body = {"error": type(exc).__name__, "message": exc.one_line()}
        return JSONResponse(body, status_code=code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()[:20]
        ]  # never echo the input back: it may hold personal data
        return JSONResponse(
            {"error": "ValidationError", "message": "invalid request", "problems": problems},
            status_code=422,
        )

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": "HTTPError", "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error: %s", type(exc).__name__)
        return JSONResponse(INTERNAL, 500)


class BodyLimit:
    """ASGI middleware: a request body over *limit* bytes gets 413 before the app sees it.

    ``Content-Length`` is checked first; a body without one (chunked) is read up to the limit
    and then handed to the app, so an oversize chunked body is a 413 too, never a parse error.
    """

    def __init__(self, app: ASGIApp, limit: int = 64 * 1024) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.limit
                except ValueError:
                    too_big = True
                if too_big:
                    await _reject(send, 413, "request body too large")
                    return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await _reject(send, 413, "request body too large")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _reject(send: Send, status: int, message: str) -> None:
    body = ('{"error":"HTTPError","message":"' + message + '"}').encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

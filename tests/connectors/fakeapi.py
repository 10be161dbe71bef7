"""A tiny local HTTP server for the SaaS tests: routes, an auth check, failures to inject first
(``(status, headers)``), a log of ``(method, path, status)``. Each fake service module describes its
routes from the service's public API documentation."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    match: re.Match[str]


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


Handler = Callable[[Request], Response]


class FakeApi:
    def __init__(
        self,
        routes: list[tuple[str, str, Handler]],
        auth: Callable[[Request], Response | None],
        failure: Callable[[int], Response],
    ) -> None:
        self.routes = [(m, re.compile(p + "$"), h) for m, p, h in routes]
        self.auth = auth
        self.failure = failure
        self.fail: list[tuple[int, dict[str, str]]] = []
        self.log: list[tuple[str, str, int]] = []
        self.lock = threading.Lock()
        api = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def _handle(self) -> None:
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype and raw:
                    body: Any = json.loads(raw)
                elif raw:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                else:
                    body = None
                req = Request(
                    self.command,
                    url.path,
                    {k: v[0] for k, v in parse_qs(url.query).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    re.match("", ""),  # type: ignore[arg-type]
                )
                self._reply(req, api.dispatch(req))

            def _reply(self, req: Request, resp: Response) -> None:
                data = b"" if resp.body is None else json.dumps(resp.body).encode()
                self.send_response(resp.status)
                self.send_header("Content-Type", resp.content_type)
                self.send_header("Content-Length", str(len(data)))
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
                api.log.append((req.method, req.path, resp.status))

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def dispatch(self, req: Request) -> Response:
        with self.lock:
            injected = self.fail.pop(0) if self.fail else None
        if injected is not None:
            resp = self.failure(injected[0])
            resp.headers.update(injected[1])
            return resp
        for method, pattern, handler in self.routes:
            m = pattern.match(req.path)
            if m and method == req.method:
                if pattern.pattern.startswith("/oauth") is False:
                    denied = self.auth(req)
                    if denied is not None:
                        return denied
                req.match = m
                with self.lock:
                    return handler(req)
        return self.failure(404)

    def __enter__(self) -> FakeApi:
        self.thread.start()
        return self

    def __exit__(self, *_args: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

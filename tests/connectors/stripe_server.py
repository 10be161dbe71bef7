"""A local HTTP server that answers like Stripe's customers API, written from its documentation.

https://docs.stripe.com/api/customers/list: ``GET /v1/customers`` with ``email`` (case-sensitive
filter), ``limit`` (1-100, default 10) and ``starting_after`` (an object id: the page after it);
answers a list object ``{"object": "list", "url", "has_more", "data"}``, newest first.
https://docs.stripe.com/api/customers/delete: ``DELETE /v1/customers/{id}`` answers
``{"id", "object": "customer", "deleted": true}``; an unknown id is a 404 with an error object.
https://docs.stripe.com/api/authentication: ``Authorization: Bearer <secret key>``, else 401.
https://docs.stripe.com/rate-limits: too many requests get a 429. Failures to inject first are
queued in :attr:`StripeServer.fail` as ``(status, headers)``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

KEY = "sk_test_troth_0123456789"


def _error(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, **extra}}


class StripeServer:
    def __init__(self) -> None:
        self.customers: list[dict[str, Any]] = []  # newest first
        self.fail: list[tuple[int, dict[str, str]]] = []
        self.log: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
                server.log.append((self.command, urlparse(self.path).path, status))

            def _handle(self) -> None:
                with server._lock:
                    injected = server.fail.pop(0) if server.fail else None
                if injected is not None:
                    status, headers = injected
                    kind = "rate_limit_error" if status == 429 else "api_error"
                    self._send(status, _error(kind, "injected failure"), headers)
                    return
                if self.headers.get("Authorization") != f"Bearer {KEY}":
                    self._send(401, _error("invalid_request_error", "Invalid API Key provided"))
                    return
                url = urlparse(self.path)
                if self.command == "GET" and url.path == "/v1/customers":
                    self._list(parse_qs(url.query))
                elif self.command == "DELETE" and url.path.startswith("/v1/customers/"):
                    self._delete(url.path.rsplit("/", 1)[1])
                else:
                    self._send(404, _error("invalid_request_error", "Unrecognized request URL"))

            def _list(self, q: dict[str, list[str]]) -> None:
                limit = int(q.get("limit", ["10"])[0])
                if not 1 <= limit <= 100:
                    self._send(
                        400, _error("invalid_request_error", "Invalid integer", param="limit")
                    )
                    return
                with server._lock:
                    rows = [
                        c
                        for c in server.customers
                        if "email" not in q or c["email"] == q["email"][0]
                    ]
                after = q.get("starting_after", [None])[0]
                if after is not None:
                    ids = [c["id"] for c in rows]
                    if after not in ids:
                        self._send(
                            400,
                            _error(
                                "invalid_request_error", "No such object", param="starting_after"
                            ),
                        )
                        return
                    rows = rows[ids.index(after) + 1 :]
                page = rows[:limit]
                self._send(200, {"object": "list", "url": "/v1/customers",
                                 "has_more": len(rows) > limit, "data": page})  # fmt: skip

            def _delete(self, cid: str) -> None:
                with server._lock:
                    found = [c for c in server.customers if c["id"] == cid]
                    server.customers = [c for c in server.customers if c["id"] != cid]
                if not found:
                    self._send(404, _error("invalid_request_error", "No such customer",
                                           code="resource_missing", param="id"))  # fmt: skip
                    return
                self._send(200, {"id": cid, "object": "customer", "deleted": True})

            do_GET = _handle
            do_DELETE = _handle
            do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def add(self, n: int, email: str, name: str) -> dict[str, Any]:
        customer = {"id": f"cus_{n:06d}", "object": "customer", "email": email, "name": name,
                    "phone": "+1 555 0100", "created": 1_700_000_000 + n,
                    "address": {"line1": f"{n} Elm Street", "city": "Springfield"}}  # fmt: skip
        self.customers.insert(0, customer)
        return customer

    def __enter__(self) -> StripeServer:
        self.thread.start()
        return self

    def __exit__(self, *_args: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

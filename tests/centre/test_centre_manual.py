"""Requests identified by phone (codes through the signed SMS webhook) and erasure requests can
wait for the privacy team's manual verification."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from centre_helpers import ask, client, verify
from centre_support import EXAMPLES, Mailbox

from servers import free_port
from troth.audit import Ledger
from troth.dsr.requests import Requests
from troth.notify.webhook import SIGNATURE_HEADER, verify_signature

PHONE = "+1 555 0100 123"
HOOK_SECRET = b"hook-secret-0123456789"


@pytest.fixture
def sms(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """A local SMS gateway that accepts only correctly signed posts."""
    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ok = verify_signature(HOOK_SECRET, self.headers.get(SIGNATURE_HEADER, ""), body)
            if ok:
                received.append(json.loads(body))
            self.send_response(204 if ok else 401)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("TROTH_SMS_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/sms")
    monkeypatch.setenv("TROTH_SMS_WEBHOOK_SECRET", HOOK_SECRET.decode())
    try:
        yield received
    finally:
        server.shutdown()


def test_phone_request_gets_its_code_by_signed_webhook_and_waits_for_the_team(
    centre_env: Mailbox, sms: list[dict[str, Any]]
) -> None:
    c = client(EXAMPLES / "mydigisoft")
    sent = ask(c, PHONE, identity_type="phone")
    assert sent.status_code == 303
    (message,) = sms
    assert message["to"] == PHONE
    code = re.search(r"\b(\d{6})\b", message["text"]).group(1)  # type: ignore[union-attr]
    done = verify(c, sent.headers["location"], code)
    assert done.status_code == 303
    engine = c.app.state.services.engine
    (info,) = Requests(engine, b"").list()
    assert info.status == "received"  # not verified by the code alone
    page = c.get(done.headers["location"])
    assert "privacy team will confirm" in page.text
    entries = {e.kind: e for e in Ledger(engine).tail(10)}
    assert entries["centre.manual_verification"].data["request_id"] == info.id
    assert len(sms) == 2
    assert "received" in sms[1]["subject"].lower()


def test_erasure_waits_for_manual_verification_when_configured(
    centre_env: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TROTH_CENTRE_MANUAL_ERASURE", "1")
    c = client(EXAMPLES / "mydigisoft")
    who = "erin@example.com"
    sent = ask(c, who, kind="erasure")
    verify(c, sent.headers["location"], centre_env.code(who))
    second = ask(c, who, kind="access")
    verify(c, second.headers["location"], centre_env.code(who, 3))
    by_kind = {r.kind: r.status for r in Requests(c.app.state.services.engine, b"").list()}
    assert by_kind == {"erasure": "received", "access": "identity_verified"}


def test_sms_without_a_configured_webhook_says_try_later(centre_env: Mailbox) -> None:
    c = client(EXAMPLES / "mydigisoft")
    page = ask(c, PHONE, identity_type="phone")
    assert page.status_code == 503
    assert "Try again later" in page.text or "try again" in page.text.lower()

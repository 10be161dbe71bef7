"""Fixtures of the privacy centre tests: a real SMTP server (aiosmtpd) catching the mail, and an
app of ``troth serve`` whose notifiers write to it."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from servers import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SECRET = "centre-test-secret-0123456789abcdef"


class Mailbox:
    """Every message the SMTP server accepted, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def wait(self, address: str, count: int = 1, timeout: float = 20) -> EmailMessage:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = self.to(address)
            if len(got) >= count:
                return got[count - 1]
            time.sleep(0.05)
        raise AssertionError(f"no message #{count} to {address}")

    def code(self, address: str, count: int = 1) -> str:
        body = self.wait(address, count).get_content()
        found = re.search(r"\b(\d{6})\b", body)
        assert found, body
        return found.group(1)


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def centre_env(smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch) -> Mailbox:
    """The environment of a centre whose e-mail goes to the test's SMTP server."""
    box, port = smtp
    monkeypatch.setenv("TROTH_SECRET_KEY", SECRET)
    monkeypatch.setenv("TROTH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TROTH_SMTP_PORT", str(port))
    monkeypatch.setenv("TROTH_SMTP_FROM", "privacy@shop.example.com")
    for name in ("TROTH_PUBLIC_URL", "TROTH_CENTRE_MANUAL_ERASURE", "TROTH_SMS_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    return box

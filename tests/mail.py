"""The tests' real SMTP server (aiosmtpd on a free local port) and the mailbox it fills."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from servers import free_port


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

    @property
    def bodies(self) -> list[str]:
        with self._lock:
            return [str(m.get_content()) for m in self.messages]

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


@contextmanager
def smtp_server(box: Any | None = None) -> Iterator[tuple[Any, int]]:
    """An SMTP server process thread handing each message to *box* (a new Mailbox by default)."""
    handler = Mailbox() if box is None else box
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def use_smtp(monkeypatch: pytest.MonkeyPatch, port: int, sender: str) -> None:
    """Point troth's e-mail notifier at the test server."""
    monkeypatch.setenv("TROTH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TROTH_SMTP_PORT", str(port))
    monkeypatch.setenv("TROTH_SMTP_FROM", sender)


@contextmanager
def mail_to(monkeypatch: pytest.MonkeyPatch, sender: str) -> Iterator[Mailbox]:
    """A running server with troth's notifier pointed at it; yields its mailbox."""
    with smtp_server() as (box, port):
        use_smtp(monkeypatch, port, sender)
        yield box

"""Shared pieces of the privacy centre tests: paths, and the mailbox of the test SMTP server."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

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

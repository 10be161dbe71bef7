"""Fixtures of the privacy centre tests: a real SMTP server (aiosmtpd) catching the mail, and the
environment of an app of ``troth serve`` whose notifiers write to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from centre_support import SECRET, Mailbox

from servers import free_port


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

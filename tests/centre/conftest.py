"""Fixtures of the privacy centre tests: a real SMTP server (aiosmtpd) catching the mail, and the
environment of an app of ``troth serve`` whose notifiers write to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from centre_support import SECRET, Mailbox

from mail import smtp_server, use_smtp
from servers import axe_js, driver  # noqa: F401  (the browser fixtures)


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as (box, port):
        yield box, port


@pytest.fixture
def centre_env(smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch) -> Mailbox:
    """The environment of a centre whose e-mail goes to the test's SMTP server."""
    box, port = smtp
    monkeypatch.setenv("TROTH_SECRET_KEY", SECRET)
    use_smtp(monkeypatch, port, "privacy@shop.example.com")
    for name in ("TROTH_PUBLIC_URL", "TROTH_CENTRE_MANUAL_ERASURE", "TROTH_SMS_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    return box

"""Fixtures of the console tests: the environment (secret key, no queue, no public URL), and a
real SMTP server (aiosmtpd) for the browser journeys, with the privacy centre tests' mailbox."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_support import SECRET

from mail import mail_to
from servers import axe_js, driver  # noqa: F401  (the browser fixtures)

sys.path.insert(0, str(Path(__file__).parents[1] / "centre"))  # the centre's test helpers

from centre_support import Mailbox


@pytest.fixture(autouse=True)
def console_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TROTH_SECRET_KEY", SECRET)
    monkeypatch.setenv("TROTH_HOME", str(tmp_path / "home"))
    for name in ("TROTH_DATABASE_URL", "TROTH_QUEUE_URL", "TROTH_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    for name in ("TROTH_CENTRE_MANUAL_ERASURE", "TROTH_SMS_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    with mail_to(monkeypatch, "privacy@shop.example.com") as box:
        yield box

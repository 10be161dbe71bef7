"""Shared pieces of the privacy centre tests: paths, and the mailbox of the test SMTP server."""

from __future__ import annotations

from pathlib import Path

from mail import Mailbox

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SECRET = "centre-test-secret-0123456789abcdef"

__all__ = ["EXAMPLES", "ROOT", "SECRET", "Mailbox"]

"""Fixtures of the console tests: the environment (secret key, no queue, no public URL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_support import SECRET


@pytest.fixture(autouse=True)
def console_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TROTH_SECRET_KEY", SECRET)
    monkeypatch.setenv("TROTH_HOME", str(tmp_path / "home"))
    for name in ("TROTH_DATABASE_URL", "TROTH_QUEUE_URL", "TROTH_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)

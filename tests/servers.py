"""Start a real `troth serve` process for a test (free port, wait for /healthz)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def troth_command() -> str:
    return shutil.which("troth", path=str(Path(sys.executable).parent)) or "troth"


def start_serve(
    project: Path, url: str, env: Mapping[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    """`troth serve PROJECT --db URL` on a free port; the process and its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [troth_command(), "serve", str(project), "--port", str(port), "--db", url],
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"troth serve did not start (exit {proc.poll()})")

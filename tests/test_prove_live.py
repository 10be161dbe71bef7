"""`troth prove --live`: conformance probes against a running `troth serve`, and against a
deliberately broken deployment that keeps allowing after a withdrawal."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from servers import start_serve
from troth.config import Settings
from troth.prove import Status, prove
from troth.store import open_store
from troth.web.apikeys import create_key

ROOT = Path(__file__).resolve().parents[1]
MD = ROOT / "examples" / "mydigisoft"


def _probe_verdict(result: object, promise: str) -> Status:
    proof = next(p for p in result.promises if p.id == promise)  # type: ignore[attr-defined]
    return next(v.status for v in proof.verdicts if v.mechanism == "conformance probe")


def test_probes_pass_on_a_running_deployment(
    state_url: str, troth_env: Path, tmp_path: Path
) -> None:
    settings = Settings.from_env().with_database(state_url)
    key = create_key(open_store(settings), settings.secret_key, ["consent:read", "consent:write"])
    proc, base = start_serve(MD, state_url, {**os.environ, "PYTHONPATH": str(ROOT / "src")})
    try:
        result = prove(MD, output=tmp_path / "p", settings=settings, live=base, api_key=key)
    finally:
        proc.terminate()
        proc.wait(10)
    (probe,) = [p for p in result.probes if p.probe.startswith("consent withdrawal")]
    assert probe.passed, probe.reason
    assert "denied" in probe.reason
    assert _probe_verdict(result, "MD-3") is Status.kept
    doc = json.loads((tmp_path / "p" / "report.json").read_text())
    assert doc["probes"][0]["passed"] is True


class _KeepsAllowing(BaseHTTPRequestHandler):
    """A broken deployment: records events, but its decisions ignore withdrawals."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = {"allowed": True} if self.path.endswith("/decisions") else {"events": []}
        data = json.dumps(body).encode()
        self.send_response(201 if "consent" in self.path else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def broken() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepsAllowing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_probe_fails_on_a_broken_deployment_with_the_reason(
    troth_env: Path, tmp_path: Path, broken: str
) -> None:
    settings = Settings.from_env()
    result = prove(MD, output=tmp_path / "p", settings=settings, live=broken, api_key="troth_x_y")
    (probe,) = [p for p in result.probes if p.probe.startswith("consent withdrawal")]
    assert probe.passed is False
    assert "still allowed" in probe.reason
    assert _probe_verdict(result, "MD-3") is Status.broken
    assert result.status_of("MD-3") is Status.broken


def test_live_needs_a_key(troth_env: Path, tmp_path: Path) -> None:
    from troth.cli import main

    env_key = os.environ.pop("TROTH_API_KEY", None)
    try:
        assert main(["prove", str(MD), "-o", str(tmp_path / "p"), "--live", "http://x"]) == 2
    finally:
        if env_key is not None:
            os.environ["TROTH_API_KEY"] = env_key

"""`troth prove --live`: conformance probes against a running `troth serve` of each example, and
against a deliberately broken deployment that keeps allowing after a withdrawal, discloses every
field and erases rows of its canary."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from servers import start_serve
from troth.config import Settings
from troth.datamap.demo import create_demo_db
from troth.prove import PROBE_SCOPES, ProofResult, Status, prove
from troth.store import open_store
from troth.web.apikeys import create_key

ROOT = Path(__file__).resolve().parents[1]
MD = ROOT / "examples" / "mydigisoft"
PLUS = ROOT / "examples" / "plus"


def _reason(result: ProofResult, prefix: str, *, passed: bool) -> str:
    """The reason of the one probe whose name starts with *prefix*, which must have *passed* (or
    failed)."""
    (probe,) = [p for p in result.probes if p.probe.startswith(prefix)]
    assert probe.passed is passed, probe.reason
    return probe.reason


def _rows(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        out = {
            n: int(conn.execute(sa.text(f"SELECT count(*) FROM {n}")).scalar_one()) for n in names
        }
    engine.dispose()
    return out


def _probe_verdict(result: ProofResult, promise: str) -> Status:
    proof = next(p for p in result.promises if p.id == promise)
    return next(v.status for v in proof.verdicts if v.mechanism == "conformance probe")


def _prove_live(project: Path, state_url: str, output: Path) -> ProofResult:
    """`troth prove --live` of *project* against a `troth serve` of it on *state_url*, with an API
    key of the probes' scopes; the server is stopped afterwards."""
    settings = Settings.from_env().with_database(state_url)
    key = create_key(open_store(settings), settings.secret_key, list(PROBE_SCOPES))
    proc, base = start_serve(project, state_url, {**os.environ, "PYTHONPATH": str(ROOT / "src")})
    try:
        return prove(project, output=output, settings=settings, live=base, api_key=key)
    finally:
        proc.terminate()
        proc.wait(10)


def test_probes_pass_on_a_running_deployment(
    state_url: str, troth_env: Path, tmp_path: Path
) -> None:
    result = _prove_live(MD, state_url, tmp_path / "p")
    assert "denied" in _reason(result, "consent withdrawal", passed=True)
    assert _probe_verdict(result, "MD-3") is Status.kept
    _reason(result, "no third-party sharing", passed=True)
    assert _probe_verdict(result, "MD-7") is Status.kept
    doc = json.loads((tmp_path / "p" / "report.json").read_text())
    assert doc["probes"][0]["passed"] is True


@pytest.fixture
def plus_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The Plus example's stores: demo data in SQLite, named by TROTH_CONN_PLUS_APP."""
    url = f"sqlite:///{tmp_path / 'plus.db'}"
    create_demo_db(url, "plus", customers=5)
    monkeypatch.setenv("TROTH_CONN_PLUS_APP", url)
    return url


def test_plus_probes_pass_and_touch_no_real_row(
    sqlite_url: str, troth_env: Path, tmp_path: Path, plus_store: str
) -> None:
    """PL-8: the courier gets only the address fields of a canary record; PL-12: the canary's
    erasure completes through the request API and the workers before its due date. The stores
    hold the same rows afterwards."""
    before = _rows(plus_store)
    result = _prove_live(PLUS, sqlite_url, tmp_path / "p")
    courier = _reason(result, "disclosure: courier_service", passed=True)
    assert "city, country, street, zip" in courier
    erasure = _reason(result, "erasure through the request API", passed=True)
    assert "no row reached" in erasure
    assert _probe_verdict(result, "PL-12") is Status.kept
    assert _rows(plus_store) == before


def test_an_erasure_probe_whose_canary_reaches_a_row_files_nothing(
    troth_env: Path, tmp_path: Path, plus_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from troth.project import load_project
    from troth.prove import erasure_probe

    canary = "troth-canary-0000@canary.invalid"
    monkeypatch.setattr(erasure_probe, "canary_email", lambda: canary)
    engine = sa.create_engine(plus_store)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE accounts SET email = :e WHERE id = 1"), {"e": canary})
    engine.dispose()
    calls: list[str] = []

    def post(path: str, body: dict[str, object]) -> dict[str, object]:
        calls.append(path)
        return {}

    (probe,) = erasure_probe.erasure_probes(
        load_project(PLUS), Settings.from_env(), None, post, lambda p: {}
    )
    assert probe.passed is False
    assert "reaches" in probe.reason
    assert "not filed" in probe.reason
    assert calls == []
    assert _rows(plus_store)["accounts"] == 5


_REQUEST = {
    "id": "0" * 32,
    "status": "completed",
    "due_at": "2999-01-01T00:00:00",
    "updated_at": "2000-01-01T00:00:00",
    "result": {"rows": 3},
}


class _KeepsAllowing(BaseHTTPRequestHandler):
    """A broken deployment: records events, but its decisions ignore withdrawals, it discloses
    every field it is sent, and its erasure of the canary changes rows."""

    def do_GET(self) -> None:
        self._answer(_REQUEST)

    def do_POST(self) -> None:
        sent = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        body: dict[str, object] = {"events": []}
        if self.path.endswith("/decisions"):
            body = {"allowed": True}
        elif self.path.endswith("/disclosures"):
            body = {"disclosures": [{"fields": r} for r in sent["records"]]}
        elif "/requests" in self.path:
            body = _REQUEST
        self._answer(body)

    def _answer(self, body: object) -> None:
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
    assert "still allowed" in _reason(result, "consent withdrawal", passed=False)
    assert _probe_verdict(result, "MD-3") is Status.broken
    assert result.status_of("MD-3") is Status.broken
    assert "was accepted" in _reason(result, "no third-party sharing", passed=False)
    assert result.status_of("MD-7") is Status.broken


def test_plus_probes_fail_on_a_broken_deployment_with_the_reason(
    troth_env: Path, tmp_path: Path, broken: str, plus_store: str
) -> None:
    settings = Settings.from_env()
    result = prove(PLUS, output=tmp_path / "p", settings=settings, live=broken, api_key="k")
    courier = _reason(result, "disclosure: courier_service", passed=False)
    assert "beyond what the policy allows" in courier
    assert "email" in courier
    erasure = _reason(result, "erasure through the request API", passed=False)
    assert "changed 3 row(s)" in erasure
    assert _probe_verdict(result, "PL-8") is Status.broken
    assert _probe_verdict(result, "PL-12") is Status.broken


def test_live_needs_a_key(troth_env: Path, tmp_path: Path) -> None:
    from troth.cli import main

    env_key = os.environ.pop("TROTH_API_KEY", None)
    try:
        assert main(["prove", str(MD), "-o", str(tmp_path / "p"), "--live", "http://x"]) == 2
    finally:
        if env_key is not None:
            os.environ["TROTH_API_KEY"] = env_key

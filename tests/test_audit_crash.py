"""A ``troth serve`` process killed (SIGKILL) in the middle of consent writes, ten times, on each
state engine: every stored event has its audit entry, every acknowledged event is stored, and
``troth audit verify`` passes (chain, head, anchor, audited rows).

10,000 writes in all, 1,000 per run, from concurrent clients so that the server's group commit
batches them; each run is killed at a random point after 20-80 % of its writes were acknowledged.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from servers import start_serve, troth_command
from troth.audit.coverage import missing_entries
from troth.config import Settings
from troth.store import open_store
from troth.web.apikeys import create_key

ROOT = Path(__file__).resolve().parent.parent
MD = ROOT / "examples" / "mydigisoft"
RUNS = 10
WRITES = 1_000  # per run
CLIENTS = 8


def _start(url: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    return start_serve(MD, url, env)


def _run(base: str, key: str, run: int, proc: subprocess.Popen[bytes], acked: set[str]) -> None:
    """Post WRITES events from CLIENTS threads; SIGKILL the server after a random share."""
    kill_at = random.Random(run).randint(WRITES // 5, WRITES * 4 // 5)
    lock = threading.Lock()
    done = [0]
    todo = iter(range(WRITES))

    def writer() -> None:
        with httpx.Client(base_url=base, timeout=30, headers={"X-API-Key": key}) as client:
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                body = {"subject": f"user{run}-{i}@example.com", "consent_id": "marketing_email",
                        "kind": "given"}  # fmt: skip
                try:
                    r = client.post("/api/v1/consent/events", json=body)
                except httpx.TransportError:
                    return  # the server was killed
                assert r.status_code == 201, r.text
                with lock:
                    acked.add(r.json()["events"][0]["event_id"])
                    done[0] += 1
                    if done[0] == kill_at:
                        os.kill(proc.pid, signal.SIGKILL)

    threads = [threading.Thread(target=writer) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_killed_server_leaves_every_event_with_its_audit_entry(
    state_url: str, troth_env: Path
) -> None:
    settings = Settings.from_env().with_database(state_url)
    engine = open_store(settings)
    key = create_key(engine, settings.secret_key, ["consent:write"])
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    acked: set[str] = set()
    for run in range(RUNS):
        proc, base = _start(state_url, env)
        try:
            _run(base, key, run, proc, acked)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    with engine.connect() as conn:
        stored = {str(u) for (u,) in conn.exec_driver_sql("SELECT event_uid FROM consent_event")}
        assert missing_entries(conn) == []
    assert acked <= stored  # nothing acknowledged was lost
    assert len(acked) >= RUNS * WRITES // 5
    verified = subprocess.run(
        [troth_command(), "audit", "verify", "--db", state_url],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ok: ")
    engine.dispose()

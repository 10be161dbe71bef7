"""Two `troth worker` processes on PostgreSQL state run queued requests exactly once; one is killed
with SIGKILL in the middle of an erasure and the other finishes it. The stores end identical (row
hashes) to a serial run through troth.dsr.api, and the ledger chain verifies. At the issue's
scale: 200 queued requests across both examples (100 each, each example with its own state DB,
queue and pair of workers: a worker serves one project)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from workerkit import EXAMPLES, KEY, row_hashes

from troth.audit.verify import verify
from troth.config import Settings
from troth.datamap.demo import create_demo_db
from troth.dsr import api
from troth.dsr.execute import CRASH_ENV
from troth.dsr.filing import file_request
from troth.dsr.identity import Identity
from troth.dsr.requests import Kind
from troth.store import open_store, outbox

pytestmark = pytest.mark.postgres
PROJECT = EXAMPLES / "mydigisoft"
CONN_ENV = "TROTH_CONN_MYDIGISOFT_SHOP"
#: example -> (its connection's variable, the demo's e-mail prefix)
EXAMPLE = {
    "mydigisoft": ("TROTH_CONN_MYDIGISOFT_SHOP", "customer"),
    "plus": ("TROTH_CONN_PLUS_APP", "owner"),
}
#: per example: erasures first (the first worker meets one early), then access requests
ERASE = range(1, 41)
ACCESS = range(41, 101)
CUSTOMERS = 120


def _worker(
    env: dict[str, str], name: str, log: Path, project: Path = PROJECT
) -> subprocess.Popen[bytes]:
    from servers import troth_command

    return subprocess.Popen(
        [
            troth_command(),
            "worker",
            str(project),
            "--heartbeat",
            "1",
            "--stalled-after",
            "3",
            "--name",
            name,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def _identity(n: int, prefix: str = "customer") -> list[Identity]:
    return [Identity("email", f"{prefix}{n}@example.com")]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("example", sorted(EXAMPLE))
def test_two_workers_one_killed_mid_erasure_finish_every_request_once(
    example: str, pg_db: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = EXAMPLES / example
    conn_env, prefix = EXAMPLE[example]
    state, shop, ref_shop = pg_db(), pg_db(), pg_db()
    create_demo_db(shop, example, customers=CUSTOMERS)
    create_demo_db(ref_shop, example, customers=CUSTOMERS)
    home = tmp_path / "home"
    monkeypatch.setenv("TROTH_HOME", str(home))
    monkeypatch.setenv("TROTH_SECRET_KEY", KEY)
    monkeypatch.setenv("TROTH_DATABASE_URL", state)
    settings = Settings.from_env()
    engine = open_store(settings)
    ids = {}
    for n in [*ERASE, *ACCESS]:  # erasures first: the first worker meets one early
        kind = Kind.access if n in ACCESS else Kind.erasure
        info = file_request(
            engine,
            settings.secret_key,
            project,
            kind,
            _identity(n, prefix),
            actor="test",
            verified=True,
            approve=True,
        )
        ids[info.id] = n
    assert outbox.pending(engine) == len(ids) * 3  # received, verified, approved

    env = {**os.environ, conn_env: shop, "TROTH_DATABASE_URL": state}
    doomed = _worker({**env, CRASH_ENV: "store:1"}, "doomed", tmp_path / "a.log", project)
    time.sleep(0.5)
    other = _worker(env, "other", tmp_path / "b.log", project)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if _statuses(engine, list(ids)) == {"completed"}:
                break
            assert other.poll() is None, (tmp_path / "b.log").read_text()
            time.sleep(0.5)
        assert doomed.wait(10) == -signal.SIGKILL, (tmp_path / "a.log").read_text()
        assert _statuses(engine, list(ids)) == {"completed"}
    finally:
        for p in (doomed, other):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()

    # exactly once: one completion per request in the ledger; the killed erasure resumed
    with engine.connect() as c:
        rows = c.execute(
            sa.text("SELECT kind, data FROM audit_entry WHERE kind LIKE 'dsr.%' ORDER BY seq")
        ).all()
    done = Counter(json.loads(d)["request_id"] for k, d in rows if k == "dsr.completed")
    assert done == dict.fromkeys(ids, 1)
    resumed = [json.loads(d) for k, d in rows if k == "dsr.running" and '"resumed"' in d]
    assert len(resumed) == 1
    assert ids[resumed[0]["request_id"]] in ERASE
    assert outbox.pending(engine) == 0
    with engine.connect() as c:  # sealed identity values end with their requests
        assert c.execute(sa.text("SELECT count(*) FROM dsr_sealed")).scalar() == 0
    for rid, n in ids.items():
        if n in ACCESS:
            assert (home / "exports" / f"{rid}.zip").is_file()
    assert verify(engine, settings=settings).ok

    # a serial run through the DSR API on a copy of the store ends the same
    ref_settings = settings.with_database(f"sqlite:///{tmp_path / 'ref.db'}")
    for n in ERASE:
        res = api.erase(
            project, _identity(n, prefix), settings=ref_settings, env={conn_env: ref_shop}
        )
        assert res.ok
    assert row_hashes(shop) == row_hashes(ref_shop)
    engine.dispose()


def _statuses(engine: sa.Engine, ids: list[str]) -> set[str]:
    with engine.connect() as c:
        rows = c.execute(
            sa.text("SELECT DISTINCT status FROM dsr_request WHERE id = ANY(:ids)"), {"ids": ids}
        )
        return {str(r[0]) for r in rows}


def test_serve_with_a_queue_leaves_the_jobs_to_troth_worker(
    pg_db: Callable[[], str], tmp_path: Path
) -> None:
    import httpx

    from servers import start_serve
    from troth.web.apikeys import create_key

    state, shop = pg_db(), pg_db()
    create_demo_db(shop, "mydigisoft", customers=5)
    env = {
        **os.environ,
        "TROTH_HOME": str(tmp_path / "home"),
        "TROTH_SECRET_KEY": KEY,
        "TROTH_DATABASE_URL": state,
        "TROTH_QUEUE_URL": state,
        CONN_ENV: shop,
    }
    settings = Settings.from_env(env)
    engine = open_store(settings)
    key = create_key(engine, settings.secret_key, ["requests:read", "requests:write"])
    serve, base = start_serve(PROJECT, state, env)
    worker: subprocess.Popen[bytes] | None = None
    headers = {"Authorization": f"Bearer {key}"}
    try:
        body = {
            "type": "erasure",
            "identities": {"email": "customer2@example.com"},
            "verified": True,
        }
        rid = httpx.post(f"{base}/api/v1/requests", json=body, headers=headers).json()["id"]
        approved = httpx.post(f"{base}/api/v1/requests/{rid}/approve", headers=headers)
        assert approved.json()["status"] == "approved"
        time.sleep(2)  # troth serve runs no jobs when a queue is configured
        assert httpx.get(f"{base}/api/v1/requests/{rid}", headers=headers).json()["status"] == (
            "approved"
        )
        worker = _worker(env, "solo", tmp_path / "w.log")
        deadline = time.monotonic() + 60
        status = ""
        while time.monotonic() < deadline and status != "completed":
            status = httpx.get(f"{base}/api/v1/requests/{rid}", headers=headers).json()["status"]
            time.sleep(0.2)
        assert status == "completed", (tmp_path / "w.log").read_text()
    finally:
        for p in (worker, serve):
            if p is not None:
                p.terminate()
                p.wait(30)
        engine.dispose()

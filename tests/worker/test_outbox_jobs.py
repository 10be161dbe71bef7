"""The outbox and the jobs: a state change and its job commit together; the embedded worker runs
approved requests once, leaves unapproved ones alone, and retries a store that is down."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from workerkit import EXAMPLES, KEY

from troth.config import Settings
from troth.datamap.demo import create_demo_db
from troth.dsr.execute import CRASH_ENV
from troth.dsr.filing import file_request
from troth.dsr.identity import Identity
from troth.dsr.requests import Kind, Requests, Status
from troth.dsr.sealed import unseal
from troth.errors import RequestError
from troth.store import open_store, outbox
from troth.worker.embedded import drain
from troth.worker.jobs import Context

PROJECT = EXAMPLES / "mydigisoft"
CONN_ENV = "TROTH_CONN_MYDIGISOFT_SHOP"


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    shop = f"sqlite:///{tmp_path / 'shop.db'}"
    create_demo_db(shop, "mydigisoft", customers=10)
    monkeypatch.setenv(CONN_ENV, shop)
    monkeypatch.setenv("TROTH_SECRET_KEY", KEY)
    settings = Settings.from_env().with_database(f"sqlite:///{tmp_path / 'state.db'}")
    return Context(PROJECT, settings)


def _file(ctx: Context, n: int, kind: Kind = Kind.erasure, *, approve: bool = True) -> str:
    info = file_request(
        ctx.engine,
        ctx.settings.secret_key,
        PROJECT,
        kind,
        [Identity("email", f"customer{n}@example.com")],
        actor="test",
        verified=True,
        approve=approve,
    )
    return info.id


def _topics(ctx: Context) -> list[tuple[str, str | None]]:
    with ctx.engine.connect() as c:
        return [
            (r.topic, r.sent_at)
            for r in c.execute(sa.select(outbox.TABLE).order_by(outbox.TABLE.c.id))
        ]


def test_each_status_change_commits_with_its_outbox_row(ctx: Context) -> None:
    rid = _file(ctx, 1, approve=False)
    assert len(_topics(ctx)) == 2  # received, identity_verified
    requests = Requests(ctx.engine, ctx.settings.secret_key)
    with pytest.raises(RequestError):  # a refused change writes neither the status nor a job
        requests.transition(rid, Status.completed)
    assert len(_topics(ctx)) == 2
    assert requests.get(rid).status == "identity_verified"


def test_filing_twice_returns_the_open_request(ctx: Context) -> None:
    assert _file(ctx, 2) == _file(ctx, 2)


def test_filing_refuses_an_identity_the_map_does_not_know(ctx: Context) -> None:
    with pytest.raises(RequestError, match="identity"):
        file_request(
            ctx.engine,
            ctx.settings.secret_key,
            PROJECT,
            Kind.access,
            [Identity("passport", "X1")],
            actor="test",
            verified=True,
        )
    assert _topics(ctx) == []


def test_embedded_worker_runs_approved_requests_once(ctx: Context) -> None:
    erase_id, access_id = _file(ctx, 3), _file(ctx, 4, Kind.access)
    waiting = _file(ctx, 5, approve=False)
    assert drain(ctx) == 8
    requests = Requests(ctx.engine, ctx.settings.secret_key)
    assert requests.get(erase_id).status == "completed"
    assert requests.get(access_id).status == "completed"
    assert requests.get(waiting).status == "identity_verified"  # waits for a reviewer
    assert unseal(ctx.engine, ctx.settings.secret_key, erase_id) is None  # values forgotten
    assert unseal(ctx.engine, ctx.settings.secret_key, waiting) is not None
    # the run's own changes (running, completed) are relayed too, and ask for nothing
    assert drain(ctx) == 4
    assert drain(ctx) == 0
    assert all(sent for _, sent in _topics(ctx))
    with ctx.engine.connect() as c:
        runs = c.execute(
            sa.text("SELECT count(*) FROM audit_entry WHERE kind = 'dsr.running'")
        ).scalar()
    assert runs == 2


def test_a_store_that_is_down_is_retried_later(
    ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONN_ENV, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    rid = _file(ctx, 6)
    drain(ctx)
    info = Requests(ctx.engine, ctx.settings.secret_key).get(rid)
    assert info.status == "failed"
    assert info.retryable
    with ctx.engine.connect() as c:
        row = c.execute(sa.select(outbox.TABLE).where(outbox.TABLE.c.error.is_not(None))).one()
    assert row.not_before is not None  # back-off
    assert row.attempts == 1
    assert "down" in row.error or "connect" in row.error
    assert drain(ctx) == 2  # the run's own changes (running, failed); the job not before its time
    assert drain(ctx) == 0


@pytest.mark.postgres
def test_a_relay_killed_between_enqueue_and_mark_loses_no_job(
    pg_db: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from servers import troth_command

    state, shop = pg_db(), pg_db()
    create_demo_db(shop, "mydigisoft", customers=10)
    monkeypatch.setenv("TROTH_SECRET_KEY", KEY)
    settings = Settings.from_env().with_database(state)
    engine = open_store(settings)
    rid = file_request(
        engine,
        settings.secret_key,
        PROJECT,
        Kind.erasure,
        [Identity("email", "customer7@example.com")],
        actor="test",
        verified=True,
        approve=True,
    ).id
    env = {**os.environ, CONN_ENV: shop, "TROTH_DATABASE_URL": state}
    cmd = [troth_command(), "worker", str(PROJECT), "--relay-lease", "1", "--heartbeat", "1"]
    cmd += ["--stalled-after", "3"]
    # the relay dies after handing the job (third row: approved) over, before marking it sent
    first = subprocess.Popen(cmd, env={**env, CRASH_ENV: "relay:3"}, stderr=subprocess.DEVNULL)
    assert first.wait(60) == -signal.SIGKILL
    assert outbox.pending(engine) == 3
    second = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    requests = Requests(engine, settings.secret_key)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (
            requests.get(rid).status != "completed" or outbox.pending(engine)
        ):
            time.sleep(0.3)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert requests.get(rid).status == "completed"
    assert outbox.pending(engine) == 0
    with engine.connect() as c:
        runs = c.execute(
            sa.text("SELECT count(*) FROM audit_entry WHERE kind = 'dsr.completed'")
        ).scalar()
    assert runs == 1
    engine.dispose()


def test_the_team_can_run_a_failed_request_again(
    ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from troth.dsr.filing import requeue
    from troth.errors import RequestStateError

    good = os.environ[CONN_ENV]
    monkeypatch.setenv(CONN_ENV, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    rid = _file(ctx, 8)
    drain(ctx)
    requests = Requests(ctx.engine, ctx.settings.secret_key, actor="apikey:abc")
    assert requests.get(rid).status == "failed"
    monkeypatch.setenv(CONN_ENV, good)  # the store is back
    requeue(requests, rid)
    while drain(ctx):
        pass
    assert requests.get(rid).status == "completed"
    with pytest.raises(RequestStateError, match="not failed"):
        requeue(requests, rid)
    with ctx.engine.connect() as c:
        actors = (
            c.execute(sa.text("SELECT actor FROM audit_entry WHERE kind = 'dsr.retry'"))
            .scalars()
            .all()
        )
    assert actors == ["apikey:abc"]

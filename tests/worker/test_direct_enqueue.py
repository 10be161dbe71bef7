"""Transactional enqueue: with the task queue in the state database, a state change defers its
jobs in its own transaction (no relay hop); elsewhere, or when the hand-over fails, the outbox
row waits for the relay as before."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from workerkit import EXAMPLES, KEY

from troth.config import Settings
from troth.dsr.filing import file_request
from troth.dsr.identity import Identity
from troth.dsr.requests import Kind
from troth.store import open_store, outbox
from troth.worker import direct
from troth.worker.engine import ensure_schema

PROJECT = EXAMPLES / "mydigisoft"


@pytest.fixture
def state(pg_db: Callable[[], str], monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    """A PostgreSQL state DB that is also the queue, the hand-over installed in this process."""
    url = pg_db()
    monkeypatch.setenv("TROTH_SECRET_KEY", KEY)
    engine = open_store(Settings.from_env().with_database(url))
    assert direct.install(url, url)
    try:
        yield engine
    finally:
        outbox.hand_over_in_transaction(url, None)
        engine.dispose()


def _jobs(engine: sa.Engine) -> list[tuple[str, str | None, str]]:
    sql = "SELECT task_name, lock, status FROM procrastinate_jobs ORDER BY id"
    with engine.connect() as c:
        return [tuple(r) for r in c.exec_driver_sql(sql)]  # type: ignore[misc]


def _retry(engine: sa.Engine, request_id: str, *, fail: bool = False) -> None:
    with engine.begin() as conn:
        outbox.emit(conn, "dsr.retry", {"request_id": request_id, "type": "access"})
        if fail:
            raise RuntimeError("the state change fails")


@pytest.mark.postgres
def test_a_job_is_deferred_in_the_transaction_of_its_state_change(state: sa.Engine) -> None:
    ensure_schema(state.url.render_as_string(hide_password=False))
    with pytest.raises(RuntimeError):
        _retry(state, "r-rolled-back", fail=True)
    assert _jobs(state) == []  # rolled back together: no job, no row
    with state.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(outbox.TABLE)).scalar() == 0
    _retry(state, "r1")
    _retry(state, "r1")  # a copy waits already: one job (its queueing lock), both rows sent
    assert _jobs(state) == [("troth.run_request", "r1", "todo")]
    assert outbox.pending(state) == 0


@pytest.mark.postgres
def test_an_approved_request_is_queued_with_its_approval(state: sa.Engine) -> None:
    ensure_schema(state.url.render_as_string(hide_password=False))
    rid = file_request(
        state,
        Settings.from_env().secret_key,
        PROJECT,
        Kind.access,
        [Identity("email", "customer3@example.com")],
        actor="test",
        verified=True,
        approve=True,
    ).id
    # the seal written in the same transaction is seen: the run is queued, nothing left to relay
    assert ("troth.run_request", rid, "todo") in _jobs(state)
    assert outbox.pending(state) == 0


@pytest.mark.postgres
def test_without_the_queue_tables_the_row_waits_for_the_relay(state: sa.Engine) -> None:
    _retry(state, "r2")  # the queue's schema is not there yet: the state change still commits
    assert outbox.pending(state) == 1


def test_only_the_state_database_itself_is_a_queue_in_the_transaction(tmp_path: Path) -> None:
    pg = "postgresql+psycopg://u@db.example.com:5432/troth"
    assert direct.same_database(pg, "postgresql://u:pw@db.example.com/troth")
    assert not direct.same_database(pg, "postgresql://u@db.example.com:5432/queue")
    assert not direct.same_database(pg, "postgresql://u@other.example.com:5432/troth")
    assert not direct.same_database(f"sqlite:///{tmp_path / 's.db'}", pg)
    assert not direct.install(f"sqlite:///{tmp_path / 's.db'}", pg)


@pytest.mark.postgres
def test_serve_with_the_queue_in_its_state_db_defers_in_the_transaction(
    state: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from troth.cli.serve import _embedded_jobs

    url = state.url.render_as_string(hide_password=False)
    outbox.hand_over_in_transaction(url, None)
    monkeypatch.setenv("TROTH_QUEUE_URL", url)
    settings = Settings.from_env().with_database(url)
    assert _embedded_jobs(PROJECT, settings) is None  # the workers run the jobs
    ensure_schema(url)
    _retry(state, "r3")
    assert _jobs(state) == [("troth.run_request", "r3", "todo")]
    assert outbox.pending(state) == 0

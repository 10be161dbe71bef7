"""The embedded jobs thread runs a job this process writes at once, not at its next poll."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from troth.store import open_store, outbox
from troth.store.db import JOBS_WRITTEN, connect
from troth.worker import embedded


def test_a_transaction_that_writes_a_job_sets_the_wakeup(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    JOBS_WRITTEN.clear()
    with connect(engine) as conn, conn.begin():
        conn.exec_driver_sql("SELECT 1")
    assert not JOBS_WRITTEN.is_set()  # no job: no wake-up
    with connect(engine) as conn, conn.begin():
        outbox.emit(conn, "test.topic", {"id": 1})
        assert not JOBS_WRITTEN.is_set()  # not before the transaction ends
    assert JOBS_WRITTEN.is_set()
    with connect(engine) as conn:
        assert not conn.info.get("troth_jobs_written")  # the pooled connection forgets it
    engine.dispose()


def _counting_worker(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[embedded.EmbeddedWorker, threading.Semaphore]:
    """A started jobs thread on *engine* polling every 10 minutes, whose passes release the
    semaphore (no job is run)."""
    drained = threading.Semaphore(0)

    def drain(_ctx: Any, **_kw: Any) -> int:
        drained.release()
        return 0

    monkeypatch.setattr(embedded, "drain", drain)
    monkeypatch.setattr(embedded, "deadline_tick", lambda _ctx: None)
    worker = embedded.EmbeddedWorker(
        SimpleNamespace(engine=engine),  # type: ignore[arg-type]
        poll_s=600,
        retention=False,
    )
    worker.start()
    return worker, drained


def test_the_jobs_thread_wakes_on_a_written_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    worker, drained = _counting_worker(engine, monkeypatch)
    try:
        assert drained.acquire(timeout=10)  # the first pass, then it waits up to 10 minutes
        with connect(engine) as conn, conn.begin():
            outbox.emit(conn, "test.topic", {"id": 1})
        assert drained.acquire(timeout=10)  # woken by the job, long before the poll
    finally:
        worker.stop()
        engine.dispose()


def test_the_jobs_thread_wakes_on_a_job_another_process_writes(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL state: a job written by another process (a `troth serve --workers` process,
    here a child Python) wakes the jobs thread through the outbox's NOTIFY, long before its
    poll."""
    import subprocess
    import sys

    engine = open_store(pg_url)
    worker, drained = _counting_worker(engine, monkeypatch)
    try:
        assert drained.acquire(timeout=10)  # the first pass
        listening = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN troth_outbox%%'"
        for _ in range(100):  # the listener is connected
            with engine.connect() as c:
                if c.exec_driver_sql(listening).scalar():
                    break
            time.sleep(0.1)
        else:
            raise AssertionError("the jobs thread's listener never connected")
        time.sleep(0.2)
        while drained.acquire(blocking=False):  # its first wake-up (rows written before)
            pass
        code = (
            "import sys\n"
            "from troth.store import open_store, outbox\n"
            "from troth.store.db import connect\n"
            "with connect(open_store(sys.argv[1])) as c, c.begin():\n"
            "    outbox.emit(c, 'test.topic', {'id': 1})\n"
        )
        subprocess.run([sys.executable, "-c", code, pg_url], check=True, timeout=60)
        assert drained.acquire(timeout=10)  # woken by the other process's job
    finally:
        worker.stop()
        engine.dispose()


def test_a_transaction_notifies_the_workers_once_however_many_jobs_it_writes(
    pg_url: str,
) -> None:
    """Three jobs in one transaction: one NOTIFY statement (the listener gets one wake-up);
    the next transaction on the same connection, and a savepoint, notify again."""
    import psycopg

    engine = open_store(pg_url)
    sent: list[str] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("NOTIFY"):
            sent.append(statement)

    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as listener:
        listener.execute("LISTEN troth_outbox")
        with connect(engine) as conn:
            with conn.begin():
                for i in range(3):
                    outbox.emit(conn, "test.topic", {"id": i})
            assert len(sent) == 1
            got = list(listener.notifies(timeout=5, stop_after=1))
            assert [n.channel for n in got] == ["troth_outbox"]
            with conn.begin():
                outbox.emit(conn, "test.topic", {"id": 3})
                with conn.begin_nested():
                    outbox.emit(conn, "test.topic", {"id": 4})
            assert len(sent) == 3
    engine.dispose()

"""Anchors written in the background (``troth serve``): the committing caller does not wait for
the anchor's fsync, the anchor still reaches the newest head in commit order, and turning it off
writes what is queued."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from troth.audit import Event, Ledger, LedgerConfig, verify
from troth.audit.anchor import AnchorFile
from troth.audit.ledger import anchor_in_background, flush_background_anchors
from troth.store import open_store


@pytest.fixture
def engine(state_url: str) -> Iterator[sa.Engine]:
    eng = open_store(state_url)
    yield eng
    anchor_in_background(False)
    eng.dispose()


def _anchored(engine: sa.Engine) -> int:
    cfg = LedgerConfig.of(engine)
    anchor, problem = cfg.anchors.read(cfg.db)
    assert problem is None
    return anchor.seq if anchor else 0


def _head(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT seq FROM audit_head").scalar_one())


def test_a_commit_returns_before_its_anchor_is_written(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = Ledger(engine)
    ledger.append("retention.run", {"rows": 1}, actor="cli")  # anchored by this thread
    assert _anchored(engine) == 1
    release = threading.Event()
    writing = threading.Event()
    real = AnchorFile.advance

    def slow(self: AnchorFile, anchor: Any, **kw: Any) -> bool:
        writing.set()
        assert release.wait(10)
        return real(self, anchor, **kw)

    monkeypatch.setattr(AnchorFile, "advance", slow)
    anchor_in_background(True)
    ledger.append("retention.run", {"rows": 2}, actor="cli")  # returns with the write held
    assert writing.wait(10)
    assert _head(engine) == 2
    assert _anchored(engine) == 1  # not written yet, and the caller went on
    release.set()
    flush_background_anchors()
    assert _anchored(engine) == 2


def test_many_threads_and_ledgers_end_anchored_at_the_newest_head(engine: sa.Engine) -> None:
    anchor_in_background(True)

    def write(n: int) -> None:
        ledger = Ledger(engine)  # a ledger per caller, as requests make them
        for i in range(10):
            ledger.append_many([Event("retention.run", {"rows": n * 100 + i}, "cli")])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    anchor_in_background(False)  # writes what is queued
    assert _head(engine) == 40
    assert _anchored(engine) == 40
    result = verify(engine)
    assert result.ok
    assert result.anchored == 40


def test_without_the_background_the_caller_writes_the_anchor(engine: sa.Engine) -> None:
    anchor_in_background(True)
    anchor_in_background(False)
    before = threading.active_count()
    Ledger(engine).append("retention.run", {"rows": 1}, actor="cli")
    assert _anchored(engine) == 1  # at once, by this thread
    assert threading.active_count() == before

"""The workers' retention job: each tick sweeps the rules due by their schedule, reading each
rule's last run from the state DB (so any worker, or a restarted one, knows what already ran)."""

from __future__ import annotations

from pathlib import Path

from tests.retention.conftest import FIXTURE, ids

from troth.config import Settings
from troth.worker.embedded import EmbeddedWorker
from troth.worker.jobs import Context, sweep_retention


def test_a_tick_sweeps_due_rules_once_across_workers(sqlite_shop: str, troth_env: Path) -> None:
    first = Context(FIXTURE, Settings.from_env())
    assert "sessions" in sweep_retention(first)
    assert 2 not in ids(sqlite_shop, "sessions")
    other = Context(FIXTURE, Settings.from_env())  # another worker, or this one restarted
    assert sweep_retention(other) == []


def test_troth_serve_jobs_include_the_retention_scheduler(
    sqlite_shop: str, troth_env: Path
) -> None:
    jobs = EmbeddedWorker(Context(FIXTURE, Settings.from_env()))
    assert jobs.scheduler is not None
    assert "sessions" in jobs.scheduler.run_pending()
    assert 2 not in ids(sqlite_shop, "sessions")

"""The sweeper: set-based, batched deletes and anonymisations in foreign-key-safe order, with
evidence.

A run prepares every binding exactly as the planner does (:func:`troth.retention.plan.prepare`:
the same predicates, the same order, children before parents), then for each binding counts (one
``SELECT``), deletes in batches (leaves first in a self-referencing table), and anonymises the
rows that must stay because a staying row still points at them (or because the rule anonymises),
one short transaction per batch (:mod:`troth.retention.batches` has the statements for each key
shape). The predicate is evaluated again at write time (a person who logged in meanwhile is not
deleted). Re-running is a no-op: deleted rows are gone and anonymised rows no longer match. A
store that goes down between batches stops the run cleanly: what was done is recorded (state +
ledger), and the next run finishes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.audit import Ledger
from troth.audit.hashing import utc_timestamp
from troth.errors import ConnectorError, TrothError
from troth.project import Project
from troth.retention import DEFAULT_BATCH_SIZE
from troth.retention.batches import Phase, Progress, measure
from troth.retention.bind import Binding
from troth.retention.holds import active_person_holds
from troth.retention.models import RetentionProgress, RetentionRun
from troth.retention.plan import Stores, prepare, utc_now
from troth.retention.query import BindingSql
from troth.store import connect


@dataclass
class SweepResult:
    """What a run did to one binding (rule x table): the evidence written to the ledger."""

    rule_id: str
    dataset: str
    table: str
    action: str
    cutoff: str
    holds: list[str]
    where: list[str] = field(default_factory=list)
    #: rows kept per hold: ``{"hold", "source", "basis", "reason", "rows"}`` (never a value)
    kept: list[dict[str, Any]] = field(default_factory=list)
    deleted: int = 0
    anonymised: int = 0
    held: int = 0
    expected: int = 0
    batches: int = 0
    longest_batch_ms: float = 0.0
    duration_ms: float = 0.0
    status: str = "running"

    @property
    def key(self) -> str:
        return f"{self.rule_id}:{self.dataset}.{self.table}"

    def evidence(self, run_id: int | None) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "rule_id": self.rule_id,
            "dataset": self.dataset,
            "table": self.table,
            "action": self.action,
            "cutoff": self.cutoff,
            "holds": self.holds,
            "where": self.where,
            "rows_deleted": self.deleted,
            "rows_anonymised": self.anonymised,
            "rows_held": self.held,
            "kept": self.kept,
            "batches": self.batches,
            "longest_batch_ms": round(self.longest_batch_ms, 3),
            "duration_ms": round(self.duration_ms, 3),
            "status": self.status,
        }


@dataclass
class RunReport:
    run_id: int | None
    status: str  # done, interrupted, failed, dry_run
    now: datetime
    results: list[SweepResult] = field(default_factory=list)
    error: TrothError | None = None

    @property
    def exit_code(self) -> int:
        return self.error.exit_code if self.error else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "now": self.now.isoformat(),
            "results": [asdict(r) for r in self.results],
            "error": self.error.one_line() if self.error else None,
        }


#: called after each committed batch (progress bars; tests inject a store failure here)
BatchHook = Callable[[Binding, SweepResult], None]


class Sweeper:
    """Runs the retention rules of a project against its stores."""

    def __init__(
        self,
        project: Project,
        stores: Stores,
        state: Engine,
        *,
        key: bytes,
        rules: list[str] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        dry_run: bool = False,
        now: datetime | None = None,
        actor: str = "cli",
        on_batch: BatchHook | None = None,
        on_start: Callable[[Binding, SweepResult], None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.project = project
        self.stores = stores
        self.state = state
        self.key = key
        self.rules = rules
        self.batch_size = batch_size
        self.dry_run = dry_run
        self.now = now or utc_now()
        self.actor = actor
        self.on_batch = on_batch
        self.on_start = on_start
        self.ledger = Ledger(state)

    def run(self) -> RunReport:
        person = active_person_holds(self.state)
        prep = prepare(
            self.project, self.stores, key=self.key, rules=self.rules, now=self.now, person=person
        )
        rule_ids = sorted({q.b.rule.id for q in prep.sqls})
        report = RunReport(None, "dry_run" if self.dry_run else "running", self.now)
        if not self.dry_run:
            report.run_id = self._start_run(rule_ids)
        current: SweepResult | None = None
        try:
            for q in prep.sqls:
                b = q.b
                current = SweepResult(
                    b.rule.id,
                    b.dataset,
                    b.table,
                    b.action.value,
                    q.cutoff.isoformat(),
                    [h.id for h in b.holds],
                    [c.describe() for c in b.conditions],
                )
                report.results.append(current)
                self._sweep(b, q, current)
        except ConnectorError as exc:
            report.error = exc
            report.status = "interrupted" if exc.retryable else "failed"
            if current is not None and current.status == "running":
                current.status = report.status
                self._record(report.run_id, current)
        else:
            report.status = "dry_run" if self.dry_run else "done"
        if not self.dry_run:
            self._finish_run(report)
        return report

    # --- one binding ------------------------------------------------------------------------

    def _sweep(self, b: Binding, q: BindingSql, result: SweepResult) -> None:
        started = time.perf_counter()
        conn = self.stores.get(b.connection)
        counts = measure(q, conn)
        result.held = counts.held
        result.kept = [{**ref.as_dict(), "rows": n} for ref, n in counts.kept if n]
        result.expected = counts.delete + counts.anonymise
        if self.on_start:
            self.on_start(b, result)
        if self.dry_run:
            result.deleted, result.anonymised = counts.delete, counts.anonymise
            result.status = "dry_run"
            return
        phases = [
            (q.delete_predicate(), True, counts.delete),
            (q.anonymise_predicate(), False, counts.anonymise),
        ]
        for pred, delete, expected in phases:
            if pred is None or not expected:
                continue
            progress = Progress(on_batch=self._batch_hook(b, result, delete, started))
            Phase(q, pred, delete=delete, batch_size=self.batch_size).run(conn, counts, progress)
        result.duration_ms = (time.perf_counter() - started) * 1000
        result.status = "done"
        self._record(None, result, final=True)

    def _batch_hook(
        self, b: Binding, result: SweepResult, delete: bool, started: float
    ) -> Callable[[int, float], None]:
        def hook(n: int, ms: float) -> None:
            result.batches += 1
            result.longest_batch_ms = max(result.longest_batch_ms, ms)
            if delete:
                result.deleted += n
            else:
                result.anonymised += n
            result.duration_ms = (time.perf_counter() - started) * 1000
            if self.on_batch:
                self.on_batch(b, result)

        return hook

    # --- state and evidence -----------------------------------------------------------------

    def _start_run(self, rule_ids: list[str]) -> int:
        t = cast(sa.Table, RetentionRun.__table__)
        with connect(self.state) as c, c.begin():
            res = c.execute(
                sa.insert(t).values(
                    started_at=utc_timestamp(),
                    status="running",
                    dry_run=False,
                    actor=self.actor,
                    rules=",".join(rule_ids),
                )
            )
            pk = res.inserted_primary_key
            assert pk is not None
            self._run_id = int(pk[0])
        return self._run_id

    def _record(self, run_id: int | None, result: SweepResult, *, final: bool = False) -> None:
        if self.dry_run:
            return
        run_id = run_id if run_id is not None else self._run_id
        t = cast(sa.Table, RetentionProgress.__table__)
        row = {
            "run_id": run_id,
            "binding": result.key,
            "rule_id": result.rule_id,
            "status": result.status,
            "cutoff": result.cutoff,
            "deleted": result.deleted,
            "anonymised": result.anonymised,
            "held": result.held,
            "batches": result.batches,
            "longest_batch_ms": result.longest_batch_ms,
            "duration_ms": result.duration_ms,
        }
        with connect(self.state) as c, c.begin():
            c.execute(sa.insert(t).values(**row))
        self.ledger.append("retention.sweep", result.evidence(run_id), actor=self.actor)

    def _finish_run(self, report: RunReport) -> None:
        t = cast(sa.Table, RetentionRun.__table__)
        with connect(self.state) as c, c.begin():
            c.execute(
                sa.update(t)
                .where(t.c.id == report.run_id)
                .values(status=report.status, finished_at=utc_timestamp())
            )
        self.ledger.append(
            "retention.run",
            {
                "run_id": report.run_id,
                "status": report.status,
                "cutoff_now": report.now.isoformat(),
                "bindings": len(report.results),
                "rows_deleted": sum(r.deleted for r in report.results),
                "rows_anonymised": sum(r.anonymised for r in report.results),
                "rows_held": sum(r.held for r in report.results),
                "error": report.error.message if report.error else None,
            },
            actor=self.actor,
        )


def run_retention(
    project: Project,
    stores: Stores,
    state: Engine,
    *,
    key: bytes,
    **options: Any,
) -> RunReport:
    """Convenience: ``Sweeper(...).run()``."""
    return Sweeper(project, stores, state, key=key, **options).run()

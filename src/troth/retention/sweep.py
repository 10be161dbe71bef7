"""The sweeper: set-based, batched, keyset-ordered deletes and anonymisations, with evidence.

For each binding (children before parents), in two phases (delete, then anonymise the rows that
must stay because children still point at them, or because the rule anonymises), one short
transaction per batch:

1. ``SELECT pk FROM t WHERE pk > :last AND pk <= :hi AND <predicate> ORDER BY pk LIMIT :n``
2. ``DELETE FROM t WHERE pk IN (:keys) AND <predicate>`` (or the ``UPDATE`` that anonymises)

On PostgreSQL both are one statement (``WITH batch AS (1.), done AS (DELETE ... WHERE pk IN
(SELECT pk FROM batch) AND <predicate> RETURNING pk) SELECT ...``): one round trip, no key list
through the client. ``:hi`` (and the first ``:last``) are the highest and lowest expired keys, read
by the count that starts each binding, so the last batch does not scan the rest of the table.

The statement count is O(batches), locks are held for one batch, and the predicate is evaluated
again at write time (a person who logged in meanwhile is not deleted). Re-running is a no-op:
deleted rows are gone and anonymised rows no longer match. A store that goes down between batches
stops the run cleanly: what was done is recorded (state + ledger), and the next run finishes.
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
from troth.retention.bind import Binding
from troth.retention.holds import active_person_holds
from troth.retention.models import RetentionProgress, RetentionRun
from troth.retention.plan import Stores, bind_project, binding_sql, measure, utc_now
from troth.retention.query import BindingSql, one_statement_batches
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
            "rows_deleted": self.deleted,
            "rows_anonymised": self.anonymised,
            "rows_held": self.held,
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
        bound = bind_project(self.project, self.rules)
        person = active_person_holds(self.state)
        dm = self.project.datamap
        assert dm is not None
        rule_ids = sorted({b.rule.id for b in bound.bindings})
        report = RunReport(None, "dry_run" if self.dry_run else "running", self.now)
        if not self.dry_run:
            report.run_id = self._start_run(rule_ids)
        current: SweepResult | None = None
        try:
            for b in bound.bindings:
                q = binding_sql(b, self.stores, dm, now=self.now, key=self.key, person=person)
                current = SweepResult(
                    b.rule.id,
                    b.dataset,
                    b.table,
                    b.action.value,
                    q.cutoff.isoformat(),
                    [h.id for h in b.holds],
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
        result.expected = counts.delete + counts.anonymise
        if self.on_start:
            self.on_start(b, result)
        if self.dry_run:
            result.deleted, result.anonymised = counts.delete, counts.anonymise
            result.status = "dry_run"
            return
        phases: list[tuple[sa.ColumnElement[bool] | None, str]] = [
            (q.delete_predicate(), "delete"),
            (q.anonymise_predicate(), "anonymise"),
        ]
        one = one_statement_batches(conn.engine.dialect)
        for pred, phase in phases:
            if pred is None or counts.lo is None:
                continue
            delete = phase == "delete"
            if one:
                steps: Any = [
                    q.batch_write(pred, delete=delete, after=a, batch_size=self.batch_size)
                    for a in (False, True)
                ]
            else:
                steps = [
                    q.batch_select(pred, after=a, batch_size=self.batch_size) for a in (False, True)
                ]
                write = q.delete_statement(pred) if delete else q.update_statement(pred)
            last: Any = counts.lo
            after = False
            while True:
                t0 = time.perf_counter()
                params = {**q.params, "last": last, "hi": counts.hi}
                with conn._mapped(f"{phase} expired rows", b.table), conn.engine.begin() as c:
                    if one:
                        row = c.execute(steps[after], params).one()
                        selected, n, end = int(row.selected), int(row.written), row.last
                    else:
                        keys = list(c.execute(steps[after], params).scalars())
                        selected, end, n = len(keys), keys[-1] if keys else None, 0
                        if keys:
                            n = int(c.execute(write, {**q.params, "keys": keys}).rowcount)
                if not selected:
                    break
                ms = (time.perf_counter() - t0) * 1000
                last, after = end, True
                result.batches += 1
                result.longest_batch_ms = max(result.longest_batch_ms, ms)
                if delete:
                    result.deleted += n
                else:
                    result.anonymised += n
                result.duration_ms = (time.perf_counter() - started) * 1000
                if self.on_batch:
                    self.on_batch(b, result)
                if selected < self.batch_size or last == counts.hi:
                    break
        result.duration_ms = (time.perf_counter() - started) * 1000
        result.status = "done"
        self._record(None, result, final=True)

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

"""When rules run: a cron subset, :func:`due_rules`, and the :class:`Scheduler` of ``troth serve``.

A rule's ``schedule`` is ``@hourly``, ``@daily``, ``@weekly`` (``@midnight``, ``@monthly`` too) or
five cron fields ``minute hour day-of-month month day-of-week`` with ``*``, numbers, lists
(``1,15``), ranges (``1-5``) and steps (``*/6``, ``0-30/10``); day-of-week 0 or 7 is Sunday. A rule
without a schedule runs only by hand. A rule is due when a scheduled minute lies after its last run
and at or before now (a missed minute runs once, not once per miss).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from troth.config import Settings
from troth.errors import RetentionError
from troth.policy.model import Policy

ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
}
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12), ("weekday", 0, 7))
#: how far back :func:`due_rules` looks for a missed run when a rule never ran
FIRST_LOOKBACK = timedelta(days=1)
#: a missed run older than this is not looked for (a month and a bit)
MAX_LOOKBACK = timedelta(days=32)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Monday (Python's weekday())
    any_day: bool
    any_weekday: bool

    def matches(self, t: datetime) -> bool:
        if t.minute not in self.minutes or t.hour not in self.hours or t.month not in self.months:
            return False
        day_ok, wd_ok = t.day in self.days, t.weekday() in self.weekdays
        if self.any_day or self.any_weekday:  # cron: both restricted means either may match
            return day_ok and wd_ok
        return day_ok or wd_ok

    def last_before(self, now: datetime, since: datetime) -> datetime | None:
        """The latest matching minute in ``(since, now]``, or None."""
        t = now.replace(second=0, microsecond=0)
        since = max(since, t - MAX_LOOKBACK)
        while t > since:
            if t.hour not in self.hours or t.month not in self.months:
                t = t.replace(minute=0) - timedelta(minutes=1)  # skip the rest of this hour
                continue
            if self.matches(t):
                return t
            t -= timedelta(minutes=1)
        return None

    def next_after(self, now: datetime, within: timedelta = MAX_LOOKBACK) -> datetime | None:
        """The first matching minute after *now* (within *within*), or None."""
        t = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        end = now + within
        while t <= end:
            if t.hour not in self.hours or t.month not in self.months:
                t = t.replace(minute=0) + timedelta(hours=1)  # skip the rest of this hour
                continue
            if self.matches(t):
                return t
            t += timedelta(minutes=1)
        return None


def parse_cron(spec: str, *, where: str = "schedule") -> Cron:
    """Parse a schedule; a bad one raises :class:`RetentionError` naming the valid forms."""
    text = ALIASES.get(spec.strip().lower(), spec.strip())
    parts = text.split()
    if len(parts) != 5:
        raise RetentionError(
            f"schedule {spec!r} is not a cron expression",
            where=where,
            fix="use @hourly, @daily, @weekly, @monthly, or five fields "
            "'minute hour day month weekday' such as '30 2 * * *'",
        )
    sets = [
        _field(p, name, lo, hi, spec, where)
        for p, (name, lo, hi) in zip(parts, _FIELDS, strict=True)
    ]
    weekdays = frozenset((d - 1) % 7 for d in sets[4])  # cron 0/7 = Sunday -> Python 6
    return Cron(sets[0], sets[1], sets[2], sets[3], weekdays, parts[2] == "*", parts[4] == "*")


def _field(text: str, name: str, lo: int, hi: int, spec: str, where: str) -> frozenset[int]:
    out: set[int] = set()
    try:
        for item in text.split(","):
            rng, _, step_text = item.partition("/")
            step = int(step_text) if step_text else 1
            if rng == "*":
                a, b = lo, hi
            elif "-" in rng:
                a, b = (int(x) for x in rng.split("-", 1))
            else:
                a = int(rng)
                b = hi if step_text else a
            if not (lo <= a <= b <= hi) or step < 1:
                raise ValueError
            out.update(range(a, b + 1, step))
    except ValueError:
        raise RetentionError(
            f"schedule {spec!r}: bad {name} field {text!r} (allowed {lo}-{hi})",
            where=where,
            fix="use *, numbers, lists (1,15), ranges (1-5) and steps (*/6)",
        ) from None
    return frozenset(out)


def due_rules(policy: Policy, now: datetime, last_runs: Mapping[str, datetime | None]) -> list[str]:
    """Ids of the scheduled rules due at ``now``, given each rule's last run (None: never)."""
    due = []
    for rule in policy.retention:
        if not rule.schedule or rule.enforced_period is None:
            continue
        cron = parse_cron(rule.schedule, where=f"retention rule {rule.id!r}")
        since = last_runs.get(rule.id) or now - FIRST_LOOKBACK
        if cron.last_before(now, since) is not None:
            due.append(rule.id)
    return due


#: runs the named rules; returns True when the run completed
RunFn = Callable[[list[str], datetime], bool]


@dataclass
class Scheduler:
    """Runs due rules; ``run_pending()`` is the whole logic, ``start()`` adds a thread."""

    policy: Policy
    run: RunFn
    clock: Callable[[], datetime]
    last_runs: dict[str, datetime | None] = field(default_factory=dict)
    interval_s: float = 60.0
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def run_pending(self) -> list[str]:
        now = self.clock()
        due = due_rules(self.policy, now, self.last_runs)
        if due and self.run(due, now):
            for rid in due:
                self.last_runs[rid] = now
        return due

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.interval_s):
                try:
                    self.run_pending()
                except Exception:  # keep serving; the ledger has each run's outcome
                    continue

        self._thread = threading.Thread(target=loop, name="troth-retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def start_scheduler(settings: Settings, project_path: Path | str) -> Scheduler:
    """The scheduler ``troth serve`` starts: sweeps the project's due rules (not started yet:
    call ``.start()`` for the thread, or ``.run_pending()`` from a job loop)."""
    from troth.project import load_project
    from troth.retention.plan import open_stores, utc_now
    from troth.retention.sweep import Sweeper
    from troth.store import open_store

    project = load_project(project_path)
    engine = open_store(settings)

    def run(rules: list[str], now: datetime) -> bool:
        from troth.retention.files import bind_files, sweep_files

        datamap = project.datamap.datamap if project.datamap else None
        files = bind_files(project.policy.policy, datamap, rules)  # refuses before any write
        with open_stores() as stores:
            report = Sweeper(
                project,
                stores,
                engine,
                key=settings.secret_key,
                rules=rules,
                now=now,
                actor="scheduler",
            ).run()
        if files:
            sweep_files(files, now, engine, actor="scheduler")
        return report.status == "done"

    return Scheduler(project.policy.policy, run, utc_now, last_runs=last_runs(engine))


def last_runs(engine: object) -> dict[str, datetime | None]:
    """Each rule's last completed run, from troth's state."""
    import sqlalchemy as sa

    from troth.retention.models import RetentionRun
    from troth.store import connect

    t = RetentionRun.__table__
    out: dict[str, datetime | None] = {}
    assert isinstance(engine, sa.Engine)
    with connect(engine) as c:
        for rules, started in c.execute(
            sa.select(t.c.rules, t.c.started_at).where(t.c.status == "done").order_by(t.c.id)
        ):
            when = datetime.fromisoformat(started).replace(tzinfo=None)
            for rid in str(rules).split(","):
                if rid:
                    out[rid] = when
    return out

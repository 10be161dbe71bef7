"""What the console's overview pages show, each read with a few grouped queries.

Consent: events per consent and notice version (given, refused, withdrawn, expired; the people;
the share sent with a Global Privacy Control signal) and withdrawals per day. Retention: the
policy's rules with their next scheduled run, the latest runs, and per binding (rule × table) the
rows deleted, anonymised and held. No personal data: consent subjects are keyed hashes, and only
counts leave the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.consent.models import ConsentEvent
from troth.errors import RetentionError
from troth.policy.model import Policy
from troth.retention.models import RetentionProgress, RetentionRun
from troth.retention.schedule import parse_cron
from troth.store.db import connect

EVENTS: sa.Table = ConsentEvent.__table__  # type: ignore[assignment]
RUNS: sa.Table = RetentionRun.__table__  # type: ignore[assignment]
PROGRESS: sa.Table = RetentionProgress.__table__  # type: ignore[assignment]
KINDS = ("given", "refused", "withdrawn", "expired")


@dataclass
class ConsentRow:
    consent: str
    version: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    people: int = 0
    gpc: int = 0

    @property
    def events(self) -> int:
        return sum(self.counts.values())

    @property
    def gpc_share(self) -> float:
        return self.gpc / self.events if self.events else 0.0


def consent_figures(engine: Engine) -> list[ConsentRow]:
    """Per consent and notice version: events by kind, people, GPC events."""
    e = EVENTS.c
    gpc = sa.func.sum(sa.case((e.gpc, 1), else_=0))
    by_kind = sa.select(e.consent_id, e.notice_version, e.kind, sa.func.count(), gpc).group_by(
        e.consent_id, e.notice_version, e.kind
    )
    people = sa.select(
        e.consent_id, e.notice_version, sa.func.count(sa.distinct(e.subject))
    ).group_by(e.consent_id, e.notice_version)
    rows: dict[tuple[str, str], ConsentRow] = {}
    with connect(engine) as conn:
        for consent, version, kind, n, g in conn.execute(by_kind):
            row = rows.setdefault((consent, version), ConsentRow(consent, version))
            row.counts[kind] = row.counts.get(kind, 0) + int(n)
            row.gpc += int(g or 0)
        for consent, version, n in conn.execute(people):
            rows[(consent, version)].people = int(n)
    return [rows[k] for k in sorted(rows)]


def withdrawals_per_day(engine: Engine, days: int = 90, today: date | None = None) -> list[int]:
    """Withdrawals per day for the last *days* days (oldest first, today last)."""
    end = today or datetime.now(UTC).date()
    start = end - timedelta(days=days - 1)
    day = sa.func.substr(EVENTS.c.event_time, 1, 10)
    stmt = (
        sa.select(day, sa.func.count())
        .where(EVENTS.c.kind == "withdrawn", EVENTS.c.event_time >= start.isoformat())
        .group_by(day)
    )
    with connect(engine) as conn:
        found = {str(d): int(n) for d, n in conn.execute(stmt)}
    return [found.get((start + timedelta(days=i)).isoformat(), 0) for i in range(days)]


def rules_overview(policy: Policy, now: datetime | None = None) -> list[dict[str, Any]]:
    """The policy's retention rules with their next scheduled run (None: run by hand)."""
    at = (now or datetime.now(UTC)).replace(tzinfo=None)  # schedules are in UTC, naive
    out = []
    for rule in policy.retention:
        next_run: str | None = None
        if rule.schedule and rule.period is not None:
            try:
                found = parse_cron(rule.schedule).next_after(at)
            except RetentionError:
                found = None
            next_run = found.isoformat(timespec="minutes") if found else None
        out.append(
            {
                "id": rule.id,
                "name": rule.name or "",
                "categories": [str(c) for c in rule.categories],
                "period": str(rule.period) if rule.period is not None else "none",
                "action": str(rule.action.value),
                "schedule": rule.schedule,
                "next_run": next_run,
                "holds": len(rule.legal_holds),
            }
        )
    return out


def latest_runs(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    stmt = sa.select(RUNS).order_by(RUNS.c.id.desc()).limit(limit)
    with connect(engine) as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def per_binding(engine: Engine) -> list[dict[str, Any]]:
    """Per binding (rule × table), over the runs that were not dry runs: rows deleted,
    anonymised and held in all, and in the latest run."""
    p = PROGRESS.c
    real = sa.select(RUNS.c.id).where(RUNS.c.dry_run.is_(False))
    totals = (
        sa.select(
            p.binding,
            p.rule_id,
            sa.func.sum(p.deleted).label("deleted"),
            sa.func.sum(p.anonymised).label("anonymised"),
            sa.func.sum(p.held).label("held"),
            sa.func.max(p.run_id).label("last_run"),
        )
        .where(p.run_id.in_(real))
        .group_by(p.binding, p.rule_id)
        .order_by(p.binding)
    )
    with connect(engine) as conn:
        return [dict(r) for r in conn.execute(totals).mappings()]

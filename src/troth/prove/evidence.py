"""Live evidence from troth's state DB over a period: what happened, in counts and keyed hashes.

Every figure is one set-based query on troth's own tables (requests, retention runs, consent
events, the audit ledger); nothing here reads the company's stores or any personal value.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.config import Settings
from troth.consent.events import KIND_RANK, EventKind
from troth.store import connect

_DSR = sa.table(
    "dsr_request",
    sa.column("id"),
    sa.column("kind"),
    sa.column("status"),
    sa.column("received_at"),
    sa.column("due_at"),
    sa.column("updated_at"),
)
_RUN = sa.table(
    "retention_run", sa.column("id"), sa.column("status"), sa.column("finished_at"),
    sa.column("dry_run"),
)  # fmt: skip
_PROGRESS = sa.table(
    "retention_progress",
    sa.column("run_id"),
    sa.column("rule_id"),
    sa.column("deleted"),
    sa.column("anonymised"),
    sa.column("held"),
)
_CONSENT = sa.table(
    "consent_event",
    sa.column("id"),
    sa.column("subject"),
    sa.column("consent_id"),
    sa.column("kind"),
    sa.column("notice_version"),
    sa.column("event_time"),
    sa.column("recorded_at"),
    sa.column("event_uid"),
    sa.column("gpc"),
)
_AUDIT = sa.table("audit_entry", sa.column("seq"), sa.column("kind"), sa.column("ts"))


@dataclass(frozen=True)
class Period:
    """Evidence is counted for events in ``[since, until)`` (UTC)."""

    since: datetime
    until: datetime

    def bounds(self) -> tuple[str, str]:
        return self.since.isoformat(), self.until.isoformat()


@dataclass
class RequestFigures:
    received: int = 0
    completed: int = 0
    denied: int = 0
    open: int = 0
    overdue: int = 0
    completed_late: int = 0
    median_days: float | None = None


@dataclass
class RetentionFigures:
    runs: int = 0
    deleted: int = 0
    anonymised: int = 0
    held: int = 0
    last_run: str | None = None


@dataclass
class ConsentFigures:
    events: dict[str, dict[str, int]] = field(default_factory=dict)  # notice version -> kind -> n
    subjects: int = 0
    given_now: int = 0
    gpc_events: int = 0

    @property
    def share_given(self) -> float | None:
        return self.given_now / self.subjects if self.subjects else None


@dataclass
class Evidence:
    period: Period
    now: datetime
    requests: dict[str, RequestFigures]
    retention: dict[str, RetentionFigures]
    consents: dict[str, ConsentFigures]
    last_event: dict[str, str]  # audit kind -> time of its newest entry (any time)
    ledger: dict[str, Any]
    #: versions of the policy published before the end of the period (version, published_at)
    published: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": {"since": self.period.bounds()[0], "until": self.period.bounds()[1]},
            "requests": {k: vars(v) for k, v in sorted(self.requests.items())},
            "retention": {k: vars(v) for k, v in sorted(self.retention.items())},
            "consents": {
                k: {**vars(v), "share_given": v.share_given}
                for k, v in sorted(self.consents.items())
            },
            "last_event": dict(sorted(self.last_event.items())),
            "ledger": self.ledger,
            "published": [{"version": v, "published_at": t} for v, t in self.published],
        }


def _ts(text: str) -> datetime:
    stamp = datetime.fromisoformat(text)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _requests(conn: sa.Connection, period: Period, now: datetime) -> dict[str, RequestFigures]:
    since, until = period.bounds()
    out: dict[str, RequestFigures] = defaultdict(RequestFigures)
    days: dict[str, list[float]] = defaultdict(list)
    rows = conn.execute(
        sa.select(_DSR.c.kind, _DSR.c.status, _DSR.c.received_at, _DSR.c.due_at, _DSR.c.updated_at)
        .where(_DSR.c.received_at < until)
        .where(sa.or_(_DSR.c.received_at >= since, _DSR.c.status.notin_(("completed", "denied"))))
    )
    for kind, status, received, due, updated in rows:
        fig = out[kind]
        in_period = received >= since
        if in_period:
            fig.received += 1
        if status == "completed":
            if in_period:
                fig.completed += 1
                days[kind].append((_ts(updated) - _ts(received)).total_seconds() / 86400)
                if _ts(updated) > _ts(due):
                    fig.completed_late += 1
        elif status == "denied":
            fig.denied += int(in_period)
        else:
            fig.open += 1
            if _ts(due) < now:
                fig.overdue += 1
    for kind, values in days.items():
        out[kind].median_days = round(statistics.median(values), 2)
    return dict(out)


def _retention(conn: sa.Connection, period: Period) -> dict[str, RetentionFigures]:
    since, until = period.bounds()
    out: dict[str, RetentionFigures] = {}
    done = (_RUN.c.status == "done") & sa.not_(_RUN.c.dry_run)
    stmt = (
        sa.select(
            _PROGRESS.c.rule_id,
            sa.func.count(sa.distinct(_RUN.c.id)),
            sa.func.coalesce(sa.func.sum(_PROGRESS.c.deleted), 0),
            sa.func.coalesce(sa.func.sum(_PROGRESS.c.anonymised), 0),
            sa.func.coalesce(sa.func.sum(_PROGRESS.c.held), 0),
        )
        .select_from(_PROGRESS.join(_RUN, _RUN.c.id == _PROGRESS.c.run_id))
        .where(done, _RUN.c.finished_at >= since, _RUN.c.finished_at < until)
        .group_by(_PROGRESS.c.rule_id)
    )
    for rule, runs, deleted, anonymised, held in conn.execute(stmt):
        out[rule] = RetentionFigures(int(runs), int(deleted), int(anonymised), int(held))
    last = (
        sa.select(_PROGRESS.c.rule_id, sa.func.max(_RUN.c.finished_at))
        .select_from(_PROGRESS.join(_RUN, _RUN.c.id == _PROGRESS.c.run_id))
        .where(done, _RUN.c.finished_at < until)
        .group_by(_PROGRESS.c.rule_id)
    )
    for rule, when in conn.execute(last):
        out.setdefault(rule, RetentionFigures()).last_run = when
    return out


def _consents(conn: sa.Connection, period: Period) -> dict[str, ConsentFigures]:
    since, until = period.bounds()
    out: dict[str, ConsentFigures] = defaultdict(ConsentFigures)
    counts = (
        sa.select(
            _CONSENT.c.consent_id,
            _CONSENT.c.notice_version,
            _CONSENT.c.kind,
            sa.func.count(),
            sa.func.sum(sa.case((_CONSENT.c.gpc, 1), else_=0)),
        )
        .where(_CONSENT.c.event_time >= since, _CONSENT.c.event_time < until)
        .group_by(_CONSENT.c.consent_id, _CONSENT.c.notice_version, _CONSENT.c.kind)
    )
    for consent, version, kind, n, gpc in conn.execute(counts):
        fig = out[consent]
        fig.events.setdefault(version, {})[kind] = int(n)
        fig.gpc_events += int(gpc or 0)
    # the state at the end of the period: each subject's newest event per consent, ordered as
    # the consent ledger orders them (event time, no later than recorded; a denial wins a tie)
    c = _CONSENT.c
    effective = sa.case((c.event_time < c.recorded_at, c.event_time), else_=c.recorded_at)
    rank = sa.case(*((c.kind == k, r) for k, r in KIND_RANK.items()), else_=0)
    ordered = (
        sa.select(
            c.consent_id,
            c.kind,
            sa.func.row_number()
            .over(
                partition_by=(c.consent_id, c.subject),
                order_by=(effective.desc(), rank.desc(), c.event_uid.desc()),
            )
            .label("n"),
        )
        .where(c.event_time < until)
        .subquery()
    )
    state = (
        sa.select(
            ordered.c.consent_id,
            sa.func.count(),
            sa.func.sum(sa.case((ordered.c.kind == EventKind.given.value, 1), else_=0)),
        )
        .where(ordered.c.n == 1)
        .group_by(ordered.c.consent_id)
    )
    for consent, subjects, given in conn.execute(state):
        out[consent].subjects = int(subjects)
        out[consent].given_now = int(given or 0)
    return dict(out)


def _last_events(conn: sa.Connection, until: str) -> dict[str, str]:
    stmt = (
        sa.select(_AUDIT.c.kind, sa.func.max(_AUDIT.c.ts))
        .where(_AUDIT.c.ts < until)
        .group_by(_AUDIT.c.kind)
    )
    return {kind: str(ts) for kind, ts in conn.execute(stmt)}


def _published(conn: sa.Connection, policy_id: str, until: str) -> list[tuple[str, str]]:
    t = sa.table(
        "policy_version", sa.column("id"), sa.column("policy_id"), sa.column("version"),
        sa.column("published_at"),
    )  # fmt: skip
    stmt = (
        sa.select(t.c.version, t.c.published_at)
        .where(t.c.policy_id == policy_id, t.c.published_at < until)
        .order_by(t.c.id)
    )
    return [(str(v), str(at)) for v, at in conn.execute(stmt)]


def gather(
    engine: Engine,
    settings: Settings,
    period: Period,
    *,
    now: datetime | None = None,
    policy_id: str = "",
) -> Evidence:
    """The figures of the period, and the ledger's verification as of now."""
    from troth.audit.verify import verify

    now = now or datetime.now(UTC)
    with connect(engine) as conn:
        requests = _requests(conn, period, now)
        retention = _retention(conn, period)
        consents = _consents(conn, period)
        last_event = _last_events(conn, period.bounds()[1])
        published = _published(conn, policy_id, period.bounds()[1])
    result = verify(engine, settings=settings)
    ledger = {
        "ok": result.ok,
        "entries": result.checked,
        "head": {"seq": result.last.seq, "hash": result.last.hash},
        "reason": result.reason,
        "first_bad": result.first_bad,
    }
    return Evidence(period, now, requests, retention, consents, last_event, ledger, published)

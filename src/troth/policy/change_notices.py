"""Notices of a published policy change (PL-14): the people the impact analysis names get a
notice through the privacy centre's notifier before the change takes effect.

Planning (:func:`plan_notices`) is separate from sending (:func:`send_notices`):

- **who**: every e-mail address the data map's ``identity: email`` fields hold in the stores
  (one ``SELECT DISTINCT`` per field, trimmed and lower-cased); for an ``ask_again`` change, the
  people whose newest event of that consent is ``given`` in troth's consent ledger, found by
  troth's keyed hash of their address (a holder whose address no store holds is counted as
  unreachable); for a ``tell`` change, everyone;
- **what**: ``policy_ask_again`` (the consents to give again, and the changes) or ``policy_tell``
  (the changes), from templates a project can override (``templates/notices/``);
- **once**: each address sent a notice of a version is recorded by its keyed hash
  (``policy_notice``), so a run that is repeated (or resumed after a failure) sends only the
  rest; the run is one ``policy.notices_sent`` ledger entry with counts and the version, never
  an address.

A run refuses before sending anything when the version has no effective date or it is not in
the future (a notice must come before the change), when the notifier is not configured, or when
a store cannot be read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.audit import Event, Ledger
from troth.audit.hashing import keyed_hash
from troth.errors import NotifyError, PolicyError
from troth.notify.base import Message, Notifier, notifier_for
from troth.notify.notices import Notices
from troth.policy.impact import Impact
from troth.policy.model import Policy
from troth.policy.models import PolicyNotice
from troth.policy.versions import Published, history


@dataclass
class NoticePlan:
    """Who gets which notice of one published version (addresses only in memory)."""

    version: Published
    #: address -> consents to give again (empty: told only)
    ask_again: dict[str, list[str]] = field(default_factory=dict, repr=False)
    tell: list[str] = field(default_factory=list, repr=False)
    #: consent holders whose address no store holds
    unreachable: int = 0


@dataclass(frozen=True)
class NoticeRun:
    policy_id: str
    version: str
    effective: str
    ask_again: int
    tell: int
    already_sent: int
    unreachable: int
    failed: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _version(engine: Engine, policy_id: str, version: str | None) -> Published:
    versions = history(engine, policy_id)
    if not versions:
        raise PolicyError(
            f"policy {policy_id} was never published",
            where="troth state DB",
            fix="run `troth publish` first",
        )
    if version is None:
        return versions[-1]
    found = next((v for v in versions if v.version == version), None)
    if found is None:
        raise PolicyError(
            f"version {version!r} of policy {policy_id} was never published",
            where="--version",
            fix=f"published: {', '.join(v.version for v in versions)}",
        )
    return found


def _before_effective(version: str, effective: str | None, today: date) -> None:
    if effective is None:
        raise PolicyError(
            f"version {version} has no effective date, so no notice can precede it",
            where="policy.effective",
            fix="set policy.effective to a future date (and, once published, a new version)",
        )
    if date.fromisoformat(effective[:10]) <= today:
        raise PolicyError(
            f"version {version} takes effect on {effective[:10]}: a notice must be sent "
            "before the effective date",
            where="policy.effective",
            fix="give the change a later effective date (a new version number once published)",
        )


def check_effective(policy: Policy, today: date | None = None) -> None:
    """Refuse a policy whose change cannot be noticed in advance (no or a past effective date)."""
    meta = policy.policy
    effective = meta.effective.isoformat() if meta.effective else None
    _before_effective(meta.version, effective, today or datetime.now(UTC).date())


def _addresses(project: Any, env: Mapping[str, str] | None) -> set[str]:
    """Every e-mail address the stores hold in an ``identity: email`` field."""
    from troth.connectors.names import resolve_connection
    from troth.connectors.sql import _with_driver

    datamap = project.datamap.datamap
    by_conn: dict[str, list[tuple[str, str]]] = {}
    for ds, table in datamap.tables():
        for f in table.fields:
            if f.identity == "email":
                by_conn.setdefault(ds.connection, []).append((table.name, f.name))
    out: set[str] = set()
    for conn_name, fields in by_conn.items():
        engine = sa.create_engine(_with_driver(resolve_connection(conn_name, env)))
        try:
            with engine.connect() as conn:
                for table, column in fields:
                    col: sa.ColumnClause[Any] = sa.column(column)
                    stmt = sa.select(col).distinct().select_from(sa.table(table, col))
                    stmt = stmt.where(col.is_not(None))
                    out.update(str(v).strip().lower() for v in conn.scalars(stmt) if str(v).strip())
        finally:
            engine.dispose()
    return out


def _holders(engine: Engine, consents: set[str]) -> dict[str, set[str]]:
    """Subject refs whose newest event of each consent is ``given`` (set-based)."""
    from troth.consent.events import KIND_RANK, EventKind
    from troth.consent.models import ConsentEvent

    c = ConsentEvent.__table__.c
    effective = sa.case((c.event_time < c.recorded_at, c.event_time), else_=c.recorded_at)
    rank = sa.case(*((c.kind == k.value, r) for k, r in KIND_RANK.items()), else_=0)
    ordered = (
        sa.select(
            c.consent_id,
            c.subject,
            c.kind,
            sa.func.row_number()
            .over(
                partition_by=(c.consent_id, c.subject),
                order_by=(effective.desc(), rank.desc(), c.event_uid.desc()),
            )
            .label("n"),
        )
        .where(c.consent_id.in_(sorted(consents)))
        .subquery()
    )
    stmt = sa.select(ordered.c.consent_id, ordered.c.subject).where(
        ordered.c.n == 1, ordered.c.kind == EventKind.given.value
    )
    out: dict[str, set[str]] = {cid: set() for cid in consents}
    with engine.connect() as conn:
        for cid, subject in conn.execute(stmt):
            out[cid].add(subject)
    return out


def plan_notices(
    project: Any,
    engine: Engine,
    key: bytes,
    *,
    version: str | None = None,
    env: Mapping[str, str] | None = None,
    today: date | None = None,
) -> NoticePlan:
    """Who must get a notice of the version (default: the newest published), read-only."""
    from troth.consent.subjects import subject_ref

    policy_id = project.policy.policy.policy.id
    published = _version(engine, policy_id, version)
    _before_effective(published.version, published.effective, today or datetime.now(UTC).date())
    plan = NoticePlan(published)
    consents = {i.consent for i in published.impact if i.action == "ask_again" and i.consent}
    consents &= {c.id for c in project.policy.policy.consents}
    tell = any(i.action == "tell" for i in published.impact)
    if not consents and not tell:
        return plan
    if project.datamap is None:
        raise PolicyError(
            "the project has no data map, so troth cannot find whom to tell",
            where=str(project.policy.path.parent),
            fix="add datamap.yaml with the stores' identity: email fields",
        )
    addresses = _addresses(project, env)
    holders = _holders(engine, consents) if consents else {}
    by_ref = {subject_ref(key, a): a for a in addresses}
    for cid, refs in sorted(holders.items()):
        for ref in refs:
            address = by_ref.get(ref)
            if address is None:
                plan.unreachable += 1
            else:
                plan.ask_again.setdefault(address, []).append(cid)
    if tell:
        plan.tell = sorted(addresses - set(plan.ask_again))
    return plan


def _changes(impacts: list[Impact]) -> list[str]:
    return [f"{i.element}: {i.reason}" for i in impacts]


def send_notices(
    project: Any,
    engine: Engine,
    key: bytes,
    plan: NoticePlan,
    *,
    notifier: Notifier | None = None,
    env: Mapping[str, str] | None = None,
    actor: str = "troth",
) -> NoticeRun:
    """Send every planned notice not sent before; one ledger entry with the counts."""
    environ = dict(os.environ if env is None else env)
    notifier = notifier or notifier_for("email", environ)  # refuses before the first send
    policy = project.policy.policy
    v = plan.version
    c = PolicyNotice.__table__.c
    with engine.connect() as conn:
        done = set(
            conn.scalars(
                sa.select(c.recipient).where(c.policy_id == v.policy_id, c.version == v.version)
            )
        )
    notices = Notices(Path(project.policy.path).parent, policy.policy.language)
    names = {x.id: x.name for x in policy.consents}
    base = {
        "organisation": policy.organisation.name,
        "title": policy.policy.title,
        "version": v.version,
        "effective": (v.effective or "")[:10],
        "changes": _changes(v.impact),
        "centre_url": environ.get("TROTH_PUBLIC_URL") or "",
    }
    todo = [(a, "ask_again", cs) for a, cs in sorted(plan.ask_again.items())]
    todo += [(a, "tell", []) for a in plan.tell]
    sent = {"ask_again": 0, "tell": 0}
    already = failed = 0
    error: NotifyError | None = None
    for address, kind, consents in todo:
        ref = keyed_hash(key, f"policy-notice:{address}")
        if ref in done:
            already += 1
            continue
        if error is not None:
            failed += 1
            continue
        context = {**base, "consents": [names.get(cid, cid) for cid in consents]}
        subject, body = notices.render(f"policy_{kind}", context)
        try:
            notifier.send(Message(to=address, subject=subject, text=body))
        except NotifyError as exc:
            error, failed = exc, failed + 1
            continue
        with engine.begin() as conn:  # recorded as soon as sent: a resumed run skips it
            conn.execute(
                sa.insert(PolicyNotice).values(
                    policy_id=v.policy_id,
                    version=v.version,
                    recipient=ref,
                    kind=kind,
                    sent_at=datetime.now(UTC).isoformat(timespec="seconds"),
                )
            )
        sent[kind] += 1
    run = NoticeRun(
        v.policy_id,
        v.version,
        (v.effective or "")[:10],
        sent["ask_again"],
        sent["tell"],
        already,
        plan.unreachable,
        failed,
    )
    if sent["ask_again"] + sent["tell"] + failed:
        Ledger(engine).append_many(
            [Event("policy.notices_sent", run.to_dict(), actor, f"policy:{v.policy_id}")]
        )
    if error is not None:
        raise NotifyError(
            f"{failed} notice(s) of version {v.version} not sent ({error.one_line()})",
            where="notifier",
            fix="fix the notifier and run `troth notices` again: notices already sent are "
            "not sent twice",
        )
    return run

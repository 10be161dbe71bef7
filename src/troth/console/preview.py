"""What a request will do, before anyone approves it: its plan, dry-run counts, and holds.

The plan is :func:`troth.dsr.run.plan_for` (no store touched). The counts come from the stores
with the request's sealed identities: an erasure runs :func:`troth.dsr.api.erase` with
``dry_run=True`` (every statement in a rolled-back transaction, so the counts are the erasure's
own); an access or restriction request resolves the person's rows without writing anything. A
store that is down leaves the counts out and says why; the plan is still shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from troth.config import Settings
from troth.dsr.api import erase
from troth.dsr.plan import Plan
from troth.dsr.requests import OPEN, Kind, RequestInfo
from troth.dsr.resolve import resolve
from troth.dsr.run import ProjectLike, Run, plan_for, project_of
from troth.dsr.sealed import unseal
from troth.errors import TrothError

ACTOR = "console-preview"


@dataclass
class Preview:
    plan: Plan | None
    #: (store, table, action, rows, kept rows) per table the dry run reached
    counts: list[dict[str, Any]] = field(default_factory=list)
    #: the rows erasure keeps: table, field, hold, reason, law, until
    holds: list[dict[str, Any]] = field(default_factory=list)
    #: why there are no counts (the request ended, a store is down...)
    note: str | None = None


def _store_of(plan: Plan) -> dict[str, str]:
    out = {str(s.table): s.connection for s in plan.steps}
    out.update({str(a.table): a.connection for a in plan.actions})
    return out


def holds_of(plan: Plan) -> list[dict[str, Any]]:
    return [
        {
            "table": str(a.table),
            "store": a.connection,
            "field": k.field,
            "hold": k.hold,
            "reason": k.reason,
            "law": k.law,
            "until": k.until,
        }
        for a in plan.actions
        for k in a.kept
    ]


def preview(
    project: ProjectLike,
    settings: Settings,
    engine: Engine,
    info: RequestInfo,
    *,
    counts: bool = True,
) -> Preview:
    """The plan of *info* and, with *counts*, while it is open and its identities are sealed,
    the dry run's counts."""
    names = {n for n in info.identity_names if not n.startswith("scope_")}
    erasure = info.kind == Kind.erasure
    try:
        proj, _ = project_of(project)
        plan = plan_for(proj, names, "erase" if erasure else "access")
    except TrothError as exc:
        return Preview(None, note=exc.one_line())
    out = Preview(plan, holds=holds_of(plan) if erasure else [])
    if not counts:
        return out
    if info.status not in {s.value for s in OPEN}:
        out.note = f"the request is {info.status}: its identities are no longer kept"
        return out
    try:
        sealed = unseal(engine, settings.secret_key, info.id)
        if sealed is None:
            out.note = "filed by an operator with `troth dsr`: no identities are kept to count"
            return out
        stores = _store_of(plan)
        scope = sealed.scope or None
        if erasure:
            result = erase(
                proj, sealed.identities, dry_run=True, settings=settings, actor=ACTOR, scope=scope
            )
            rows = result.tables
        else:
            rows = _access_counts(proj, sealed.identities, settings, scope)
    except TrothError as exc:
        out.note = f"no dry run: {exc.one_line()}"
        return out
    out.counts = [
        {
            "store": t.get("connection") or stores.get(str(t.get("table")), "-"),
            "table": str(t.get("table")),
            "action": t.get("action", ""),
            "rows": int(t.get("rows") or 0),
            "kept_rows": int(t.get("kept_rows") or 0),
        }
        for t in rows
    ]
    return out


def _access_counts(
    project: ProjectLike,
    identities: list[Any],
    settings: Settings,
    scope: dict[str, str] | None,
) -> list[dict[str, Any]]:
    """Rows per table of the person, read in rolled-back transactions (nothing recorded)."""
    run = Run(project, identities, "access", settings, None, ACTOR, None, scope)
    try:
        run.ping()
        with run.reading():
            res = resolve(
                run.plan, run.stores, run.identities, datamap=run.datamap, scope=run.typed_scope()
            )
    finally:
        run.stores.close()
    return [{"table": str(t), "action": "access", "rows": n} for t, n in res.counts.items()]

"""The Python API of data-subject requests: the same calls as ``troth dsr ...``.

>>> result = troth.dsr.erase("examples/mydigisoft", [Identity("email", "ada@example.com")])

Each call walks the request through its lifecycle (an operator runs it, so identity verification
and approval are recorded as done by ``actor``), runs it, and returns a :class:`DsrResult`. Running
the same call again with the same identities resumes an unfinished request of that kind. A store
that is down leaves the request ``failed`` with a retryable reason; nothing half-done is reported
``completed``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from troth.audit import Ledger
from troth.config import Settings
from troth.connectors.base import Connector
from troth.datamap.model import DataMap
from troth.dsr.execute import TableResult, crash_point, erase_store, parse_changes, rectify_store
from troth.dsr.export import CountingSink, ZipExport
from troth.dsr.identity import Identity, values_by_name
from troth.dsr.plan import Plan, PlanKind, Step, build_plan
from troth.dsr.progress import done_stores, forget_keys, load_keyset, mark_store_done, save_keyset
from troth.dsr.requests import Kind, RequestInfo, Requests, Status
from troth.dsr.resolve import erase_keys, resolve
from troth.dsr.restriction import restrict_identities
from troth.dsr.stores import Stores
from troth.errors import RequestError, TrothError
from troth.project import Project, load_project
from troth.store import open_store

ProjectLike = Project | str | Path
Progress = Callable[[Step, int], None]


@dataclass
class DsrResult:
    request: RequestInfo | None
    tables: list[dict[str, Any]] = field(default_factory=list)
    export: Path | None = None
    dry_run: bool = False

    @property
    def status(self) -> str:
        return self.request.status if self.request else "dry_run"

    @property
    def ok(self) -> bool:
        return self.dry_run or self.status == Status.completed

    def rows(self) -> int:
        return sum(int(t.get("rows", 0)) for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": self.request.to_dict() if self.request else None,
            "status": self.status,
            "dry_run": self.dry_run,
            "tables": self.tables,
            "export": str(self.export) if self.export else None,
        }


def _project(project: ProjectLike) -> tuple[Project, DataMap]:
    proj = project if isinstance(project, Project) else load_project(project)
    if proj.datamap is None:
        raise RequestError(
            "the project has no data map",
            where=str(proj.policy.path.parent),
            fix="write datamap.yaml beside policy.yaml (`troth datamap introspect` starts one)",
        )
    return proj, proj.datamap.datamap


def plan_request(
    project: ProjectLike, identities: Sequence[str], kind: PlanKind = "access"
) -> Plan:
    """The traversal for identity names (``["email"]``), without touching any store."""
    return build_plan(_project(project)[1], identities, kind)


class _Run:
    """One run of a request: the state DB, the plan, the stores."""

    def __init__(
        self,
        project: ProjectLike,
        identities: Sequence[Identity],
        kind: PlanKind,
        settings: Settings | None,
        connectors: Mapping[str, Connector] | None,
        actor: str,
        env: Mapping[str, str] | None,
    ) -> None:
        self.project, self.datamap = _project(project)
        self.identities = list(identities)
        if not self.identities:
            raise RequestError("a request needs at least one identity", fix="pass --email")
        self.plan = build_plan(self.datamap, {i.name for i in self.identities}, kind)
        self.settings = settings or Settings.from_env(env)
        self.stores = Stores(env, connectors)
        for name in self.plan.connections:  # configuration errors surface before any request
            self.stores.get(name)
        self.engine: Engine = open_store(self.settings)
        self.requests = Requests(self.engine, self.settings.secret_key, actor=actor)

    def start(self, kind: Kind) -> RequestInfo:
        """The open request of this kind for these identities (resumed), or a new one; running."""
        info = self.requests.find_open(kind, self.identities)
        if info is None:
            jurisdictions = [j.value for j in self.project.policy.policy.jurisdictions]
            info = self.requests.submit(kind, self.identities, jurisdictions)
        steps = {
            Status.received: [Status.identity_verified, Status.approved, Status.running],
            Status.identity_verified: [Status.approved, Status.running],
            Status.approved: [Status.running],
            Status.failed: [Status.running],
            Status.running: [Status.running],  # the process that ran it died: resume
        }[Status(info.status)]
        for to in steps:
            data: dict[str, Any] | None = None
            if to == Status.identity_verified:
                data = {"method": "operator"}
            data = {"resumed": True} if to == Status.running and info.resolved_at else data
            info = self.requests.transition(info.id, to, data=data)
        return info

    @contextmanager
    def guarded(self, info: RequestInfo) -> Iterator[list[RequestInfo]]:
        """Run the block; a failure leaves the request ``failed`` (retryable when it can be)."""
        out: list[RequestInfo] = []
        try:
            yield out
        except TrothError as exc:
            out.append(
                self.requests.transition(
                    info.id, Status.failed, reason=exc.one_line(), retryable=exc.retryable
                )
            )
        except BaseException:
            self.requests.transition(
                info.id, Status.failed, reason="internal error", retryable=False
            )
            raise
        finally:
            self.stores.close()

    def ping(self) -> None:
        """Raise StoreDownError now when a store is down, before anything is read or written."""
        for name in self.plan.connections:
            self.stores.get(name).ping()

    def complete(self, info: RequestInfo, tables: list[dict[str, Any]]) -> RequestInfo:
        counts = [{"table": t["table"], "action": t["action"], "rows": t["rows"]} for t in tables]
        rows = sum(int(t["rows"]) for t in tables)
        return self.requests.transition(
            info.id,
            Status.completed,
            result={"tables": tables, "rows": rows},
            data={"tables": counts, "rows": rows},
        )


def access(
    project: ProjectLike,
    identities: Sequence[Identity],
    *,
    output: Path | None = None,
    settings: Settings | None = None,
    connectors: Mapping[str, Connector] | None = None,
    actor: str = "api",
    env: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> DsrResult:
    """Everything held about the person, as a zip (JSON and CSV per table, HTML summary)."""
    run = _Run(project, identities, "access", settings, connectors, actor, env)
    info = run.start(Kind.access)
    path = output or run.settings.home / "exports" / f"{info.id}.zip"
    with run.guarded(info) as failed:
        run.ping()
        sink = ZipExport(path, request_id=info.id)
        res = resolve(run.plan, run.stores, run.identities, sink=sink, on_step=progress)
        counts = {str(t): n for t, n in res.counts.items()}
        sink.finish(counts)
        tables = [{"table": t, "action": "access", "rows": n} for t, n in counts.items()]
        return DsrResult(run.complete(info, tables), tables, path)
    return DsrResult(failed[0])


def erase(
    project: ProjectLike,
    identities: Sequence[Identity],
    *,
    dry_run: bool = False,
    settings: Settings | None = None,
    connectors: Mapping[str, Connector] | None = None,
    actor: str = "api",
    env: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> DsrResult:
    """Erase the person's data: mask or delete by the plan, legal holds kept and reported."""
    run = _Run(project, identities, "erase", settings, connectors, actor, env)
    if dry_run:
        return _erase_dry_run(run, progress)
    info = run.start(Kind.erasure)
    given = values_by_name(run.identities)
    with run.guarded(info) as failed:
        run.ping()
        if info.resolved_at:
            keys = load_keyset(run.engine, info.id, given)
        else:
            res = resolve(run.plan, run.stores, run.identities, on_step=progress)
            keys = erase_keys(run.plan, res.keys)
            save_keyset(run.engine, info.id, keys)  # before the first write
        done = done_stores(run.engine, info.id)
        tables: list[dict[str, Any]] = []
        for n, conn in enumerate(run.plan.connections, start=1):
            if conn in done:
                tables += done[conn]["tables"]
                continue
            results = erase_store(
                run.datamap,
                run.plan,
                conn,
                run.stores.get(conn),
                run.stores.schema(conn),
                keys,
                run.settings.secret_key,
            )
            dicts = [r.to_dict() for r in results]
            mark_store_done(run.engine, info.id, conn, {"tables": dicts})
            Ledger(run.engine).append(
                "dsr.store_erased",
                {
                    "request_id": info.id,
                    "connection": conn,
                    "tables": [
                        {"table": r.table, "action": r.action, "rows": r.rows} for r in results
                    ],
                },
                actor=actor,
                subject=f"dsr:{info.id}",
            )
            tables += dicts
            crash_point("store", n)
        forget_keys(run.engine, info.id)
        return DsrResult(run.complete(info, tables), tables)
    return DsrResult(failed[0])


def _erase_dry_run(run: _Run, progress: Progress | None) -> DsrResult:
    try:
        res = resolve(run.plan, run.stores, run.identities, on_step=progress)
    finally:
        run.stores.close()
    tables = [
        TableResult(
            str(a.table),
            a.action,
            res.counts.get(a.table, 0) if a.action in ("mask", "delete_row") else 0,
            [f for f, _ in a.masks],
            [{"field": k.field, "hold": k.hold, "reason": k.reason, "law": k.law} for k in a.kept],
            res.counts.get(a.table, 0) if a.action == "keep" else 0,
        ).to_dict()
        for a in run.plan.actions
    ]
    return DsrResult(None, tables, dry_run=True)


def rectify(
    project: ProjectLike,
    identities: Sequence[Identity],
    changes: Mapping[str, Any],
    *,
    settings: Settings | None = None,
    connectors: Mapping[str, Connector] | None = None,
    actor: str = "api",
    env: Mapping[str, str] | None = None,
) -> DsrResult:
    """Set new values (``{"table.field": value}``) on the person's rows; values are bound."""
    run = _Run(project, identities, "access", settings, connectors, actor, env)
    by_table = parse_changes(run.datamap, changes)
    reached = {s.table for s in run.plan.steps}
    for tid in by_table:
        if tid not in reached:
            raise RequestError(
                f"table {tid} is not reached from the identities given",
                where="rectification",
                fix="name fields of tables the plan reaches (`troth dsr plan`)",
            )
    info = run.start(Kind.rectification)
    with run.guarded(info) as failed:
        run.ping()
        res = resolve(run.plan, run.stores, run.identities)
        keys = erase_keys(run.plan, res.keys)
        tables: list[dict[str, Any]] = []
        for conn in run.plan.connections:
            mine = [s.table for s in run.plan.steps if s.connection == conn and s.table in by_table]
            if mine:
                results = rectify_store(run.stores.get(conn), keys, by_table, mine)
                tables += [r.to_dict() for r in results]
        return DsrResult(run.complete(info, tables), tables)
    return DsrResult(failed[0])


def restrict(
    project: ProjectLike,
    identities: Sequence[Identity],
    *,
    settings: Settings | None = None,
    actor: str = "api",
    env: Mapping[str, str] | None = None,
) -> DsrResult:
    """Mark the person restricted (by keyed hash): purpose checks then refuse processing."""
    proj, _ = _project(project)
    settings = settings or Settings.from_env(env)
    engine = open_store(settings)
    requests = Requests(engine, settings.secret_key, actor=actor)
    info = requests.find_open(Kind.restriction, identities) or requests.submit(
        Kind.restriction, identities, [j.value for j in proj.policy.policy.jurisdictions]
    )
    for to in (Status.identity_verified, Status.approved, Status.running):
        if to.value != info.status and to in _next(Status(info.status)):
            info = requests.transition(info.id, to)
    added = restrict_identities(engine, settings.secret_key, identities, info.id)
    tables = [{"table": "troth.dsr_restriction", "action": "restrict", "rows": added}]
    info = requests.transition(
        info.id, Status.completed, result={"tables": tables}, data={"identities_marked": added}
    )
    return DsrResult(info, tables)


def _next(status: Status) -> tuple[Status, ...]:
    from troth.dsr.requests import TRANSITIONS

    return TRANSITIONS[status]


def status(
    request_id: str | None = None,
    *,
    settings: Settings | None = None,
    env: Mapping[str, str] | None = None,
    limit: int = 50,
) -> list[RequestInfo]:
    """One request, or the latest ones."""
    settings = settings or Settings.from_env(env)
    requests = Requests(open_store(settings), settings.secret_key)
    return [requests.get(request_id)] if request_id else requests.list(limit=limit)


__all__ = [
    "CountingSink",
    "DsrResult",
    "access",
    "erase",
    "plan_request",
    "rectify",
    "restrict",
    "status",
]

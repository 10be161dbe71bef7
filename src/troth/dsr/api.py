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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from troth.audit import Ledger
from troth.config import Settings
from troth.connectors.base import Connector
from troth.datamap.erasure import policy_erasure_defaults
from troth.datamap.graph import Graph
from troth.datamap.model import DataMap
from troth.dsr.execute import crash_point, erase_store, parse_changes, rectify_store
from troth.dsr.export import CountingSink, ZipExport
from troth.dsr.identity import Identity
from troth.dsr.plan import Plan, PlanKind, Step, build_plan
from troth.dsr.progress import done_stores, forget_keys, load_keyset, mark_store_done, save_keyset
from troth.dsr.requests import Kind, RequestInfo, Requests, Status
from troth.dsr.resolve import identity_forms, resolve, scope_of
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
    proj, datamap = _project(project)
    return build_plan(datamap, identities, kind, masking_defaults=_defaults(proj))


def _defaults(project: Project) -> dict[str, str]:
    return policy_erasure_defaults(project.policy.policy.data_categories)


def _complete(datamap: DataMap) -> None:
    """Refuse a request that would miss personal data: a table no identity reaches."""
    missing = Graph.build(datamap).unreachable_tables()
    if missing:
        names = ", ".join(str(t) for t in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise RequestError(
            f"{len(missing)} table(s) hold personal data that no identity reaches ({names}): "
            "a request would miss them",
            where="data map",
            fix="link them with a reference (`kind: owns`) or mark their identity field; "
            "`troth check` shows each one",
        )


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
        scope: Mapping[str, str] | None = None,
    ) -> None:
        self.project, self.datamap = _project(project)
        self.identities = list(identities)
        if not self.identities:
            raise RequestError("a request needs at least one identity", fix="pass --email")
        self.plan = build_plan(
            self.datamap,
            {i.name for i in self.identities},
            kind,
            masking_defaults=_defaults(self.project),
        )
        _complete(self.datamap)
        self.forms = identity_forms(self.datamap, self.identities)  # refuses bad values early
        self.scope = _check_scope(self.plan, scope or {})
        self.settings = settings or Settings.from_env(env)
        self.stores = Stores(env, connectors, hash_key=self.settings.secret_key)
        for name in self.plan.connections:  # configuration errors surface before any request
            self.stores.get(name)
        self.engine: Engine = open_store(self.settings)
        self.requests = Requests(self.engine, self.settings.secret_key, actor=actor)

    @property
    def request_identities(self) -> list[Identity]:
        """The identities and the scope: a request in another tenant is another request."""
        scoped = [Identity(f"scope_{k}", str(v)) for k, v in sorted(self.scope.items())]
        return [*self.identities, *scoped]

    def typed_scope(self) -> dict[str, Any]:
        """Scope values typed like the live scope columns (a tenant id is an integer)."""
        out: dict[str, Any] = dict(self.scope)
        for step in self.plan.steps:
            schema = self.stores.schema(step.connection).table(step.table.table)
            for name, col in step.scope:
                info = schema.column(col) if schema else None
                value = out.get(name)
                if info and isinstance(value, str) and "int" in info.type.lower():
                    try:
                        out[name] = int(value)
                    except ValueError:
                        raise RequestError(
                            f"scope {name} must be a whole number here (column {step.table}."
                            f"{col} is {info.type})",
                            where=f"--scope {name}",
                            fix="give the tenant's id",
                        ) from None
        return out

    def start(self, kind: Kind) -> RequestInfo:
        """The open request of this kind for these identities (resumed), or a new one; running."""
        info = self.requests.find_open(kind, self.request_identities)
        if info is None:
            jurisdictions = [j.value for j in self.project.policy.policy.jurisdictions]
            info = self.requests.submit(kind, self.request_identities, jurisdictions)
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
        counts = [evidence(t) for t in tables]
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
    scope: Mapping[str, str] | None = None,
) -> DsrResult:
    """Everything held about the person, as a zip (JSON and CSV per table, HTML summary)."""
    run = _Run(project, identities, "access", settings, connectors, actor, env, scope)
    info = run.start(Kind.access)
    path = output or run.settings.home / "exports" / f"{info.id}.zip"
    with run.guarded(info) as failed:
        run.ping()
        sink = ZipExport(path, request_id=info.id)
        res = resolve(
            run.plan,
            run.stores,
            run.identities,
            datamap=run.datamap,
            scope=run.typed_scope(),
            sink=sink,
            on_step=progress,
        )
        counts = {str(t): n for t, n in res.counts.items()}
        sink.finish(counts)
        tables = [{"table": t, "action": "access", "rows": n} for t, n in counts.items()]
        tables += [
            {"table": str(t), "action": "mention", "rows": n} for t, n in res.mentions.items()
        ]
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
    scope: Mapping[str, str] | None = None,
) -> DsrResult:
    """Erase the person's data: mask or delete by the plan, legal holds kept and reported.

    ``dry_run``: resolve and run every statement in transactions that are rolled back, so the
    counts are exactly those the erasure will have; nothing is recorded."""
    run = _Run(project, identities, "erase", settings, connectors, actor, env, scope)
    if dry_run:
        return _erase_dry_run(run, progress)
    info = run.start(Kind.erasure)
    with run.guarded(info) as failed:
        run.ping()
        scope_values = run.typed_scope()
        if info.resolved_at:
            keys = load_keyset(run.engine, info.id, run.forms)
        else:
            res = resolve(
                run.plan,
                run.stores,
                run.identities,
                datamap=run.datamap,
                scope=scope_values,
                on_step=progress,
            )
            keys = res.keys
            # before the first write
            save_keyset(run.engine, info.id, keys, run.datamap, run.settings.secret_key)
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
                forms=run.forms,
                scope=scope_values,
                now=_utc_now(),
            )
            dicts = [r.to_dict() for r in results]
            mark_store_done(run.engine, info.id, conn, {"tables": dicts})
            Ledger(run.engine).append(
                "dsr.store_erased",
                {
                    "request_id": info.id,
                    "connection": conn,
                    "tables": [evidence(d) for d in dicts],
                },
                actor=actor,
                subject=f"dsr:{info.id}",
            )
            tables += dicts
            crash_point("store", n)
        forget_keys(run.engine, info.id)
        return DsrResult(run.complete(info, tables), tables)
    return DsrResult(failed[0])


def evidence(table: Mapping[str, Any]) -> dict[str, Any]:
    """A table's outcome for the ledger: counts, kept rows and the holds that kept them."""
    out: dict[str, Any] = {
        "table": table["table"],
        "action": table["action"],
        "rows": table["rows"],
    }
    if table.get("kept_rows") or table.get("kept"):
        out["kept_rows"] = table.get("kept_rows", 0)
        out["holds"] = [
            {"hold": k["hold"], "field": k["field"], "reason": k["reason"]}
            for k in table.get("kept", [])
        ]
    if table.get("masked_instead"):
        out["masked_instead"] = table["masked_instead"]
    return out


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _erase_dry_run(run: _Run, progress: Progress | None) -> DsrResult:
    try:
        run.ping()
        scope_values = run.typed_scope()
        res = resolve(
            run.plan,
            run.stores,
            run.identities,
            datamap=run.datamap,
            scope=scope_values,
            on_step=progress,
        )
        tables: list[dict[str, Any]] = []
        for conn in run.plan.connections:
            results = erase_store(
                run.datamap,
                run.plan,
                conn,
                run.stores.get(conn),
                run.stores.schema(conn),
                res.keys,
                run.settings.secret_key,
                forms=run.forms,
                scope=scope_values,
                now=_utc_now(),
                rollback=True,
            )
            tables += [r.to_dict() for r in results]
    finally:
        run.stores.close()
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
    scope: Mapping[str, str] | None = None,
) -> DsrResult:
    """Set new values (``{"table.field": value}``) on the person's rows; values are bound."""
    run = _Run(project, identities, "access", settings, connectors, actor, env, scope)
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
        scope_values = run.typed_scope()
        res = resolve(run.plan, run.stores, run.identities, datamap=run.datamap, scope=scope_values)
        scopes = {s.table: scope_of(s.scope, scope_values) for s in run.plan.steps}
        tables: list[dict[str, Any]] = []
        for conn in run.plan.connections:
            mine = [s.table for s in run.plan.steps if s.connection == conn and s.table in by_table]
            if mine:
                results = rectify_store(run.stores.get(conn), res.keys, by_table, mine, scopes)
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


def _check_scope(plan: Plan, scope: Mapping[str, str]) -> dict[str, str]:
    """The request's scope: every scope the reached tables declare, and nothing else."""
    missing = [n for n in plan.scopes if n not in scope]
    if missing:
        raise RequestError(
            f"the tables this request reaches are scoped by {', '.join(missing)}: a request "
            "without it would touch every scope",
            where="scope",
            fix=f"give it, e.g. --scope {missing[0]}=<id> (the person's rights are exercised "
            "with one controller)",
        )
    unknown = [n for n in scope if n not in plan.scopes]
    if unknown:
        raise RequestError(
            f"no table this request reaches is scoped by {unknown[0]!r}",
            where="scope",
            fix=f"use one of: {', '.join(plan.scopes)}" if plan.scopes else "remove --scope",
        )
    for name, value in scope.items():
        if not str(value).strip() or "\x00" in str(value):
            raise RequestError(f"scope {name} has no usable value", where="scope", fix="give one")
    return dict(scope)


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

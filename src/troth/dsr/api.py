"""The Python API of data-subject requests: the same calls as ``troth dsr ...``.

>>> result = troth.dsr.erase("examples/mydigisoft", [Identity("email", "ada@example.com")])

Each call walks the request through its lifecycle (an operator runs it, so identity verification
and approval are recorded as done by ``actor``), runs it, and returns a :class:`DsrResult`. Running
the same call again with the same identities resumes an unfinished request of that kind. A store
that is down leaves the request ``failed`` with a retryable reason; nothing half-done is reported
``completed``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from troth.config import Settings
from troth.connectors.base import Connector
from troth.dsr.execute import crash_point, erase_store, parse_changes, rectify_store
from troth.dsr.export import CountingSink, ZipExport
from troth.dsr.filesets import FileStores, access_files, erase_files, plan_files
from troth.dsr.identity import Identity, identity_hash
from troth.dsr.keystores import KeyStores, access_keys, erase_keys, plan_keys
from troth.dsr.plan import Plan, PlanKind, Step
from troth.dsr.progress import done_stores, forget_keys, load_keyset, mark_store_done, save_keyset
from troth.dsr.recipients import plan_for_run as _plan_notices
from troth.dsr.recipients import queue_for_run as _queue_notices
from troth.dsr.rectify_others import (
    check_others,
    plan_other_changes,
    rectify_others,
    split_changes,
)
from troth.dsr.requests import Kind, RequestInfo, Requests, Status
from troth.dsr.resolve import resolve, scope_of
from troth.dsr.restriction import restrict_identities
from troth.dsr.run import ProjectLike, Run, evidence, plan_for, project_of, utc_now
from troth.dsr.services import (
    Services,
    access_services,
    erase_services,
    plan_services,
    refuse_unerasable,
)
from troth.dsr.spool import spool_dir, sweep_spools
from troth.errors import RequestError, TrothError
from troth.sharing.notices import plan_notices, queue_notices
from troth.sharing.register import DisclosedTo, disclosed_to
from troth.store import open_store

S = TypeVar("S")

Progress = Callable[[Step, int], None]


@dataclass
class DsrResult:
    request: RequestInfo | None
    tables: list[dict[str, Any]] = field(default_factory=list)
    export: Path | None = None
    dry_run: bool = False
    #: why the request failed (None when it completed)
    error: TrothError | None = None
    #: the Art. 19 notices to recipients it queued (a dry run: would queue)
    notices: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when completed, else the failure's code (3: a store is down, 4: a store refused,
        2: the request or the map cannot be served as asked)."""
        if self.ok:
            return 0
        return self.error.exit_code if self.error is not None else 1

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
            "notices": self.notices,
        }


def plan_request(
    project: ProjectLike, identities: Sequence[str], kind: PlanKind = "access"
) -> Plan:
    """The traversal for identity names (``["email"]``), without touching any store."""
    proj, _ = project_of(project)
    return plan_for(proj, set(identities), kind)


def plan_other_stores(project: ProjectLike, identities: Sequence[str]) -> list[dict[str, Any]]:
    """The key stores, file sets and services a request with these identity names reaches."""
    from troth.dsr.others import plan_others

    _proj, datamap = project_of(project)
    return plan_others(datamap, list(identities))


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
    filed: RequestInfo | None = None,
) -> DsrResult:
    """Everything held about the person, as a zip (JSON and CSV per table, HTML summary).

    *filed*: the request to run, as read from the state DB (a worker's job); default: the open
    access request for these identities, or a new one."""
    run = Run(project, identities, "access", settings, connectors, actor, env, scope)
    info = run.start(Kind.access, filed)
    path = output or run.settings.home / "exports" / f"{info.id}.zip"
    with run.guarded(info) as failed:
        run.ping()
        root = spool_dir(run.settings)
        sweep_spools(root)  # leftovers of killed runs
        export = ZipExport(
            path,
            request_id=info.id,
            policy=run.project.policy.policy,
            datamap=run.datamap,
            types=run.column_types(),
            spool_root=root,
            disclosed=_disclosed_to(run),
        )
        key_steps = plan_keys(run.datamap, run.identities)
        file_steps = plan_files(run.datamap, run.identities)
        try:
            svc_steps = plan_services(run.datamap, run.identities)
            with (
                KeyStores(run.env) as keystores,
                FileStores(run.env) as filestores,
                Services(run.env) as services,
            ):
                keystores.ping(key_steps)
                filestores.ping(file_steps)
                services.open_all(svc_steps)
                with run.reading():
                    res = resolve(
                        run.plan,
                        run.stores,
                        run.identities,
                        datamap=run.datamap,
                        scope=run.typed_scope(),
                        sink=export,
                        on_step=progress,
                    )
                key_tables = access_keys(key_steps, keystores, export)
                key_tables += access_files(file_steps, filestores, export)
                key_tables += access_services(svc_steps, services, export)
            export.finish()
        except BaseException:
            export.abort()
            raise
        counts = {str(t): n for t, n in res.counts.items()}
        tables = [{"table": t, "action": "access", "rows": n} for t, n in counts.items()]
        tables += [
            {"table": str(t), "action": "mention", "rows": n} for t, n in res.mentions.items()
        ]
        tables += key_tables
        return DsrResult(run.complete(info, tables), tables, path)
    return DsrResult(failed[0], error=run.error)


def _disclosed_to(run: Run) -> list[DisclosedTo]:
    """The recipients the register says received data of any of the request's identities."""
    key = run.settings.secret_key
    return disclosed_to(run.engine, [identity_hash(key, i) for i in run.identities])


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
    filed: RequestInfo | None = None,
) -> DsrResult:
    """Erase the person's data: mask or delete by the plan, legal holds kept and reported.

    ``dry_run``: resolve and run every statement in transactions that are rolled back, so the
    counts are exactly those the erasure will have; nothing is recorded. *filed*: as for
    :func:`access`."""
    run = Run(project, identities, "erase", settings, connectors, actor, env, scope)
    planned = _plan_notices(run, "erasure")  # refuses a recipient that cannot be told
    refuse_unerasable(plan_services(run.datamap, run.identities))
    if dry_run:
        result = _erase_dry_run(run, progress)
        result.notices = [p.to_dict() for p in planned]
        return result
    info = run.start(Kind.erasure, filed)
    with run.guarded(info) as failed:
        run.ping()
        with (
            KeyStores(run.env) as keystores,
            FileStores(run.env) as filestores,
            Services(run.env) as services,
        ):
            keystores.ping(plan_keys(run.datamap, run.identities))  # every store up before
            filestores.ping(plan_files(run.datamap, run.identities))  # the first write
            services.open_all(plan_services(run.datamap, run.identities))
        scope_values = run.typed_scope()
        if info.resolved_at:
            keys = load_keyset(run.engine, info.id, run.forms)
        else:
            with run.reading():
                res = resolve(
                    run.plan,
                    run.stores,
                    run.identities,
                    datamap=run.datamap,
                    scope=scope_values,
                    on_step=progress,
                    keys_only=True,
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
                now=utc_now(),
            )
            dicts = [r.to_dict() for r in results]
            evidence_data = {
                "request_id": info.id,
                "connection": conn,
                "tables": [evidence(d) for d in dicts],
            }
            mark_store_done(
                run.engine, info.id, conn, {"tables": dicts}, evidence=evidence_data, actor=actor
            )
            tables += dicts
            crash_point("store", n)
        tables += _erase_keystores(run, info.id, done, actor)
        sent = _queue_notices(run, info.id, "erasure", planned, actor)
        done_info = run.complete(info, tables, also=partial(forget_keys, request_id=info.id))
        return DsrResult(done_info, tables, notices=sent)
    return DsrResult(failed[0], error=run.error)


def _erase_dry_run(run: Run, progress: Progress | None) -> DsrResult:
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
            keys_only=True,
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
                now=utc_now(),
                rollback=True,
            )
            tables += [r.to_dict() for r in results]
        key_steps = plan_keys(run.datamap, run.identities)
        file_steps = plan_files(run.datamap, run.identities)
        svc_steps = plan_services(run.datamap, run.identities)
        with (
            KeyStores(run.env) as keystores,
            FileStores(run.env) as filestores,
            Services(run.env) as services,
        ):
            keystores.ping(key_steps)
            filestores.ping(file_steps)
            tables += erase_keys(key_steps, keystores, run.settings.secret_key, dry_run=True)
            tables += erase_files(file_steps, filestores, dry_run=True)
            tables += erase_services(svc_steps, services, dry_run=True)
    finally:
        run.stores.close()
    return DsrResult(None, tables, dry_run=True)


def _erase_keystores(
    run: Run, request_id: str, done: Mapping[str, Mapping[str, Any]], actor: str
) -> list[dict[str, Any]]:
    """Erase in each key store, file set and service (one resumable store each, after SQL)."""
    key = run.settings.secret_key
    key_steps = plan_keys(run.datamap, run.identities)
    file_steps = plan_files(run.datamap, run.identities)
    svc_steps = plan_services(run.datamap, run.identities)
    tables: list[dict[str, Any]] = []
    n = len(run.plan.connections)  # crash points go on counting after the SQL stores
    with (
        KeyStores(run.env) as keystores,
        FileStores(run.env) as filestores,
        Services(run.env) as services,
    ):
        keystores.ping(key_steps)
        filestores.ping(file_steps)
        stores: list[tuple[str, Callable[[], list[dict[str, Any]]]]] = [
            *(
                (f"keystore:{ks}", partial(erase_keys, steps, keystores, key))
                for ks, steps in _grouped(key_steps, lambda s: s.keystore)
            ),
            *(
                (f"files:{fs}", partial(erase_files, steps, filestores))
                for fs, steps in _grouped(file_steps, lambda s: s.fileset)
            ),
            *(
                (f"service:{svc}", partial(erase_services, steps, services))
                for svc, steps in _grouped(svc_steps, lambda s: s.service.name)
            ),
        ]
        for store, erase_one in stores:
            if store in done:
                tables += done[store]["tables"]
                continue
            dicts = erase_one()
            proof = {"request_id": request_id, "connection": store,
                     "tables": [evidence(d) for d in dicts]}  # fmt: skip
            mark_store_done(
                run.engine, request_id, store, {"tables": dicts}, evidence=proof, actor=actor
            )
            tables += dicts
            n += 1
            crash_point("store", n)
    return tables


def _grouped(steps: Sequence[S], name: Callable[[S], str]) -> list[tuple[str, list[S]]]:
    """The steps by store, in the order the stores first appear."""
    groups: dict[str, list[S]] = {}
    for step in steps:
        groups.setdefault(name(step), []).append(step)
    return list(groups.items())


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
    run = Run(project, identities, "access", settings, connectors, actor, env, scope)
    sql_changes, other = split_changes(run.datamap, changes)  # files, key stores, services
    by_table = parse_changes(run.datamap, sql_changes)
    others = plan_other_changes(run.datamap, run.identities, other) if other else None
    reached = {s.table for s in run.plan.steps}
    for tid in by_table:
        if tid not in reached:
            raise RequestError(
                f"table {tid} is not reached from the identities given",
                where="rectification",
                fix="name fields of tables the plan reaches (`troth dsr plan`)",
            )
    planned = _plan_notices(run, "rectification")
    if others:
        check_others(others, run.env)  # files, key stores, services: before any write
    info = run.start(Kind.rectification)
    with run.guarded(info) as failed:
        run.ping()
        scope_values = run.typed_scope()
        with run.reading():
            res = resolve(
                run.plan, run.stores, run.identities, datamap=run.datamap, scope=scope_values
            )
        scopes = {s.table: scope_of(s.scope, scope_values) for s in run.plan.steps}
        tables: list[dict[str, Any]] = []
        for conn in run.plan.connections:
            mine = [s.table for s in run.plan.steps if s.connection == conn and s.table in by_table]
            if mine:
                results = rectify_store(run.stores.get(conn), res.keys, by_table, mine, scopes)
                tables += [r.to_dict() for r in results]
        tables += rectify_others(others, run.env) if others else []
        sent = _queue_notices(run, info.id, "rectification", planned, actor, list(changes))
        return DsrResult(run.complete(info, tables), tables, notices=sent)
    return DsrResult(failed[0], error=run.error)


def restrict(
    project: ProjectLike,
    identities: Sequence[Identity],
    *,
    settings: Settings | None = None,
    actor: str = "api",
    env: Mapping[str, str] | None = None,
    scope: Mapping[str, str] | None = None,
) -> DsrResult:
    """Mark the person restricted (by keyed hash): purpose checks then refuse processing.

    With ``scope`` (a tenant), only there: decisions in that scope refuse; without, everywhere."""
    proj, datamap = project_of(project)
    settings = settings or Settings.from_env(env)
    engine = open_store(settings)
    planned = plan_notices(
        proj.policy.policy, datamap, engine, settings.secret_key, identities, "restriction"
    )
    requests = Requests(engine, settings.secret_key, actor=actor)
    keyed = [
        *identities,
        *(Identity(f"scope_{k}", str(v)) for k, v in sorted((scope or {}).items())),
    ]
    info = requests.find_open(Kind.restriction, keyed) or requests.submit(
        Kind.restriction, keyed, [j.value for j in proj.policy.policy.jurisdictions]
    )
    for to in (Status.identity_verified, Status.approved, Status.running):
        if to.value != info.status and to in _next(Status(info.status)):
            info = requests.transition(info.id, to)
    added = restrict_identities(engine, settings.secret_key, identities, info.id, scope)
    tables = [{"table": "troth.dsr_restriction", "action": "restrict", "rows": added}]
    queue_notices(engine, settings.secret_key, info.id, "restriction", planned, identities,
                  actor=actor)  # fmt: skip
    info = requests.transition(
        info.id, Status.completed, result={"tables": tables}, data={"identities_marked": added}
    )
    return DsrResult(info, tables, notices=[p.to_dict() for p in planned])


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

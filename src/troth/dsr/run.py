"""One run of a data-subject request: the project, its plan, the stores and troth's state.

:class:`Run` checks everything a request needs before it touches a store (the identities'
values, the scope, a map that reaches every personal table), opens the stores lazily, and walks
the request through its lifecycle; the calls of :mod:`troth.dsr.api` use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from troth.config import Settings
from troth.connectors.base import Connector
from troth.datamap.erasure import policy_erasure_defaults
from troth.datamap.graph import Graph, TableId
from troth.datamap.model import DataMap
from troth.dsr.identity import Identity, identity_set_hash
from troth.dsr.plan import Plan, PlanKind, build_plan
from troth.dsr.requests import OPEN, Kind, RequestInfo, Requests, Status
from troth.dsr.resolve import identity_forms
from troth.dsr.stores import Stores
from troth.errors import RequestError, RequestStateError, TrothError
from troth.project import Project, cached_project
from troth.store import open_store

ProjectLike = Project | str | Path


def project_of(project: ProjectLike) -> tuple[Project, DataMap]:
    """The project (loaded again only when its files changed) and its data map."""
    proj = project if isinstance(project, Project) else cached_project(project)
    if proj.datamap is None:
        raise RequestError(
            "the project has no data map",
            where=str(proj.policy.path.parent),
            fix="write datamap.yaml beside policy.yaml (`troth datamap introspect` starts one)",
        )
    return proj, proj.datamap.datamap


def masking_defaults(project: Project) -> dict[str, str]:
    return policy_erasure_defaults(project.policy.policy.data_categories)


def plan_for(project: Project, names: set[str], kind: PlanKind) -> Plan:
    """The plan of a request shape (identity names, kind), built once per loaded project."""
    key = ("plan", frozenset(names), kind)
    plan = project.derived.get(key)
    if plan is None:
        assert project.datamap is not None
        plan = build_plan(
            project.datamap.datamap, names, kind, masking_defaults=masking_defaults(project)
        )
        project.derived[key] = plan
    return plan


def _complete(project: Project, datamap: DataMap) -> None:
    """Refuse a request that would miss personal data: a table no identity reaches."""
    missing = project.derived.get("unreachable")
    if missing is None:
        missing = project.derived["unreachable"] = Graph.build(datamap).unreachable_tables()
    if missing:
        names = ", ".join(str(t) for t in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise RequestError(
            f"{len(missing)} table(s) hold personal data that no identity reaches ({names}): "
            "a request would miss them",
            where="data map",
            fix="link them with a reference (`kind: owns`) or mark their identity field; "
            "`troth check` shows each one",
        )


class Run:
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
        self.project, self.datamap = project_of(project)
        self.identities = list(identities)
        if not self.identities:
            raise RequestError("a request needs at least one identity", fix="pass --email")
        self.plan = plan_for(self.project, {i.name for i in self.identities}, kind)
        _complete(self.project, self.datamap)
        self.forms = identity_forms(self.datamap, self.identities)  # refuses bad values early
        self.scope = _check_scope(self.plan, scope or {})
        self.settings = settings or Settings.from_env(env)
        self.env = env
        self.stores = Stores(
            env,
            connectors,
            hash_key=self.settings.secret_key,
            cache_dir=self.settings.home / "cache" / "schemas",  # the next process starts warm
        )
        for name in self.plan.connections:  # configuration errors surface before any request
            self.stores.get(name)
        self.engine: Engine = open_store(self.settings)
        #: what made the request fail (its exit code tells a store that is down from a refusal)
        self.error: TrothError | None = None
        self.requests = Requests(self.engine, self.settings.secret_key, actor=actor)

    @property
    def request_identities(self) -> list[Identity]:
        """The identities and the scope: a request in another tenant is another request."""
        scoped = [Identity(f"scope_{k}", str(v)) for k, v in sorted(self.scope.items())]
        return [*self.identities, *scoped]

    def column_types(self) -> dict[TableId, dict[str, str]]:
        """Per reached table, its live column types (values rendered alike on every engine)."""
        out: dict[TableId, dict[str, str]] = {}
        for step in self.plan.steps:
            info = self.stores.schema(step.connection).table(step.table.table)
            if info is not None:
                out[step.table] = {c.name: c.type for c in info.columns}
        for m in self.plan.mentions:
            info = self.stores.schema(m.connection).table(m.table.table)
            if info is not None:
                out[m.table] = {c.name: c.type for c in info.columns}
        return out

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

    def start(self, kind: Kind, filed: RequestInfo | None = None) -> RequestInfo:
        """The open request of this kind for these identities (resumed), or a new one; running.

        A new request is recorded, verified (by the operator), approved and running in one
        transaction, each step with its audit entry. *filed*: the request to run, as the
        caller read it (a worker's job), checked to be of this kind, for these identities and
        open."""
        if filed is None:
            info = self.requests.find_open(kind, self.request_identities)
        else:
            info = self._filed(kind, filed)
        if info is not None and info.status == Status.paused:
            raise RequestError(
                f"request {info.id} is paused, waiting for the person",
                where="request lifecycle",
                fix="resume it first (request API: POST /api/v1/requests/{id}/resume)",
            )
        status = Status(info.status) if info else Status.received
        steps = {
            Status.received: [Status.identity_verified, Status.approved, Status.running],
            Status.identity_verified: [Status.approved, Status.running],
            Status.approved: [Status.running],
            Status.failed: [Status.running],
            Status.running: [Status.running],  # the process that ran it died: resume
        }[status]
        moves: list[tuple[Status, dict[str, Any] | None]] = []
        for to in steps:
            data: dict[str, Any] | None = None
            if to == Status.identity_verified:
                data = {"method": "operator"}
            if to == Status.running and info is not None and info.resolved_at:
                data = {"resumed": True}
            moves.append((to, data))
        if info is None:
            jurisdictions = [j.value for j in self.project.policy.policy.jurisdictions]
            return self.requests.submit(kind, self.request_identities, jurisdictions, then=moves)
        return self.requests.advance(info.id, moves)

    def _filed(self, kind: Kind, filed: RequestInfo) -> RequestInfo:
        target = identity_set_hash(self.settings.secret_key, self.request_identities)
        if filed.kind != kind.value or filed.identity_set != target:
            raise RequestError(
                f"request {filed.id} ({filed.kind}) is not the {kind.value} request of these "
                "identities",
                where="request lifecycle",
                fix="run the request with the identities and scope it was filed with",
            )
        if Status(filed.status) not in OPEN:
            raise RequestStateError(
                f"request {filed.id} is {filed.status}: it does not run again",
                where="request lifecycle",
                fix="file a new request",
            )
        return filed

    @contextmanager
    def guarded(self, info: RequestInfo) -> Iterator[list[RequestInfo]]:
        """Run the block; a failure leaves the request ``failed`` (retryable when it can be)."""
        out: list[RequestInfo] = []
        try:
            yield out
        except TrothError as exc:
            self.error = exc
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

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Hold one connection per store while the person's rows are read (a transaction that
        writes nothing and is rolled back): one checkout per store, not one per statement."""
        with ExitStack() as stack:
            for name in self.plan.connections:
                stack.enter_context(self.stores.get(name).transaction(rollback=True))
            yield

    def ping(self) -> None:
        """Raise StoreDownError now when a store is down, before anything is read or written.

        See :meth:`Stores.ping`."""
        for name in self.plan.connections:
            self.stores.ping(name)

    def complete(
        self,
        info: RequestInfo,
        tables: list[dict[str, Any]],
        also: Callable[[Connection], None] | None = None,
    ) -> RequestInfo:
        """Record the request completed; *also* writes more in that transaction."""
        counts = [evidence(t) for t in tables]
        rows = sum(int(t["rows"]) for t in tables)
        return self.requests.transition(
            info.id,
            Status.completed,
            result={"tables": tables, "rows": rows},
            data={"tables": counts, "rows": rows},
            also=also,
        )


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


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


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

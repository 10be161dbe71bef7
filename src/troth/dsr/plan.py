"""The planner: from the identities a request names to an ordered, printable traversal.

A :class:`Plan` is pure data built from the data map alone (no store is touched): an ordered list
of :class:`Step` (one table each: the columns it is looked up by, where their values come from,
the scope columns that bound it, the columns it yields for later steps, its SQL with placeholders),
the :class:`Mention` lookups (an identity inside a JSON array of someone else's row) and, for an
erasure, the :class:`TableAction` per table in foreign-key-safe order: what it does to every
personal field (:mod:`troth.datamap.erasure`), what legal holds keep and until when, and which
references may point at its rows (a row that a row which stays still points at is masked instead
of deleted).

Order: breadth first from the identity tables over :meth:`Graph.edges_from`, which follows only
``owns``, ``link`` and ``same_person`` references. A table reached by several edges is one step
with several lookups. When an edge leads back to an earlier step (a cycle, a self-reference) the
plan is *cyclic*: the executor repeats the steps with only the newly found values until nothing new
turns up.

A plan that cannot erase every personal field it reaches raises :class:`RequestError` here,
before any store is touched.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from troth.datamap.erasure import FieldAction, field_actions
from troth.datamap.graph import FieldId, Graph, IdentityRef, TableId, holds_personal_data
from troth.datamap.model import DataMap, EraseAction, LegalHold, RefKind, Table
from troth.datamap.normalise import form_of
from troth.dsr.sqltext import delete_sql, mask_sql, select_sql
from troth.errors import RequestError
from troth.policy.duration import Duration

PlanKind = Literal["access", "erase"]


@dataclass(frozen=True)
class Lookup:
    """Rows of the step's table whose ``column`` holds values of an identity or another field."""

    column: str
    identity: str | None = None
    source: FieldId | None = None
    form: str | None = None  # the identity's normal form (identity lookups)
    stored: bool = False
    path: tuple[str, ...] = ()  # a JSON member path in the column (identity lookups)
    kind: RefKind | None = None  # the reference kind of a source lookup

    def describe(self) -> str:
        if self.identity:
            at = f" at {'.'.join(self.path)}" if self.path else ""
            return f"identity {self.identity}{at}"
        return f"{self.source} ({self.kind.value if self.kind else 'owns'})"


@dataclass(frozen=True)
class Step:
    index: int
    table: TableId
    connection: str
    lookups: tuple[Lookup, ...]
    primary_key: tuple[str, ...]
    yields: tuple[str, ...]
    personal: bool
    sql: tuple[str, ...]
    scope: tuple[tuple[str, str], ...] = ()  # (scope name, column)

    def key_columns(self) -> tuple[str, ...]:
        """Columns a resolution reads: primary key, lookup columns and yielded columns."""
        cols = [*self.primary_key, *(lk.column for lk in self.lookups), *self.yields]
        return tuple(dict.fromkeys(cols))


@dataclass(frozen=True)
class Mention:
    """The identity inside a JSON array of rows that are not the person's (a ``cc`` list): only
    the matching elements are theirs (exported, masked with ``strategy``). ``text``: the identity
    written in a free-text field (``free_text: true``), anyone's rows: its occurrences are
    exported and redacted, the rest of the text is not the person's."""

    table: TableId
    connection: str
    column: str
    path: tuple[str, ...]
    identity: str
    form: str
    strategy: str
    primary_key: tuple[str, ...]
    scope: tuple[tuple[str, str], ...] = ()
    text: bool = False

    @property
    def where(self) -> str:
        """``column`` (free text) or ``column:path[]`` (JSON array), for plans and results."""
        return f"{self.column} (free text)" if self.text else f"{self.column}:{self.path_text}"

    @property
    def path_text(self) -> str:
        return "" if self.text else ".".join(self.path) + "[]"


@dataclass(frozen=True)
class Kept:
    """Data erasure keeps: a field (``*`` for the whole row) and the hold's reason."""

    field: str
    hold: str
    reason: str
    law: str | None = None
    until: str | None = None  # "10 years since issued_at": the hold ends


@dataclass(frozen=True)
class Hold:
    """A hold of the table (``field`` ``*``) or of one field; ``period``/``since`` end it.

    ``via``: ``since`` is a column of a referenced table, reached by ``(this table's column,
    referenced table, its column)``.
    """

    id: str
    field: str
    period: Duration | None = None
    since: str | None = None
    via: tuple[str, str, str] | None = None


@dataclass(frozen=True)
class Referrer:
    """Rows of ``table`` whose ``columns`` point at ``parent_columns`` of the action's table."""

    table: TableId
    columns: tuple[str, ...]
    parent_columns: tuple[str, ...]
    kind: str  # a reference kind of the map, or "fk" (declared by the store)


@dataclass(frozen=True)
class TableAction:
    """What erasure does to one table's rows of the person."""

    table: TableId
    connection: str
    action: Literal["mask", "delete_row", "keep", "none"]
    masks: tuple[tuple[str, str], ...] = ()  # (field, strategy); delete_row: the fallback
    kept: tuple[Kept, ...] = ()
    sql: str | None = None
    json_masks: tuple[tuple[str, tuple[str, ...], bool, str], ...] = ()  # field, path, [], strategy
    holds: tuple[Hold, ...] = ()
    referrers: tuple[Referrer, ...] = ()


@dataclass(frozen=True)
class Plan:
    kind: PlanKind
    identities: tuple[str, ...]
    steps: tuple[Step, ...]
    cyclic: bool
    actions: tuple[TableAction, ...] = ()
    connections: tuple[str, ...] = field(default=())
    mentions: tuple[Mention, ...] = ()
    #: scope names the reached tables are bounded by
    scopes: tuple[str, ...] = ()

    def step(self, table: TableId) -> Step:
        return next(s for s in self.steps if s.table == table)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "identities": list(self.identities),
            "scopes": list(self.scopes),
            "cyclic": self.cyclic,
            "steps": [
                {
                    "index": s.index,
                    "table": str(s.table),
                    "connection": s.connection,
                    "lookups": [{"column": lk.column, "from": lk.describe()} for lk in s.lookups],
                    "scope": dict(s.scope),
                    "primary_key": list(s.primary_key),
                    "yields": list(s.yields),
                    "personal": s.personal,
                    "sql": list(s.sql),
                }
                for s in self.steps
            ],
            "mentions": [
                {
                    "table": str(m.table),
                    "field": m.column,
                    "path": m.path_text,
                    "identity": m.identity,
                    "strategy": m.strategy,
                    "free_text": m.text,
                }
                for m in self.mentions
            ],
            "erase": [
                {
                    "table": str(a.table),
                    "action": a.action,
                    "masks": [{"field": f, "strategy": m} for f, m in a.masks],
                    "json_masks": [
                        {"field": f, "path": ".".join(p) + ("[]" if arr else ""), "strategy": m}
                        for f, p, arr, m in a.json_masks
                    ],
                    "kept": [
                        {
                            "field": k.field,
                            "hold": k.hold,
                            "reason": k.reason,
                            "law": k.law,
                            "until": k.until,
                        }
                        for k in a.kept
                    ],
                    "referred_by": [
                        f"{r.table}.{','.join(r.columns)} ({r.kind})" for r in a.referrers
                    ],
                    "sql": a.sql,
                }
                for a in self.actions
            ],
        }


def build_plan(
    datamap: DataMap,
    identities: Iterable[str],
    kind: PlanKind = "access",
    *,
    masking_defaults: Mapping[str, str] | None = None,
) -> Plan:
    """The traversal for a request naming ``identities`` (identity names, never values)."""
    graph = Graph.build(datamap)
    names = tuple(sorted(set(identities)))
    if not names:
        raise RequestError("a request needs at least one identity", fix="pass --email or another")
    known = graph.identity_names()
    for name in names:
        if name not in known:
            raise RequestError(
                f"no field of the data map holds the identity {name!r}",
                where="data map",
                fix=f"use one of: {', '.join(known)}" if known else "mark identity fields",
            )
    order = _order(graph, names)
    index = {tid: i for i, tid in enumerate(order)}
    conn = {TableId(ds.name, t.name): ds.connection for ds, t in datamap.tables()}
    steps: list[Step] = []
    cyclic = False
    for i, tid in enumerate(order):
        table = graph.tables[tid]
        lookups = [
            _identity_lookup(datamap, r)
            for r in graph.identity_refs
            if r.table_id == tid and r.name in names and not r.mention
        ]
        for edge in graph.edges:
            if edge.dst.table_id == tid and edge.src.table_id in index:
                lookups.append(Lookup(edge.dst.field, source=edge.src, kind=edge.kind))
                cyclic = cyclic or index[edge.src.table_id] >= i
        yields = tuple(
            dict.fromkeys(e.src.field for e in graph.edges_from(tid) if e.dst.table_id in index)
        )
        pk = tuple(table.primary_key())
        found = tuple(dict.fromkeys(lookups))
        cols = tuple(dict.fromkeys([*pk, *(lk.column for lk in found), *yields]))
        scope = tuple(sorted(table.scope.items()))
        sql = tuple(select_sql(tid.table, cols, lk.column, lk.form, scope) for lk in found)
        steps.append(
            Step(i, tid, conn[tid], found, pk, yields, holds_personal_data(table), sql, scope)
        )
    defaults = dict(masking_defaults or {})
    mentions = _mentions(datamap, graph, names, conn, defaults)
    actions = _erase_actions(graph, steps, defaults) if kind == "erase" else ()
    scopes = sorted(
        {n for s in steps for n, _ in s.scope} | {n for m in mentions for n, _ in m.scope}
    )
    return Plan(
        kind,
        names,
        tuple(steps),
        cyclic,
        actions,
        tuple(dict.fromkeys([*(s.connection for s in steps), *(m.connection for m in mentions)])),
        mentions,
        tuple(scopes),
    )


def _identity_lookup(datamap: DataMap, ref: IdentityRef) -> Lookup:
    form = form_of(datamap.identity_spec(ref.name))
    return Lookup(
        ref.field.field,
        identity=ref.name,
        form=form,
        stored=ref.match.value == "stored",
        path=ref.path,
    )


def _mentions(
    datamap: DataMap,
    graph: Graph,
    names: Sequence[str],
    conn: Mapping[TableId, str],
    defaults: Mapping[str, str],
) -> tuple[Mention, ...]:
    out = []
    for ref in graph.identity_refs:
        if not ref.mention or ref.name not in names:
            continue
        table = graph.tables[ref.table_id]
        action = next(
            a
            for a in field_actions(table, defaults)
            if a.field == ref.field.field and a.path == ref.path
        )
        out.append(
            Mention(
                ref.table_id,
                conn[ref.table_id],
                ref.field.field,
                ref.path,
                ref.name,
                form_of(datamap.identity_spec(ref.name)),
                action.strategy or "hash",
                tuple(table.primary_key()),
                tuple(sorted(table.scope.items())),
            )
        )
    for ds, table in datamap.tables():  # identities written in free text, in anyone's rows
        tid = TableId(ds.name, table.name)
        for f in table.fields:
            if not f.free_text:
                continue
            for name in names:
                out.append(
                    Mention(
                        tid,
                        conn[tid],
                        f.name,
                        (),
                        name,
                        form_of(datamap.identity_spec(name)),
                        "redact",
                        tuple(table.primary_key()),
                        tuple(sorted(table.scope.items())),
                        text=True,
                    )
                )
    return tuple(out)


def _order(graph: Graph, names: Sequence[str]) -> list[TableId]:
    """Reached tables, each after every table it gets values from; cycles broken breadth first."""
    roots = sorted(graph.identity_tables(names))
    bfs = {t: i for i, t in enumerate(roots)}
    queue = deque(roots)
    while queue:
        tid = queue.popleft()
        for edge in graph.edges_from(tid):
            if edge.dst.table_id not in bfs:
                bfs[edge.dst.table_id] = len(bfs)
                queue.append(edge.dst.table_id)
    sources: dict[TableId, set[TableId]] = {t: set() for t in bfs}
    for edge in graph.edges:
        a, b = edge.src.table_id, edge.dst.table_id
        if a in bfs and b in bfs and a != b:
            sources[b].add(a)
    order: list[TableId] = []
    left = sorted(bfs, key=bfs.__getitem__)
    while left:
        placed = set(order)
        ready = [t for t in left if sources[t] <= placed]
        nxt = ready[0] if ready else left[0]  # no table is ready: a cycle, break it
        order.append(nxt)
        left.remove(nxt)
    return order


def hold_via(tid: TableId, table: Table, column: str) -> tuple[str, tuple[str, str, str] | None]:
    """``(column, via)`` for a hold's ``since``: a column of the table, or ``other.column`` of a
    table one of its fields references (raises when no field does)."""
    other, dot, col = column.rpartition(".")
    if not dot:
        return column, None
    for f in table.fields:
        for ref in f.references:
            ds, target, key = ref.target(tid.dataset)
            if ds == tid.dataset and target == other:
                return col, (f.name, target, key)
    raise RequestError(
        f"a hold of {tid} runs since {column}, but no field of the table references {other!r}",
        where=f"data map {tid}",
        fix=f"reference {other} from a field of {tid.table}, or name a column of the table",
    )


def _holds(tid: TableId, table: Table) -> tuple[tuple[Hold, ...], tuple[Kept, ...]]:
    holds: list[Hold] = []
    kept: list[Kept] = []

    def add(h: LegalHold, fld: str) -> None:
        ends = h.ends()
        if ends is None:
            holds.append(Hold(h.id, fld))
        else:
            since, via = hold_via(tid, table, ends[1])
            holds.append(Hold(h.id, fld, ends[0], since, via))
        kept.append(Kept(fld, h.id, h.reason, h.law, h.for_))

    for h in table.legal_holds:
        add(h, "*")
    for f in table.fields:
        for h in f.legal_holds:
            add(h, f.name)
    return tuple(holds), tuple(kept)


def _table_action(
    tid: TableId,
    connection: str,
    table: Table,
    step: Step,
    graph: Graph,
    defaults: Mapping[str, str],
) -> TableAction:
    actions = field_actions(table, defaults)
    problems = [a for a in actions if a.problem]
    if problems:
        a = problems[0]
        raise RequestError(
            f"erasure cannot handle personal field {tid}.{a.address}: {a.problem}",
            where="data map",
            fix="erase the table's rows (`erase: delete_row`), keep them with a legal hold, or "
            "stop marking the key personal; `troth check` lists every field's erasure action",
        )
    holds, kept = _holds(tid, table)
    referrers = _referrers(graph, tid)
    forever = {h.field for h in holds if h.period is None}
    masks = _masks([a for a in actions if a.field not in forever])
    json_masks = tuple(
        (a.field, a.path, a.array, a.strategy or "redact")
        for a in actions
        if a.path and a.action in ("mask", "delete_row")
    )
    table_forever = any(h.field == "*" and h.period is None for h in holds)
    if table_forever:
        return TableAction(tid, connection, "keep", kept=kept, holds=holds)
    key = step.primary_key or tuple(lk.column for lk in step.lookups[:1])
    field_held = any(h.field != "*" for h in holds)
    link_only = bool(step.lookups) and all(lk.kind is RefKind.link for lk in step.lookups)
    delete = (table.erase is EraseAction.delete_row or link_only) and not field_held
    if delete:
        return TableAction(
            tid,
            connection,
            "delete_row",
            masks,
            kept,
            delete_sql(tid.table, key),
            json_masks,
            holds,
            referrers,
        )
    if not masks and not json_masks:
        return TableAction(tid, connection, "none", kept=kept, holds=holds, referrers=referrers)
    return TableAction(
        tid,
        connection,
        "mask",
        masks,
        kept,
        mask_sql(tid.table, masks, key),
        json_masks,
        holds,
        referrers,
    )


def _masks(actions: Sequence[FieldAction]) -> tuple[tuple[str, str], ...]:
    """Column masks: the field's strategy for mask, keep-until-the-hold-ends and delete_row."""
    return tuple(
        (a.field, a.strategy)
        for a in actions
        if not a.path and a.action in ("mask", "delete_row", "keep") and a.strategy
    )


def _referrers(graph: Graph, tid: TableId) -> tuple[Referrer, ...]:
    out = {
        Referrer(lk.child.table_id, (lk.child.field,), (lk.parent.field,), lk.kind.value)
        for lk in graph.links_to(tid)
        if lk.child.dataset == tid.dataset
    }
    return tuple(sorted(out, key=lambda r: (str(r.table), r.columns)))


def _erase_actions(
    graph: Graph, steps: Sequence[Step], defaults: Mapping[str, str]
) -> tuple[TableAction, ...]:
    actions = {
        s.table: _table_action(s.table, s.connection, graph.tables[s.table], s, graph, defaults)
        for s in steps
    }
    # a table whose field references another table's field is its child: write children first
    parents: dict[TableId, set[TableId]] = {tid: set() for tid in actions}
    for link in graph.links:
        child, parent = link.child.table_id, link.parent.table_id
        if child in actions and parent in actions and child != parent:
            parents[child].add(parent)
    ordered: list[TableId] = []
    placed: set[TableId] = set()
    pending = sorted(actions, key=lambda t: next(s.index for s in steps if s.table == t))

    def place(tid: TableId, path: frozenset[TableId]) -> None:
        if tid in placed or tid in path:  # placed, or a reference cycle (broken here)
            return
        for child in pending:
            if tid in parents[child]:
                place(child, path | {tid})
        placed.add(tid)
        ordered.append(tid)

    for tid in pending:
        place(tid, frozenset())
    return tuple(actions[t] for t in ordered)

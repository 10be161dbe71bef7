"""Bind retention rules to data: which tables and columns a rule applies to, and what drives it.

A rule applies to every mapped field whose category it covers (a rule for ``user.contact`` covers
``user.contact.email``), table by table. Each :class:`Binding` names the timestamp that starts the
period, found by the rule's trigger:

``collection``       the table's own ``retention_timestamp`` (a ``created``-like one when several);
``last_activity``    a ``last_login``/``last_seen``-like timestamp, in the table or in a table its
                     references lead to (orders are kept until 2 years after the customer's
                     ``customers.last_login``);
``account_closure``  a ``closed_at``-like timestamp, found the same way.

Legal holds that win over the rule are collected per binding: the rule's holds whose categories
cover one of the bound fields, and the data map's table and field holds. Tables whose timestamp
cannot be found are reported as :class:`Unbound` (``troth check`` shows them with their location).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from troth.datamap.model import DataMap, MapField, Table
from troth.datamap.model import LegalHold as MapHold
from troth.policy.duration import Duration, parse_duration
from troth.policy.model import LegalHold, Policy, RetentionAction, RetentionRule, Trigger
from troth.policy.taxonomy import covers

#: timestamp column names that fit each trigger
TRIGGER_NAMES: dict[Trigger, re.Pattern[str]] = {
    Trigger.collection: re.compile(r"creat|collect|insert|first|sent|occur|issued|opened|start"),
    Trigger.last_activity: re.compile(r"last|activ|seen|login|visit"),
    Trigger.account_closure: re.compile(r"clos|deactiv|cancel|deleted|ended|terminat"),
}
SUPPORTED_TRIGGERS = tuple(TRIGGER_NAMES)
#: how many references a timestamp may be away from the table it drives
MAX_HOPS = 3


@dataclass(frozen=True)
class Join:
    """From the current table's ``column``, the row of ``table`` whose ``key`` equals it."""

    column: str
    table: str
    key: str


@dataclass(frozen=True)
class ColumnRef:
    """A column of the bound table (``joins`` empty) or reached through references."""

    table: str
    column: str
    joins: tuple[Join, ...] = ()

    def __str__(self) -> str:
        return f"{self.table}.{self.column}"


@dataclass(frozen=True)
class Hold:
    """A legal hold that applies to a binding: rows younger than ``period`` are kept."""

    id: str
    source: str  # "policy", "map-table", "map-field"
    basis: str
    reason: str
    law: str | None = None
    period: Duration | None = None  # None: kept until the hold is lifted
    anchor: ColumnRef | None = None  # the timestamp the hold period runs from


@dataclass(frozen=True)
class Child:
    """A table whose ``column`` references the bound table's primary key."""

    table: str
    column: str


@dataclass(frozen=True)
class Binding:
    """One retention rule applied to one table."""

    rule: RetentionRule
    dataset: str
    connection: str
    table: str
    pk: str
    fields: tuple[str, ...]
    masks: dict[str, str]
    timestamp: ColumnRef
    holds: tuple[Hold, ...] = ()
    children: tuple[Child, ...] = ()
    identity: ColumnRef | None = None  # the identity column person holds are matched on
    identity_name: str | None = None
    timestamp_field: MapField | None = field(default=None, compare=False, repr=False)

    @property
    def action(self) -> RetentionAction:
        return self.rule.action

    @property
    def period(self) -> Duration:
        assert self.rule.period is not None
        return self.rule.period

    @property
    def key(self) -> str:
        return f"{self.rule.id}:{self.dataset}.{self.table}"


@dataclass(frozen=True)
class Unbound:
    """A rule that covers a table but cannot be enforced there, and why."""

    rule: RetentionRule
    dataset: str
    table: Table
    reason: str


@dataclass
class BindResult:
    bindings: list[Binding] = field(default_factory=list)
    unbound: list[Unbound] = field(default_factory=list)
    #: rules with a period that cover no mapped field
    unmapped: list[RetentionRule] = field(default_factory=list)


def covered_fields(rule: RetentionRule, table: Table) -> list[MapField]:
    """The fields of ``table`` whose categories the rule covers (and whose subject it names)."""
    out = []
    for f in table.fields:
        if not any(covers(rc, c) for rc in rule.categories for c in f.categories):
            continue
        subject = f.subject or table.subject
        if rule.subjects and subject and subject not in rule.subjects:
            continue
        out.append(f)
    return out


def bind_rules(policy: Policy, datamap: DataMap, *, rules: list[str] | None = None) -> BindResult:
    """Bind every rule with a period (or the named ones) to the mapped tables it covers."""
    result = BindResult()
    for rule in policy.retention:
        if rules is not None and rule.id not in rules:
            continue
        if rule.period is None:
            continue
        found = False
        for ds, table in datamap.tables():
            fields = covered_fields(rule, table)
            if not fields:
                continue
            found = True
            bound = _bind_table(rule, datamap, ds.name, ds.connection, table, fields)
            if isinstance(bound, Unbound):
                result.unbound.append(bound)
            else:
                result.bindings.append(bound)
        if not found:
            result.unmapped.append(rule)
    result.bindings = order_children_first(result.bindings)
    return result


def _bind_table(
    rule: RetentionRule,
    datamap: DataMap,
    dataset: str,
    connection: str,
    table: Table,
    fields: list[MapField],
) -> Binding | Unbound:
    if rule.trigger not in TRIGGER_NAMES:
        return Unbound(
            rule, dataset, table, f"trigger {rule.trigger.value!r} cannot be swept from data"
        )
    pk = table.primary_key()
    if len(pk) != 1:
        return Unbound(rule, dataset, table, "the table needs one primary key field in the map")
    ts = find_timestamp(datamap, dataset, table, rule.trigger)
    if ts is None:
        return Unbound(
            rule,
            dataset,
            table,
            f"no `retention_timestamp` field fits trigger {rule.trigger.value!r} in the table "
            f"or within {MAX_HOPS} references of it",
        )
    ts_ref, ts_field = ts
    own = _own_timestamp(table)
    identity = _find_identity(datamap, dataset, table)
    return Binding(
        rule=rule,
        dataset=dataset,
        connection=connection,
        table=table.name,
        pk=pk[0],
        fields=tuple(f.name for f in fields),
        masks={f.name: anonymise_strategy(f) for f in fields},
        timestamp=ts_ref,
        holds=tuple(_holds(rule, table, fields, own or ts_ref)),
        children=tuple(_children(datamap, dataset, table.name, pk[0])),
        identity=identity[0] if identity else None,
        identity_name=identity[1] if identity else None,
        timestamp_field=ts_field,
    )


def anonymise_strategy(f: MapField) -> str:
    """``null`` or ``redact``: a keyed hash or a fake value is pseudonymisation, not anonymity."""
    return "null" if f.mask is not None and f.mask.value == "null" else "redact"


def _pick(table: Table, trigger: Trigger) -> MapField | None:
    stamps = table.retention_fields()
    fitting = [f for f in stamps if TRIGGER_NAMES[trigger].search(f.name.lower())]
    if fitting:
        return fitting[0]
    if trigger is Trigger.collection and len(stamps) == 1:
        other = [p for t, p in TRIGGER_NAMES.items() if t is not Trigger.collection]
        if not any(p.search(stamps[0].name.lower()) for p in other):
            return stamps[0]
    return None


def _own_timestamp(table: Table) -> ColumnRef | None:
    f = _pick(table, Trigger.collection)
    return ColumnRef(table.name, f.name) if f else None


def _parents(datamap: DataMap, dataset: str, table: Table) -> list[tuple[Join, Table]]:
    out = []
    for f in table.fields:
        for ref in f.references:
            ds, tname, key = ref.target(dataset)
            target = datamap.resolve(ds, tname)
            if ds == dataset and target is not None and tname != table.name:
                out.append((Join(f.name, tname, key), target))
    return out


def _walk(datamap: DataMap, dataset: str, table: Table) -> list[tuple[Table, tuple[Join, ...]]]:
    """The table, then the tables its references lead to (breadth first, at most MAX_HOPS)."""
    seen = {table.name}
    order: list[tuple[Table, tuple[Join, ...]]] = [(table, ())]
    queue = deque(order)
    while queue:
        here, path = queue.popleft()
        if len(path) >= MAX_HOPS:
            continue
        for join, parent in _parents(datamap, dataset, here):
            if parent.name in seen:
                continue
            seen.add(parent.name)
            step = (parent, (*path, join))
            order.append(step)
            queue.append(step)
    return order


def find_timestamp(
    datamap: DataMap, dataset: str, table: Table, trigger: Trigger
) -> tuple[ColumnRef, MapField] | None:
    """The timestamp column that starts ``trigger``'s period for rows of ``table``."""
    for here, path in _walk(datamap, dataset, table):
        if trigger is Trigger.collection and path:
            break  # collection is the row's own time
        f = _pick(here, trigger)
        if f is not None:
            return ColumnRef(here.name, f.name, path), f
    return None


def _find_identity(datamap: DataMap, dataset: str, table: Table) -> tuple[ColumnRef, str] | None:
    for here, path in _walk(datamap, dataset, table):
        f = next((f for f in here.fields if f.identity), None)
        if f is not None and f.identity is not None:
            return ColumnRef(here.name, f.name, path), f.identity
    return None


def _children(datamap: DataMap, dataset: str, table: str, pk: str) -> list[Child]:
    out = []
    for ds, t, f in datamap.fields():
        if ds.name != dataset or t.name == table:
            continue
        for ref in f.references:
            if ref.target(dataset) == (dataset, table, pk):
                out.append(Child(t.name, f.name))
    return out


def _map_hold(hold: MapHold, source: str, anchor: ColumnRef | None) -> Hold:
    period = None
    if hold.period and hold.period not in ("unspecified", "not stated"):
        period = parse_duration(hold.period)
    return Hold(hold.id, source, hold.basis.value, hold.reason, hold.law, period, anchor)


def _policy_hold(hold: LegalHold, anchor: ColumnRef | None) -> Hold:
    return Hold(hold.id, "policy", hold.basis.value, hold.reason, hold.law, hold.period, anchor)


def _holds(
    rule: RetentionRule, table: Table, fields: list[MapField], anchor: ColumnRef | None
) -> list[Hold]:
    out = []
    cats = [c for f in fields for c in f.categories]
    for hold in rule.legal_holds:
        keys = hold.categories or rule.categories
        if any(covers(k, c) for k in keys for c in cats):
            out.append(_policy_hold(hold, anchor))
    out += [_map_hold(h, "map-table", anchor) for h in table.legal_holds]
    for f in fields:
        out += [_map_hold(h, "map-field", anchor) for h in f.legal_holds]
    return out


def order_children_first(bindings: list[Binding]) -> list[Binding]:
    """Bindings in an order where a table comes before the tables it references (stable)."""
    parents: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for b in bindings:
        for child in b.children:
            parents.setdefault((b.dataset, child.table), set()).add((b.dataset, b.table))
    out: list[Binding] = []
    pending = list(bindings)
    while pending:
        tables = {(b.dataset, b.table) for b in pending}
        ready = [
            b
            for b in pending
            if not any(
                (b.dataset, b.table) in parents.get(t, set())
                for t in tables - {(b.dataset, b.table)}
            )
        ]
        if not ready:  # a cycle: keep the map's order for the rest
            ready = pending
        out += ready
        pending = [b for b in pending if b not in ready]
    return out

"""Bind retention rules to data: which tables and columns a rule applies to, and what drives it.

A rule applies to every mapped field whose category it covers (a rule for ``user.contact`` covers
``user.contact.email``), table by table. Each :class:`Binding` names the timestamp that starts the
period, found by the rule's trigger (:mod:`troth.retention.paths`):

``collection``       the table's own ``retention_timestamp`` (a ``created``-like one when several);
``last_activity``    a ``last_login``/``last_seen``-like timestamp, in the table or in a table its
                     rows belong to (orders are kept until 2 years after the customer's
                     ``customers.last_login``), through ``owns``/``link``/``same_person``
                     references only;
``account_closure``  a ``closed_at``-like timestamp, found the same way.

A table's ``retention:`` entries in the map narrow the rows a rule touches (``where: {status:
closed}``): :class:`Condition`. Legal holds that win over the rule are collected per binding: the
rule's holds whose categories cover one of the bound fields (their period runs from the row's own
collection timestamp), and the map's table and field holds (``for: 10 years since issued_at``
ends one; without ``for`` it lasts until removed). Tables whose timestamp cannot be found are
reported as :class:`Unbound` with the reason and the fix (``troth check`` shows them located).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from troth.datamap.model import DataMap, MapField, Table, TableRetention, WhereValue
from troth.datamap.model import LegalHold as MapHold
from troth.policy.duration import Duration
from troth.policy.model import LegalHold, Policy, RetentionAction, RetentionRule, Trigger
from troth.policy.taxonomy import covers
from troth.retention.paths import (
    MAX_HOPS,
    SUPPORTED_TRIGGERS,
    TRIGGER_NAMES,
    ColumnRef,
    Join,
    find_identity,
    find_timestamp,
    pick,
    walk,
    why_no_timestamp,
)

__all__ = [
    "MAX_HOPS",
    "SUPPORTED_TRIGGERS",
    "TRIGGER_NAMES",
    "BindResult",
    "Binding",
    "ColumnRef",
    "Condition",
    "Hold",
    "Join",
    "Unbound",
    "bind_rules",
    "covered_fields",
    "table_conditions",
]


@dataclass(frozen=True)
class Hold:
    """A legal hold that applies to a binding: rows whose ``anchor`` is younger than ``period``
    are kept (an unknown anchor keeps them too); without a period, kept until removed."""

    id: str
    source: str  # "policy", "map-table", "map-field"
    basis: str
    reason: str
    law: str | None = None
    period: Duration | None = None
    anchor: ColumnRef | None = None

    def describe(self) -> str:
        if self.period is None or self.anchor is None:
            return f"{self.id} (until removed)"
        return f"{self.id} ({self.period} since {self.anchor})"


@dataclass(frozen=True)
class Condition:
    """A row condition of the map: ``column`` is one of ``values`` (``None``: IS NULL)."""

    column: str
    values: tuple[str | int | float | bool | None, ...]
    source: TableRetention = field(compare=False, repr=False)

    def describe(self) -> str:
        if len(self.values) == 1:
            v = self.values[0]
            return f"{self.column} IS NULL" if v is None else f"{self.column} = {v!r}"
        return f"{self.column} IN ({', '.join(repr(v) for v in self.values)})"


@dataclass(frozen=True)
class Binding:
    """One retention rule applied to one table."""

    rule: RetentionRule
    dataset: str
    connection: str
    table: str
    #: the map's primary key fields (empty: the live schema's, else the engine's row identity)
    key: tuple[str, ...]
    fields: tuple[str, ...]
    masks: dict[str, str]
    timestamp: ColumnRef
    holds: tuple[Hold, ...] = ()
    conditions: tuple[Condition, ...] = ()
    #: conditions of the tables the timestamp is read through: ``(join index, condition)``; a
    #: ticket's message takes its clock from the ticket only while the ticket fits its condition
    path_conditions: tuple[tuple[int, Condition], ...] = ()
    identity: ColumnRef | None = None  # the identity column person holds are matched on
    identity_name: str | None = None
    timestamp_field: MapField | None = field(default=None, compare=False, repr=False)

    @property
    def action(self) -> RetentionAction:
        return self.rule.action

    @property
    def period(self) -> Duration:
        period = self.rule.enforced_period
        assert period is not None
        return period

    @property
    def name(self) -> str:
        return f"{self.rule.id}:{self.dataset}.{self.table}"

    def refs(self) -> list[ColumnRef]:
        """Every column reference the binding reads (timestamp, identity, hold anchors)."""
        out = [self.timestamp, *(h.anchor for h in self.holds if h.anchor is not None)]
        return out + ([self.identity] if self.identity is not None else [])


@dataclass(frozen=True)
class Unbound:
    """A rule that covers a table but cannot be enforced there: why, and the fix."""

    rule: RetentionRule
    dataset: str
    table: Table
    reason: str
    fix: str = ""


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
        if rule.enforced_period is None:
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
    return result


def _bind_table(
    rule: RetentionRule,
    datamap: DataMap,
    dataset: str,
    connection: str,
    table: Table,
    fields: list[MapField],
) -> Binding | Unbound:
    if rule.enforced_trigger not in TRIGGER_NAMES:
        return Unbound(
            rule,
            dataset,
            table,
            f"trigger {rule.enforced_trigger.value!r} cannot be read from a column",
            "enforce it where the event happens (e.g. erase on withdrawal), or use a trigger "
            "troth can sweep: collection, last_activity, account_closure",
        )
    ts = find_timestamp(datamap, dataset, table, rule.enforced_trigger)
    if ts is None:
        reason, fix = why_no_timestamp(datamap, dataset, table, rule.enforced_trigger)
        return Unbound(rule, dataset, table, reason, fix)
    ts_ref, ts_field = ts
    own = pick(table, Trigger.collection)
    anchor = ColumnRef(table.name, own.name) if own else ts_ref
    identity = find_identity(datamap, dataset, table)
    return Binding(
        rule=rule,
        dataset=dataset,
        connection=connection,
        table=table.name,
        key=tuple(table.primary_key()),
        fields=tuple(f.name for f in fields),
        masks={f.name: anonymise_strategy(f) for f in fields},
        timestamp=ts_ref,
        holds=tuple(_holds(rule, table, fields, anchor, _anchor_resolver(datamap, dataset))),
        conditions=table_conditions(table, rule.id),
        path_conditions=tuple(
            (i, c)
            for i, j in enumerate(ts_ref.joins)
            for c in _path_table_conditions(datamap, dataset, j.table, rule.id)
        ),
        identity=identity[0] if identity else None,
        identity_name=identity[1] if identity else None,
        timestamp_field=ts_field,
    )


def table_conditions(table: Table, rule_id: str) -> tuple[Condition, ...]:
    """The row conditions of the table's ``retention:`` entries for ``rule_id`` (or any rule)."""
    out: list[Condition] = []
    for entry in table.retention:
        if entry.rule is not None and entry.rule != rule_id:
            continue
        for column, value in entry.where.items():
            out.append(Condition(column, _values(value), entry))
    return tuple(out)


def _path_table_conditions(
    datamap: DataMap, dataset: str, table: str, rule_id: str
) -> tuple[Condition, ...]:
    t = datamap.resolve(dataset, table)
    return table_conditions(t, rule_id) if isinstance(t, Table) else ()


def _values(value: WhereValue) -> tuple[str | int | float | bool | None, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


def anonymise_strategy(f: MapField) -> str:
    """``null`` or ``redact``: a keyed hash or a fake value is pseudonymisation, not anonymity."""
    return "null" if f.mask is not None and f.mask.value == "null" else "redact"


Resolver = Callable[[Table, str], ColumnRef]


def _anchor_resolver(datamap: DataMap, dataset: str) -> Resolver:
    """A hold's anchor column: of the table, or ``other.column`` of a table its rows belong to
    (joined along the map's owning references, as the rule's timestamp is)."""

    def resolve(table: Table, column: str) -> ColumnRef:
        tname, dot, col = column.partition(".")
        if dot and tname != table.name:
            for here, path in walk(datamap, dataset, table):
                if here.name == tname:
                    return ColumnRef(tname, col, path)
        return ColumnRef(table.name, col if dot else column)

    return resolve


def _map_hold(hold: MapHold, source: str, table: Table, resolve: Resolver) -> Hold:
    ends = hold.ends()
    if ends is None:
        return Hold(hold.id, source, hold.basis.value, hold.reason, hold.law)
    period, column = ends
    return Hold(
        hold.id, source, hold.basis.value, hold.reason, hold.law, period, resolve(table, column)
    )


def _policy_hold(hold: LegalHold, anchor: ColumnRef) -> Hold:
    return Hold(hold.id, "policy", hold.basis.value, hold.reason, hold.law, hold.period, anchor)


def _holds(
    rule: RetentionRule,
    table: Table,
    fields: list[MapField],
    anchor: ColumnRef,
    resolve: Resolver,
) -> list[Hold]:
    out = []
    cats = [c for f in fields for c in f.categories]
    for hold in rule.legal_holds:
        keys = hold.categories or rule.categories
        if any(covers(k, c) for k in keys for c in cats):
            out.append(_policy_hold(hold, anchor))
    out += [_map_hold(h, "map-table", table, resolve) for h in table.legal_holds]
    # deleting a row deletes every field: a hold on any field of the table keeps the row
    held = table.fields if rule.action is RetentionAction.delete else fields
    for f in held:
        out += [_map_hold(h, "map-field", table, resolve) for h in f.legal_holds]
    return out

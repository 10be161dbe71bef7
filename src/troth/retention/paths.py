"""Where a row's clock, hold anchor and person are: columns of the row, or reached through
references that mean the row belongs to someone.

From a table, a walk follows ``owns`` and ``link`` references from the referencing row to the
referenced one (an order to its customer), and ``same_person`` references both ways; never
``refers`` (a tenant, an employee, a merged-into ticket: the row is not theirs). A
:class:`ColumnRef` is the column at the end of such a walk with its :class:`Join` steps; the SQL
for it is one correlated scalar subquery (:mod:`troth.retention.query`).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from troth.datamap.model import DataMap, MapField, RefKind, Table
from troth.policy.model import Trigger

#: timestamp column names that fit each trigger
TRIGGER_NAMES: dict[Trigger, re.Pattern[str]] = {
    Trigger.collection: re.compile(r"creat|collect|insert|first|sent|occur|issued|opened|start"),
    Trigger.last_activity: re.compile(r"last|activ|seen|login|visit"),
    Trigger.account_closure: re.compile(r"clos|deactiv|cancel|deleted|ended|terminat"),
}
#: what the names above look like, for messages
TRIGGER_WORDS: dict[Trigger, str] = {
    Trigger.collection: "created..., collected..., first..., sent..., issued..., opened..., "
    "started...",
    Trigger.last_activity: "last..., ...activity..., ...seen..., ...login..., ...visit...",
    Trigger.account_closure: "closed..., deactivated..., cancelled..., deleted..., ended..., "
    "terminated...",
}
SUPPORTED_TRIGGERS = tuple(TRIGGER_NAMES)
#: how many references a timestamp may be away from the table it drives
MAX_HOPS = 3
#: the reference kinds that say the referencing row belongs to the referenced row's person
OWNING = (RefKind.owns, RefKind.link, RefKind.same_person)


@dataclass(frozen=True)
class Join:
    """From the current table's ``column``, the rows of ``table`` whose ``key`` equals it."""

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

    def via(self) -> list[str]:
        return [f"{j.column}->{j.table}.{j.key}" for j in self.joins]


def _steps(
    datamap: DataMap, dataset: str, table: Table, kinds: tuple[RefKind, ...]
) -> list[tuple[Join, Table]]:
    """One step from ``table``: to the tables its rows belong to (by ``kinds`` of reference)."""
    out: list[tuple[Join, Table]] = []
    for f in table.fields:
        for ref in f.references:
            ds, tname, key = ref.target(dataset)
            target = datamap.resolve(ds, tname)
            if ds != dataset or target is None or tname == table.name or ref.kind not in kinds:
                continue
            out.append((Join(f.name, tname, key), target))
    ds_ = datamap.dataset(dataset)
    if RefKind.same_person in kinds and ds_ is not None:  # followed both ways
        for other in ds_.tables:
            if other.name == table.name:
                continue
            for f in other.fields:
                for ref in f.references:
                    ds, tname, key = ref.target(dataset)
                    if ref.kind is RefKind.same_person and ds == dataset and tname == table.name:
                        out.append((Join(key, other.name, f.name), other))
    return out


def walk(
    datamap: DataMap, dataset: str, table: Table, kinds: tuple[RefKind, ...] = OWNING
) -> list[tuple[Table, tuple[Join, ...]]]:
    """The table, then the tables its rows belong to (breadth first, at most MAX_HOPS away)."""
    seen = {table.name}
    order: list[tuple[Table, tuple[Join, ...]]] = [(table, ())]
    queue = deque(order)
    while queue:
        here, path = queue.popleft()
        if len(path) >= MAX_HOPS:
            continue
        for join, parent in _steps(datamap, dataset, here, kinds):
            if parent.name in seen:
                continue
            seen.add(parent.name)
            step = (parent, (*path, join))
            order.append(step)
            queue.append(step)
    return order


def pick(table: Table, trigger: Trigger) -> MapField | None:
    """The ``retention_timestamp`` field of ``table`` whose name fits ``trigger``."""
    stamps = table.retention_fields()
    fitting = [f for f in stamps if TRIGGER_NAMES[trigger].search(f.name.lower())]
    if fitting:
        return fitting[0]
    if trigger is Trigger.collection and len(stamps) == 1:
        other = [p for t, p in TRIGGER_NAMES.items() if t is not Trigger.collection]
        if not any(p.search(stamps[0].name.lower()) for p in other):
            return stamps[0]
    return None


def find_timestamp(
    datamap: DataMap, dataset: str, table: Table, trigger: Trigger
) -> tuple[ColumnRef, MapField] | None:
    """The timestamp column that starts ``trigger``'s period for rows of ``table``."""
    for here, path in walk(datamap, dataset, table):
        if trigger is Trigger.collection and path:
            break  # collection is the row's own time
        f = pick(here, trigger)
        if f is not None:
            return ColumnRef(here.name, f.name, path), f
    return None


def find_identity(datamap: DataMap, dataset: str, table: Table) -> tuple[ColumnRef, str] | None:
    """The first identity column (not a JSON path) of the table or of a table it belongs to."""
    for here, path in walk(datamap, dataset, table):
        f = next((f for f in here.fields if f.identity), None)
        if f is not None and f.identity is not None:
            return ColumnRef(here.name, f.name, path), f.identity
    return None


def why_no_timestamp(
    datamap: DataMap, dataset: str, table: Table, trigger: Trigger
) -> tuple[str, str]:
    """``(reason, fix)`` for a table where :func:`find_timestamp` found nothing."""
    reach = walk(datamap, dataset, table)
    if trigger is Trigger.collection:
        reach = reach[:1]
    marked = [(t, f) for t, _ in reach for f in t.retention_fields()]
    words = TRIGGER_WORDS.get(trigger, "no column reads as it")
    if marked:
        names = ", ".join(f"{t.name}.{f.name}" for t, f in marked)
        where = "the row's own table" if trigger is Trigger.collection else "reach"
        return (
            f"{names} {'is' if len(marked) == 1 else 'are'} marked `retention_timestamp`, but no "
            f"marked column in {where} has a name that reads as the {trigger.value} time "
            f"({words})",
            f"if {names} is the {trigger.value} time, rename the column (or give the rule the "
            "trigger its name fits); otherwise mark the column that holds it with "
            "`retention_timestamp: true`",
        )
    wide = walk(datamap, dataset, table, tuple(RefKind))
    via_refers = [
        (t, path)
        for t, path in wide
        if path and pick(t, trigger) is not None and trigger is not Trigger.collection
    ]
    if via_refers:
        t, path = via_refers[0]
        f = pick(t, trigger)
        assert f is not None
        steps = ", ".join(f"{j.column} -> {j.table}.{j.key}" for j in path)
        return (
            f"{t.name}.{f.name} fits the trigger but is reached only through a `refers` "
            f"reference ({steps}), which says the row is not that {t.name} row's",
            f"if each {table.name} row belongs to its {t.name} row, declare the reference "
            "`kind: owns`; otherwise mark a timestamp of the table itself",
        )
    return (
        f"no `retention_timestamp` field fits trigger {trigger.value!r} in the table"
        + ("" if trigger is Trigger.collection else f" or within {MAX_HOPS} owning references"),
        f"mark the column that starts the period ({words}) with `retention_timestamp: true`"
        + ("" if trigger is Trigger.collection else ", in the table or a table it belongs to"),
    )

"""Which rows of troth's state are audited, how an entry names its row, and the check that every
audited row has its entry.

An entry about an audited row carries ``ref = "<table>:<row id>"`` (indexed), derived from its
kind and data when it is appended, so ``troth audit verify`` can find, in one anti-join per table,
the rows that have no entry: a state change stored without its audit entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

#: (kind prefix, data key holding the row id, table): how an entry names its audited row
REF_RULES: tuple[tuple[str, str, str], ...] = (
    ("consent.", "event_id", "consent_event"),
    ("dsr.", "request_id", "dsr_request"),
    ("retention.hold_", "hold_id", "retention_person_hold"),
    ("breach.", "breach_id", "breach"),
    ("disclosure.recorded", "batch_id", "disclosure_batch"),
    ("legal_request.", "legal_request_id", "legal_request"),
)
MAX_REF = 120


def ref_of(kind: str, data: Mapping[str, Any]) -> str | None:
    """``"<table>:<id>"`` of the audited row an entry of *kind* with *data* is about, or None."""
    for prefix, key, table in REF_RULES:
        if kind.startswith(prefix):
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, str | int):
                return None
            ref = f"{table}:{value}"
            return ref if len(ref) <= MAX_REF else None
    return None


@dataclass(frozen=True)
class Missing:
    """Rows of one audited table that have no audit entry: the count and the first ids."""

    table: str
    count: int
    ids: tuple[str, ...]

    def line(self) -> str:
        shown = ", ".join(self.ids)
        more = f" and {self.count - len(self.ids)} more" if self.count > len(self.ids) else ""
        rows = "row" if self.count == 1 else "rows"
        return f"{self.count} {rows} without their audit entry (ids {shown}{more})"

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "count": self.count, "ids": list(self.ids)}


def _has(kind_sql: str | None, ref_sql: str) -> str:
    kind = f" AND a.kind {kind_sql}" if kind_sql else ""
    return f"EXISTS (SELECT 1 FROM audit_entry a WHERE a.ref = {ref_sql}{kind})"


#: table -> (id column, SQL condition true for a row whose entry is missing)
_MISSING: dict[str, tuple[str, str]] = {
    # every stored consent event has the entry its write appended
    "consent_event": (
        "t.id",
        "NOT " + _has(None, "'consent_event:' || t.event_uid"),
    ),
    # a request's current status is the kind of an entry about it
    "dsr_request": ("t.id", "NOT " + _has("= 'dsr.' || t.status", "'dsr_request:' || t.id")),
    # a hold has its hold_added entry, and a released hold its hold_released entry too
    "retention_person_hold": (
        "t.id",
        "NOT "
        + _has("= 'retention.hold_added'", "'retention_person_hold:' || t.id")
        + " OR (t.released_at IS NOT NULL AND NOT "
        + _has("= 'retention.hold_released'", "'retention_person_hold:' || t.id")
        + ")",
    ),
    # a breach has its opened entry
    "breach": ("t.id", "NOT " + _has("= 'breach.opened'", "'breach:' || t.id")),
    # every register row's batch has the ledger entry that sealed it (troth.sharing.register)
    "disclosure_batch": (
        "t.id",
        "NOT " + _has("= 'disclosure.recorded'", "'disclosure_batch:' || t.id"),
    ),
    # a legal request's current status is the kind of an entry about it (troth.sharing.legal)
    "legal_request": (
        "t.id",
        "NOT " + _has("= 'legal_request.' || t.status", "'legal_request:' || t.id"),
    ),
}


def missing_entries(conn: Connection, *, show: int = 10) -> list[Missing]:
    """Per audited table, the rows without their audit entry (set-based: one query per table)."""
    out: list[Missing] = []
    for table, (id_col, cond) in _MISSING.items():
        where = f"FROM {table} t WHERE {cond}"
        count = int(conn.exec_driver_sql(f"SELECT count(*) {where}").scalar_one())
        if count:
            rows = conn.exec_driver_sql(f"SELECT {id_col} {where} ORDER BY {id_col} LIMIT {show}")
            out.append(Missing(table, count, tuple(str(r[0]) for r in rows)))
    return out

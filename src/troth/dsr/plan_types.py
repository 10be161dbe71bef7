"""The plan's data: steps, lookups, mentions and erasure actions, printable as JSON.

See :mod:`troth.dsr.plan`, which builds a :class:`Plan` and re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from troth.datamap.graph import FieldId, TableId
from troth.datamap.model import RefKind
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

"""The identity/reference graph of a data map, across all its datasets.

Nodes are tables (``TableId``: dataset + table). An :class:`Edge` says: knowing values of
``src.field``, find rows of ``dst`` where ``dst_field`` is one of them. A reference becomes one
edge or two, by its direction (the Fides meaning, see :class:`~troth.datamap.model.Direction`).
Roots are the identity fields. Cycles, self-references and many-to-many link tables are ordinary
edges; traversal visits each table once. A planner walks :meth:`Graph.edges_from` from the roots.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from troth.datamap.model import DataMap, Dataset, Direction, MapField, Reference, Table


@dataclass(frozen=True, order=True)
class TableId:
    dataset: str
    table: str

    def __str__(self) -> str:
        return f"{self.dataset}.{self.table}"


@dataclass(frozen=True, order=True)
class FieldId:
    dataset: str
    table: str
    field: str

    @property
    def table_id(self) -> TableId:
        return TableId(self.dataset, self.table)

    def __str__(self) -> str:
        return f"{self.dataset}.{self.table}.{self.field}"


@dataclass(frozen=True, order=True)
class Edge:
    """Values of ``src`` find the rows of ``dst.table`` whose ``dst.field`` holds them."""

    src: FieldId
    dst: FieldId


@dataclass(frozen=True)
class Dangling:
    """A reference whose target is not in the map."""

    dataset: Dataset
    table: Table
    field: MapField
    reference: Reference
    target: tuple[str, str, str]
    missing: str  # "dataset", "table" or "field"


@dataclass
class Graph:
    """Tables, identity roots and reference edges of a data map."""

    tables: dict[TableId, Table] = field(default_factory=dict)
    identities: dict[FieldId, str] = field(default_factory=dict)  # field -> identity name
    edges: list[Edge] = field(default_factory=list)
    dangling: list[Dangling] = field(default_factory=list)
    _out: dict[TableId, list[Edge]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, datamap: DataMap) -> Graph:
        g = cls()
        for ds, table in datamap.tables():
            g.tables[TableId(ds.name, table.name)] = table
        for ds, table, f in datamap.fields():
            here = FieldId(ds.name, table.name, f.name)
            if f.identity:
                g.identities[here] = f.identity
            for ref in f.references:
                target = ref.target(ds.name)
                missing = _missing(datamap, target)
                if missing:
                    g.dangling.append(Dangling(ds, table, f, ref, target, missing))
                    continue
                there = FieldId(*target)
                if ref.direction in (None, Direction.to):
                    g._add(Edge(here, there))
                if ref.direction in (None, Direction.from_):
                    g._add(Edge(there, here))
        return g

    def _add(self, edge: Edge) -> None:
        if edge in self._out.get(edge.src.table_id, []):
            return
        self.edges.append(edge)
        self._out.setdefault(edge.src.table_id, []).append(edge)

    def edges_from(self, table: TableId) -> list[Edge]:
        return list(self._out.get(table, []))

    def identity_tables(self, identities: Iterable[str] | None = None) -> set[TableId]:
        """Tables holding an identity field (of the named identities, or of any)."""
        wanted = set(identities) if identities is not None else None
        return {
            fid.table_id
            for fid, name in self.identities.items()
            if wanted is None or name in wanted
        }

    def reachable_from_identities(self, identities: Iterable[str] | None = None) -> set[TableId]:
        """Every table a request can reach from the identity fields (breadth first)."""
        seen = self.identity_tables(identities)
        queue = deque(sorted(seen))
        while queue:
            node = queue.popleft()
            for edge in self._out.get(node, []):
                nxt = edge.dst.table_id
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        return seen

    def unreachable_tables(self, *, personal_only: bool = True) -> list[TableId]:
        """Tables no identity reaches (only those holding personal data, by default)."""
        reached = self.reachable_from_identities()
        return sorted(
            tid
            for tid, table in self.tables.items()
            if tid not in reached and (not personal_only or holds_personal_data(table))
        )


def holds_personal_data(table: Table) -> bool:
    """A table holds personal data when a field has a ``user`` category or an identity."""
    return any(
        f.identity or any(c == "user" or c.startswith("user.") for c in f.categories)
        for f in table.fields
    )


def _missing(datamap: DataMap, target: tuple[str, str, str]) -> str | None:
    ds = datamap.dataset(target[0])
    if ds is None:
        return "dataset"
    table = ds.table(target[1])
    if table is None:
        return "table"
    return None if table.field(target[2]) else "field"

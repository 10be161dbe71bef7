"""The identity/reference graph of a data map, across all its datasets.

Nodes are tables (``TableId``: dataset + table). An :class:`Edge` says: knowing values of
``src.field``, find rows of ``dst`` where ``dst_field`` is one of them. Which references become
edges is what their :class:`~troth.datamap.model.RefKind` says: ``owns`` and ``link`` one edge,
from the referenced row to the referencing rows; ``same_person`` two edges; ``refers`` none. Every
reference, followed or not, is also a :class:`Link` (foreign-key safety: a row that other rows
still point at is not deleted). Roots are the identity fields (:class:`IdentityRef`), also at JSON
paths. Cycles and self-references are ordinary edges; a planner walks :meth:`Graph.edges_from`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from troth.datamap.model import (
    DataMap,
    Dataset,
    MapField,
    Match,
    Reference,
    RefKind,
    Table,
)


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
    kind: RefKind = RefKind.owns


@dataclass(frozen=True, order=True)
class Link:
    """A reference from ``child`` (the referencing field) to ``parent`` (the referenced one)."""

    child: FieldId
    parent: FieldId
    kind: RefKind


@dataclass(frozen=True, order=True)
class IdentityRef:
    """A field (or a JSON path in it) that holds values of the identity ``name``.

    ``mention``: the identity sits in a JSON array (``cc[]``): a row found by it is not the
    person's, only the matching elements are.
    """

    field: FieldId
    name: str
    path: tuple[str, ...] = ()
    mention: bool = False
    match: Match = Match.normalise

    @property
    def table_id(self) -> TableId:
        return self.field.table_id

    def describe(self) -> str:
        at = f" at {'.'.join(self.path)}{'[]' if self.mention else ''}" if self.path else ""
        return f"{self.field}{at}"


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
    """Tables, identity roots, followed edges and every reference of a data map."""

    tables: dict[TableId, Table] = field(default_factory=dict)
    identity_refs: list[IdentityRef] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
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
                g.identity_refs.append(IdentityRef(here, f.identity, match=f.match))
            for jp in f.json_paths:
                if jp.identity:
                    g.identity_refs.append(IdentityRef(here, jp.identity, jp.keys, jp.is_array))
            for ref in f.references:
                target = ref.target(ds.name)
                missing = _missing(datamap, target)
                if missing:
                    g.dangling.append(Dangling(ds, table, f, ref, target, missing))
                    continue
                there = FieldId(*target)
                g.links.append(Link(here, there, ref.kind))
                if ref.kind in (RefKind.owns, RefKind.link, RefKind.same_person):
                    g._add(Edge(there, here, ref.kind))
                if ref.kind is RefKind.same_person:
                    g._add(Edge(here, there, ref.kind))
        return g

    @property
    def identities(self) -> dict[FieldId, str]:
        """Column identities (not JSON paths): field -> identity name."""
        return {r.field: r.name for r in self.identity_refs if not r.path}

    def identity_names(self) -> list[str]:
        return sorted({r.name for r in self.identity_refs})

    def _add(self, edge: Edge) -> None:
        if any(
            e.src == edge.src and e.dst == edge.dst for e in self._out.get(edge.src.table_id, [])
        ):
            return
        self.edges.append(edge)
        self._out.setdefault(edge.src.table_id, []).append(edge)

    def edges_from(self, table: TableId) -> list[Edge]:
        return list(self._out.get(table, []))

    def links_to(self, table: TableId) -> list[Link]:
        """Every reference whose referenced field is in ``table`` (its rows' referrers)."""
        return [lk for lk in self.links if lk.parent.table_id == table]

    def identity_tables(self, identities: Iterable[str] | None = None) -> set[TableId]:
        """Tables whose rows an identity finds as the person's (mentions excluded)."""
        wanted = set(identities) if identities is not None else None
        return {
            r.table_id
            for r in self.identity_refs
            if not r.mention and (wanted is None or r.name in wanted)
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

    def mentioned_tables(self) -> set[TableId]:
        return {r.table_id for r in self.identity_refs if r.mention}

    def unreachable_tables(self, *, personal_only: bool = True) -> list[TableId]:
        """Tables no identity reaches (only those holding personal data, by default).

        A table an identity only *mentions* (a JSON array) counts as reached when the personal
        data it holds is all at mentioned paths.
        """
        reached = self.reachable_from_identities()
        out = []
        for tid, table in self.tables.items():
            if tid in reached or (personal_only and not holds_personal_data(table)):
                continue
            if tid in self.mentioned_tables() and _only_mentions(table):
                continue
            out.append(tid)
        return sorted(out)

    def path_to(self, target: TableId, identities: Iterable[str] | None = None) -> list[Edge]:
        """The shortest walk from an identity table to ``target`` (empty when it is a root)."""
        roots = self.identity_tables(identities)
        prev: dict[TableId, Edge | None] = dict.fromkeys(roots)
        queue = deque(sorted(roots))
        while queue:
            node = queue.popleft()
            if node == target:
                break
            for edge in self._out.get(node, []):
                nxt = edge.dst.table_id
                if nxt not in prev:
                    prev[nxt] = edge
                    queue.append(nxt)
        if target not in prev:
            return []
        path: list[Edge] = []
        node = target
        step = prev[node]
        while step is not None:
            path.append(step)
            node = step.src.table_id
            step = prev[node]
        return path[::-1]


def holds_personal_data(table: Table) -> bool:
    """A table holds personal data when a field has a ``user`` category or an identity."""
    return any(f.is_personal() for f in table.fields)


def _only_mentions(table: Table) -> bool:
    """Whether every personal value of the table sits at a JSON array path with an identity."""
    for f in table.fields:
        if f.identity or any(c == "user" or c.startswith("user.") for c in f.categories):
            return False
        for p in f.json_paths:
            personal = p.identity or any(c == "user" or c.startswith("user.") for c in p.categories)
            if personal and not (p.is_array and p.identity):
                return False
    return True


def _missing(datamap: DataMap, target: tuple[str, str, str]) -> str | None:
    ds = datamap.dataset(target[0])
    if ds is None:
        return "dataset"
    table = ds.table(target[1])
    if table is None:
        return "table"
    return None if table.field(target[2]) else "field"

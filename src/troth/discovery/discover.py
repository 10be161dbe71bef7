"""``troth discover``: classify the columns of every mapped store from samples of their values and
report what the data map does not say (drift).

For each dataset of the map, its store is introspected, each table sampled (see
:mod:`troth.discovery.sample`; the sampling runs in the database) and each column classified
(:mod:`troth.discovery.classify`). The result is compared with the map:

* ``new_table``: a table the map does not declare holds personal data;
* ``new_column``: a column the map does not declare (on a mapped table) holds personal data;
* ``mislabelled``: a column the map declares non-personal has personal values;
* ``free_text``: a free-text column holds identifiers of categories its mapping does not cover;
* ``restricted``: data of a restricted source (Google API shapes) is stored where the policy says
  that source is never stored (``storage: none``, MyDigiSoft's MD-12).

Nothing is applied: proposals (``proposals()``) are map fragments with every field marked
``guess: true``. Reports carry names, categories, entity types and counts, never a value.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from troth.connectors.base import Connector, TableInfo
from troth.connectors.sql import SqlConnector
from troth.datamap.guesses import words
from troth.datamap.model import DataMap, MapField
from troth.discovery.classify import Classification, ColumnEvidence, classify, reads_values
from troth.discovery.engine import Scanner, default_scanner
from troth.discovery.sample import Sampling, sample_rows
from troth.policy.model import RestrictedSource, Storage
from troth.policy.taxonomy import covers

#: tables troth itself keeps in a store (consent views and state), never reported
_OWN_PREFIXES = ("troth_", "alembic_version")

Progress = Callable[[str, int, int], None]


class DriftKind(StrEnum):
    new_table = "new_table"
    new_column = "new_column"
    mislabelled = "mislabelled"
    free_text = "free_text"
    restricted = "restricted"


@dataclass(frozen=True)
class Drift:
    """One difference between the map and what the store holds."""

    kind: DriftKind
    dataset: str
    table: str
    column: str | None
    message: str
    categories: tuple[str, ...] = ()
    #: the restricted source's promises (``MD-12``) for a ``restricted`` drift
    promises: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "dataset": self.dataset,
            "table": self.table,
            "column": self.column,
            "message": self.message,
            "categories": list(self.categories),
            "promises": list(self.promises),
        }


@dataclass
class TableScan:
    dataset: str
    table: str
    rows: int
    columns: list[Classification]
    seconds: float


@dataclass
class DiscoveryReport:
    tables: list[TableScan] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    #: ``dataset.table`` left out because the time budget ran out
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    sampling: Sampling = field(default_factory=Sampling)

    def as_dict(self) -> dict[str, object]:
        return {
            "seconds": round(self.seconds, 3),
            "sampling": {
                "size": self.sampling.size,
                "strata": self.sampling.strata,
                "rate": self.sampling.rate,
                "full": self.sampling.full,
            },
            "tables": [
                {
                    "dataset": t.dataset,
                    "table": t.table,
                    "rows_read": t.rows,
                    "seconds": round(t.seconds, 3),
                    "columns": [c.as_dict() for c in t.columns],
                }
                for t in self.tables
            ],
            "drift": [d.as_dict() for d in self.drift],
            "skipped": self.skipped,
            "proposals": self.proposals(),
        }

    def proposals(self) -> dict[str, Any]:
        """Additions to the map for the drift found, every field marked ``guess: true``."""
        by_table: dict[tuple[str, str], list[dict[str, Any]]] = {}
        scans = {(t.dataset, t.table): {c.column: c for c in t.columns} for t in self.tables}
        for d in self.drift:
            if d.kind is DriftKind.new_table:
                cols = scans.get((d.dataset, d.table), {})
                fields = [_proposed(c) for c in cols.values() if c.personal]
                by_table.setdefault((d.dataset, d.table), []).extend(fields)
            elif d.column is not None and d.kind is not DriftKind.restricted:
                c = scans.get((d.dataset, d.table), {}).get(d.column)
                if c is not None:
                    by_table.setdefault((d.dataset, d.table), []).append(_proposed(c))
        datasets: dict[str, list[dict[str, Any]]] = {}
        for (ds, table), fields in by_table.items():
            datasets.setdefault(ds, []).append({"name": table, "fields": fields})
        return {"datasets": [{"name": ds, "tables": ts} for ds, ts in datasets.items()]}


def _proposed(c: Classification) -> dict[str, Any]:
    cats = [c.category] if c.category else []
    cats += [x for x in c.personal_in_values if x not in cats and c.free_text]
    out: dict[str, Any] = {"name": c.column, "categories": cats, "guess": True}
    why = f"{c.evidence}, confidence {c.confidence}"
    if c.sampled:
        why += f"; {c.sampled} values sampled" + (
            ": " + ", ".join(f"{e} in {n}" for e, n in sorted(c.entities.items()))
            if c.entities
            else ""
        )
    out["description"] = f"proposed by troth discover ({why})"
    return out


def scan_table(
    conn: SqlConnector,
    table: TableInfo,
    sampling: Sampling,
    scanner: Scanner | None = None,
) -> tuple[int, list[Classification]]:
    """Rows read and the classification of each column of ``table``."""
    scanner = scanner or default_scanner()
    read = [c for c in table.columns if reads_values(c.type)]
    evidence = {c.name: ColumnEvidence(context=" ".join(words(c.name))) for c in table.columns}
    pairs = [evidence[c.name] for c in read]
    rows = 0
    if read:
        for row in sample_rows(conn, table, [c.name for c in read], sampling):
            rows += 1
            for ev, value in zip(pairs, row, strict=True):
                ev.add(value, scanner)
    return rows, [classify(c.name, c.type, evidence[c.name]) for c in table.columns]


def restricted_storage_none(sources: Sequence[RestrictedSource]) -> list[RestrictedSource]:
    """Google restricted sources whose data the policy says is never stored."""
    return [s for s in sources if s.provider.lower() == "google" and s.storage is Storage.none]


def compare(
    datamap: DataMap | None,
    dataset: str,
    scans: Sequence[TableScan],
    restricted: Sequence[RestrictedSource] = (),
) -> list[Drift]:
    """The drift of one dataset's scanned tables against the map."""
    out: list[Drift] = []
    ds = datamap.dataset(dataset) if datamap else None
    never_stored = restricted_storage_none(restricted)
    for scan in scans:
        mapped = ds.table(scan.table) if ds else None
        personal = [c for c in scan.columns if c.personal]
        for c in scan.columns:
            if c.restricted and never_stored:
                src = never_stored[0]
                out.append(
                    Drift(
                        DriftKind.restricted,
                        dataset,
                        scan.table,
                        c.column,
                        f"{dataset}.{scan.table}.{c.column} stores {src.provider} API data "
                        f"({_counts(c, c.restricted)}), but restricted source {src.id!r} is "
                        "never stored (storage: none)",
                        tuple(src.categories),
                        tuple(getattr(src, "promises", ()) or ()),
                    )
                )
        if mapped is None:
            if personal:
                cols = ", ".join(f"{c.column} ({c.category or 'free text'})" for c in personal)
                out.append(
                    Drift(
                        DriftKind.new_table,
                        dataset,
                        scan.table,
                        None,
                        f"table {dataset}.{scan.table} holds personal data the map does not "
                        f"declare: {cols}",
                        tuple(sorted({c.category for c in personal if c.category})),
                    )
                )
            continue
        for c in scan.columns:
            f = mapped.field(c.column)
            if f is None:
                if c.personal:
                    out.append(
                        Drift(
                            DriftKind.new_column,
                            dataset,
                            scan.table,
                            c.column,
                            f"column {dataset}.{scan.table}.{c.column} is not in the map and "
                            f"holds {c.category or 'personal data'} ({c.evidence}, confidence "
                            f"{c.confidence})",
                            (c.category,) if c.category else (),
                        )
                    )
                continue
            out += _field_drift(dataset, scan.table, f, c)
    return out


def _field_drift(dataset: str, table: str, f: MapField, c: Classification) -> list[Drift]:
    where = f"{dataset}.{table}.{c.column}"
    values_personal = c.personal_in_values
    if not f.is_personal() and values_personal and (c.evidence != "name" or c.free_text):
        return [
            Drift(
                DriftKind.mislabelled,
                dataset,
                table,
                c.column,
                f"column {where} is mapped as not personal, but its values hold "
                f"{', '.join(values_personal)} ({_counts(c)})",
                tuple(values_personal),
            )
        ]
    if c.free_text:
        declared = [*f.categories, *(x for p in f.json_paths for x in p.categories)]
        uncovered = [x for x in values_personal if not any(covers(d, x) for d in declared)]
        if uncovered:
            return [
                Drift(
                    DriftKind.free_text,
                    dataset,
                    table,
                    c.column,
                    f"free-text column {where} contains identifiers its mapping does not "
                    f"declare: {', '.join(uncovered)} ({_counts(c)})",
                    tuple(uncovered),
                )
            ]
    return []


def _counts(c: Classification, entities: Sequence[str] | None = None) -> str:
    keys = entities if entities is not None else sorted(c.entities)
    shown = ", ".join(f"{e} in {c.entities[e]}" for e in keys if e in c.entities)
    return f"{shown} of {c.sampled} sampled values"


def discover(
    datamap: DataMap,
    connectors: Mapping[str, Connector],
    sampling: Sampling | None = None,
    *,
    budget: float | None = None,
    restricted: Sequence[RestrictedSource] = (),
    progress: Progress | None = None,
) -> DiscoveryReport:
    """Scan every dataset of ``datamap`` through ``connectors`` (by connection name).

    ``budget``: seconds; tables not started when it is spent are listed in ``skipped`` (the
    first table is always read).
    """
    sampling = sampling or Sampling()
    report = DiscoveryReport(sampling=sampling)
    started = time.monotonic()
    scanner = default_scanner()
    work: list[tuple[str, SqlConnector, TableInfo]] = []
    # each store once; a table belongs to the dataset that declares it, an undeclared one to the
    # store's first dataset (two datasets on one store never report each other's tables)
    by_connection: dict[str, list[str]] = {}
    for ds in datamap.datasets():
        by_connection.setdefault(ds.connection, []).append(ds.name)
    for connection, names in by_connection.items():
        conn = connectors.get(connection)
        if not isinstance(conn, SqlConnector):
            continue
        for t in conn.introspect().tables:
            if t.name.startswith(_OWN_PREFIXES):
                continue
            owner = next(
                (n for n in names if (d := datamap.dataset(n)) and d.table(t.name)), names[0]
            )
            work.append((owner, conn, t))
    per_dataset: dict[str, list[TableScan]] = {}
    for i, (ds_name, conn, table) in enumerate(work):
        if budget is not None and i > 0 and time.monotonic() - started > budget:
            report.skipped.append(f"{ds_name}.{table.name}")
            continue
        if progress:
            progress(f"{ds_name}.{table.name}", i, len(work))
        t0 = time.monotonic()
        rows, cols = scan_table(conn, table, sampling, scanner)
        scan = TableScan(ds_name, table.name, rows, cols, time.monotonic() - t0)
        report.tables.append(scan)
        per_dataset.setdefault(ds_name, []).append(scan)
    for ds_name, scans in per_dataset.items():
        report.drift += compare(datamap, ds_name, scans, restricted)
    report.seconds = time.monotonic() - started
    return report

"""Retention on file sets: rows older than a rule's period deleted, set-based, through DuckDB
(CSV, Parquet, NDJSON) or ``deltalake`` (Delta tables), with evidence in the ledger.

A rule applies to a file table when it covers one of the table's field categories. The table's
``retention_timestamp: true`` field starts the period (trigger ``collection``). What file sets
cannot do is refused when the sweep is planned, naming the rule, the table and the fix, before
any file is touched: another trigger, ``action: anonymise``, legal holds (the rule's or a
field's), no timestamp field.

A sweep counts, per file, the rows whose timestamp is before the cutoff (one DuckDB query) and
rewrites only the files that hold one (atomically: temp file, fsync, rename); a Delta table gets
one ``DELETE`` with the cutoff as its predicate (a new version; old versions vacuumed as the map
declares). Rows whose timestamp is empty or not a date are kept and counted (``undated``). Each
table's outcome is one ``retention.files_swept`` ledger entry (rule, table, rows, files, cutoff;
never a value). A dry run counts and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from troth.audit import Ledger
from troth.connectors.delta import DeltaTableStore
from troth.connectors.files import FileStore, quote
from troth.datamap.model import DataMap, FileTable
from troth.dsr.filesets import FileStores
from troth.errors import RetentionError
from troth.policy.duration import Duration
from troth.policy.model import Policy, RetentionAction, Trigger
from troth.policy.taxonomy import covers

KIND = "retention.files_swept"


@dataclass(frozen=True)
class FileBinding:
    """One rule on one file table: the timestamp column and the period."""

    rule: str
    fileset: str
    connection: str
    table: FileTable
    column: str
    period: Duration

    @property
    def name(self) -> str:
        return f"{self.fileset}.{self.table.name}"


def file_bindings(
    policy: Policy, datamap: DataMap | None, rules: Sequence[str] | None = None
) -> tuple[list[FileBinding], list[tuple[FileTable, str]]]:
    """The file tables each rule applies to, and what file sets cannot do (table, reason)."""
    out: list[FileBinding] = []
    problems: list[tuple[FileTable, str]] = []
    for rule in policy.retention:
        if rules is not None and rule.id not in rules:
            continue
        if rule.period is None:
            continue  # kept while the trigger has not happened: nothing to sweep
        for fs in datamap.filesets if datamap else []:
            for t in fs.tables:
                cats = [c for f in t.fields for c in f.categories]
                if not any(covers(r, c) for r in rule.categories for c in cats):
                    continue
                where = f"rule {rule.id} on {fs.name}.{t.name}"
                stamps = [f.name for f in t.fields if f.retention_timestamp]
                if rule.trigger is not Trigger.collection:
                    why = f"{where}: trigger {rule.trigger.value} (file sets: collection)"
                elif rule.action is not RetentionAction.delete:
                    why = f"{where}: action {rule.action.value} (file sets: delete)"
                elif rule.legal_holds or any(f.legal_holds for f in t.fields):
                    why = f"{where}: legal holds are not applied to file sets"
                elif len(stamps) != 1:
                    why = f"{where}: {len(stamps)} retention_timestamp fields (need 1)"
                else:
                    out.append(FileBinding(rule.id, fs.name, fs.connection, t, stamps[0],
                                           rule.period))  # fmt: skip
                    continue
                problems.append((t, why))
    return out, problems


FIX = (
    "mark one field `retention_timestamp: true` per table, and keep holds, anonymisation and "
    "other triggers on SQL tables (docs/connectors.md)"
)


def bind_files(
    policy: Policy, datamap: DataMap | None, rules: Sequence[str] | None = None
) -> list[FileBinding]:
    """The file tables each rule applies to; refuses what file sets cannot do (one line)."""
    out, problems = file_bindings(policy, datamap, rules)
    if problems:
        raise RetentionError(
            f"retention cannot be kept on these file tables: {'; '.join(p for _t, p in problems)}",
            where="data map filesets",
            fix=FIX,
        )
    return out


def sweep_files(
    bindings: Sequence[FileBinding],
    now: datetime,
    engine: Engine | None,
    *,
    env: Mapping[str, str] | None = None,
    dry_run: bool = False,
    actor: str = "cli",
) -> list[dict[str, Any]]:
    """Delete the rows older than each binding's period; one result (and ledger entry) each."""
    out: list[dict[str, Any]] = []
    with FileStores(env) as stores:
        for conn in dict.fromkeys(b.connection for b in bindings):
            stores.get(conn).ping()  # every folder there before the first write
        for b in bindings:
            store = stores.get(b.connection)
            cutoff = b.period.before(now).replace(tzinfo=None, microsecond=0)
            if b.table.format == "delta":
                result = _sweep_delta(b, store, cutoff, dry_run)
            else:
                result = _sweep_files(b, store, cutoff, dry_run)
            result |= {"rule": b.rule, "table": b.name, "cutoff": cutoff.isoformat()}
            if engine is not None and not dry_run:
                Ledger(engine).append(KIND, result, actor=actor)
            out.append(result)
    return out


def _old(column: str) -> tuple[str, str]:
    """SQL true for a row older than ``$cutoff``, and for a row with no usable date."""
    ts = f"TRY_CAST({quote(column)} AS TIMESTAMP)"
    return f"{ts} < $cutoff", f"{ts} IS NULL"


def _sweep_files(
    b: FileBinding, store: FileStore, cutoff: datetime, dry_run: bool
) -> dict[str, Any]:
    old, undated = _old(b.column)
    rows = files = nodate = 0
    fmt = b.table.format
    for file in store.files(b.table.path):
        reader = store.reader(fmt, [file])
        sql = f"SELECT count(*) FILTER ({old}), count(*) FILTER ({undated}) FROM {reader}"
        found = store.query(sql, {"cutoff": cutoff})[1][0]
        n, nodate = int(found[0] or 0), nodate + int(found[1] or 0)
        if not n:
            continue
        rows, files = rows + n, files + 1
        if not dry_run:
            keep = f"SELECT * EXCLUDE (filename) FROM {reader} WHERE ({old}) IS NOT TRUE"
            store.rewrite(fmt, file, keep, {"cutoff": cutoff})
    return {"action": "delete", "rows": rows, "files": files, "undated": nodate}


def _sweep_delta(
    b: FileBinding, store: FileStore, cutoff: datetime, dry_run: bool
) -> dict[str, Any]:
    table = DeltaTableStore(store, b.table.path)
    view = table.register()
    old, undated = _old(b.column)
    sql = f"SELECT count(*) FILTER ({old}), count(*) FILTER ({undated}) FROM {view}"
    found = store.query(sql, {"cutoff": cutoff})[1][0]
    n = int(found[0] or 0)
    result: dict[str, Any] = {"action": "delete", "rows": n, "files": 0,
                              "undated": int(found[1] or 0), "version": table.version}  # fmt: skip
    if n and not dry_run:
        types = {r[0]: str(r[1]).upper() for r in store.query(f"DESCRIBE SELECT * FROM {view}")[1]}
        if types.get(b.column, "").startswith(("TIMESTAMP", "DATE")):
            # a typed column: the cutoff (a date, not personal data) as the predicate
            metrics = table.delete_predicate(f"{quote(b.column)} < '{cutoff.isoformat()}'")
        else:  # dates as text: the old values, matched exactly through a MERGE source
            col = quote(b.column)
            values = store.query(f"SELECT DISTINCT CAST({col} AS VARCHAR) FROM {view} "
                                 f"WHERE {old}", {"cutoff": cutoff})[1]  # fmt: skip
            metrics = table.delete_values(b.column, [v[0] for v in values])
        result["files"] = int(metrics.get("num_removed_files", 0))
        result["version"] = table.version
        if b.table.vacuum_hours is not None:
            result["vacuumed_files"] = table.vacuum(b.table.vacuum_hours)
        else:
            result["old_versions_kept"] = True
    return result

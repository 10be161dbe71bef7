"""Data-subject requests over the file sets of the data map (CSV, Parquet, NDJSON through DuckDB).

The person's rows are found by one DuckDB query per table (their identity fields compared with the
request's values: e-mail lower-cased and trimmed, others trimmed). Access exports them as rows of
``<fileset>.<table>`` (with the ``file`` they came from); erasure rewrites, one file at a time and
atomically, only the files that hold a row to change: ``delete_row`` drops the rows, ``mask`` sets
each personal field to ``null`` or ``[redacted]``. A row already masked is not a row to change, so
a second run rewrites nothing. A dry run counts rows and files and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from troth.connectors.delta import DeltaTableStore
from troth.connectors.files import FileStore, quote
from troth.connectors.names import resolve_connection
from troth.datamap.graph import TableId
from troth.datamap.model import DataMap, EraseAction, FileTable, MapField, MaskStrategy
from troth.dsr.holders import Opened
from troth.dsr.identity import Identity
from troth.dsr.keystores import Sink

REDACTED = "[redacted]"


@dataclass(frozen=True)
class FileStep:
    """One file table of one file set, with the identity values of this request."""

    fileset: str
    connection: str
    table: FileTable
    values: Mapping[str, tuple[str, ...]]

    @property
    def tid(self) -> TableId:
        return TableId(self.fileset, self.table.name)

    @property
    def reached(self) -> bool:
        return any(f.identity in self.values for f in self.table.fields if f.identity)

    def match(self) -> tuple[str, dict[str, list[str]]]:
        """SQL true for the person's rows, and its named parameters."""
        parts: list[str] = []
        params: dict[str, list[str]] = {}
        for f in self.table.fields:
            if not f.identity or f.identity not in self.values:
                continue
            params[f.identity] = list(self.values[f.identity])
            text = f"trim(CAST({quote(f.name)} AS VARCHAR))"
            if f.identity == "email":
                text = f"lower({text})"
            parts.append(f"list_contains(${f.identity}, {text})")
        return "coalesce(" + " OR ".join(parts) + ", false)", params


def plan_files(datamap: DataMap, identities: Sequence[Identity]) -> list[FileStep]:
    values: dict[str, list[str]] = {}
    for ident in identities:
        vals = values.setdefault(ident.name, [])
        value = ident.normalised().strip()
        if value not in vals:
            vals.append(value)
    frozen = {k: tuple(v) for k, v in values.items()}
    return [
        FileStep(fs.name, fs.connection, t, frozen) for fs in datamap.filesets for t in fs.tables
    ]


class FileStores(Opened[FileStore]):
    """File sets by connection name, opened lazily, closed together."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._env = env

    def get(self, connection: str) -> FileStore:
        return self._opened(
            connection, lambda: FileStore(resolve_connection(connection, self._env), connection)
        )

    def ping(self, steps: Iterable[FileStep]) -> None:
        for conn in dict.fromkeys(s.connection for s in steps):
            self.get(conn).ping()


def access_files(steps: Sequence[FileStep], stores: FileStores, sink: Sink) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for step in steps:
        if not step.reached:
            continue
        store = stores.get(step.connection)
        if step.table.format == "delta":
            out.append(_access_delta(step, store, sink))
            continue
        files = store.files(step.table.path)
        n = 0
        if files:
            match, params = step.match()
            reader = store.reader(step.table.format, files)
            columns, rows = store.query(f"SELECT * FROM {reader} WHERE {match}", params)
            for row in rows:
                record = dict(zip(columns, row, strict=True))
                record["filename"] = _relative(store.folder, record["filename"])
                sink.add(step.tid, record)
            n = len(rows)
        out.append({"table": str(step.tid), "action": "access", "rows": n})
    return out


def erase_files(
    steps: Sequence[FileStep], stores: FileStores, *, dry_run: bool = False
) -> list[dict[str, Any]]:
    """Delete or mask the person's rows, rewriting only the files that hold one."""
    out: list[dict[str, Any]] = []
    for step in steps:
        if not step.reached:
            continue
        store = stores.get(step.connection)
        if step.table.format == "delta":
            out.append(_erase_delta(step, store, dry_run))
            continue
        match, params = step.match()
        fmt = step.table.format
        delete = step.table.erase is EraseAction.delete_row
        rows = files = 0
        for file in store.files(step.table.path):
            reader = store.reader(fmt, [file])
            types = store.columns(fmt, file)
            masks = {} if delete else _masks(step.table.fields, types)
            cond = match if delete else f"{match} AND ({_changed(masks)})"
            _cols, found = store.query(f"SELECT count(*) FROM {reader} WHERE {cond}", params)
            n = int(found[0][0])
            if not n:
                continue
            rows, files = rows + n, files + 1
            if dry_run:
                continue
            if delete:
                select = f"SELECT * EXCLUDE (filename) FROM {reader} WHERE ({match}) IS NOT TRUE"
            else:
                replace = ", ".join(
                    f"CASE WHEN {match} THEN {expr} ELSE {quote(col)} END AS {quote(col)}"
                    for col, expr in masks.items()
                )
                select = f"SELECT * EXCLUDE (filename) REPLACE ({replace}) FROM {reader}"
            store.rewrite(fmt, file, select, params)
        action = "delete" if delete else "mask"
        out.append({"table": str(step.tid), "action": action, "rows": rows, "files": files})
    return out


def _masks(fields: Sequence[MapField], types: Mapping[str, str]) -> dict[str, str]:
    """Personal column -> its masked value as SQL (redact on text, NULL otherwise)."""
    out: dict[str, str] = {}
    for f in fields:
        if not (f.categories or f.identity) or f.name not in types:
            continue
        text = types[f.name].upper().startswith("VARCHAR")
        out[f.name] = f"'{REDACTED}'" if f.mask is MaskStrategy.redact and text else "NULL"
    return out


def _changed(masks: Mapping[str, str]) -> str:
    if not masks:
        return "false"
    return " OR ".join(f"{quote(col)} IS DISTINCT FROM {expr}" for col, expr in masks.items())


def _relative(folder: Path, name: Any) -> str:
    try:
        return str(Path(str(name)).relative_to(folder))
    except ValueError:
        return Path(str(name)).name


def _access_delta(step: FileStep, store: FileStore, sink: Sink) -> dict[str, Any]:
    table = DeltaTableStore(store, step.table.path)
    view = table.register()
    match, params = step.match()
    columns, rows = store.query(f"SELECT * FROM {view} WHERE {match}", params)
    for row in rows:
        sink.add(step.tid, {**dict(zip(columns, row, strict=True)), "version": table.version})
    return {"table": str(step.tid), "action": "access", "rows": len(rows)}


def _erase_delta(step: FileStep, store: FileStore, dry_run: bool) -> dict[str, Any]:
    """One MERGE over the table (a new version, only the files with a matched row rewritten),
    then the vacuum the map declares; a table with nothing to change gets no new version."""
    table = DeltaTableStore(store, step.table.path)
    view = table.register()
    match, params = step.match()
    delete = step.table.erase is EraseAction.delete_row
    types = {r[0]: str(r[1]) for r in store.query(f"DESCRIBE SELECT * FROM {view}")[1]}
    masks = {} if delete else _masks(step.table.fields, types)
    cond = match if delete else f"{match} AND ({_changed(masks)})"
    n = int(store.query(f"SELECT count(*) FROM {view} WHERE {cond}", params)[1][0][0])
    result: dict[str, Any] = {
        "table": str(step.tid), "action": "delete" if delete else "mask", "rows": n,
        "files": 0, "version": table.version,
    }  # fmt: skip
    if n and not dry_run:
        identities = {f.name: f.identity for f in step.table.fields if f.identity}
        metrics = table.merge(identities, step.values, None if delete else masks)
        result["files"] = int(metrics.get("num_target_files_removed", 0))
        result["version"] = table.version
    if step.table.vacuum_hours is not None and not dry_run:
        result["vacuumed_files"] = table.vacuum(step.table.vacuum_hours)
    elif n:
        result["old_versions_kept"] = True  # they still hold the data: no vacuum declared
    return result

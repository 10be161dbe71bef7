"""Delta Lake tables (``deltalake``): read through DuckDB (the table's current version as an Arrow
dataset), erased with a MERGE whose source is an Arrow table of the person's values, so no value
is ever written into a predicate's text; only the files holding a matched row are rewritten (a new
table version). Earlier versions still hold the data until a vacuum removes their files; the
transaction log holds it too (each file's min/max column statistics), so a vacuum also checkpoints
the table and removes the log entries older than its retention (the Delta protocol's metadata
cleanup, done by troth because ``cleanup_metadata`` only knows the table's own 30-day default).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from troth.connectors.files import FileStore, quote
from troth.errors import ConnectorError, StoreDownError


class DeltaTableStore:
    """One Delta table inside a file set's folder."""

    def __init__(self, store: FileStore, path: str) -> None:
        try:
            import deltalake
        except ImportError as exc:  # pragma: no cover - the extra is not installed
            raise ConnectorError(
                "the deltalake library is not installed",
                where=f"connection {store.name!r}",
                fix="pip install 'troth[files]'",
            ) from exc
        self._deltalake = deltalake
        self.store = store
        self.folder: Path = store.folder / path
        if not (self.folder / "_delta_log").is_dir():
            raise StoreDownError(
                f"file set {store.name!r}: {path} is not a Delta table",
                where=f"connection {store.name!r}",
                fix="point `path` at the table's folder (the one holding _delta_log)",
            )
        self.table: Any = deltalake.DeltaTable(str(self.folder))
        self.view = "troth_delta_" + str(abs(hash(str(self.folder))))

    def register(self) -> str:
        """Register the current version in the store's DuckDB; the view's name."""
        self.table = self._deltalake.DeltaTable(str(self.folder))
        self.store.db.register(self.view, self.table.to_pyarrow_dataset())
        return self.view

    @property
    def version(self) -> int:
        return int(self.table.version())

    def merge(
        self,
        identities: Mapping[str, str],
        values: Mapping[str, Sequence[str]],
        updates: Mapping[str, str] | None,
        new_values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Delete (``updates`` None) or update the rows whose identity columns match ``values``.

        ``identities``: column -> identity name; e-mail columns compared lower-cased and trimmed.
        """
        import pyarrow as pa  # type: ignore[import-untyped]

        names = sorted({n for n in identities.values() if values.get(n)})
        rows = [{f"troth_{m}": (v if m == n else None) for m in names}
                for n in names for v in values[n]]  # fmt: skip
        source = pa.Table.from_pylist(
            rows, schema=pa.schema([(f"troth_{n}", pa.string()) for n in names])
        )
        for i, value in enumerate((new_values or {}).values()):  # rectification: s.troth_set_<i>
            source = source.append_column(f"troth_set_{i}", pa.array([value] * len(rows)))
        parts = []
        for column, name in identities.items():
            if name not in names:
                continue
            text = f"trim(CAST(t.{quote(column)} AS VARCHAR))"
            if name == "email":
                text = f"lower({text})"
            parts.append(f"{text} = s.troth_{name}")
        merger = self.table.merge(
            source=source, predicate=" OR ".join(parts), source_alias="s", target_alias="t"
        )
        merger = (
            merger.when_matched_delete()
            if updates is None
            else merger.when_matched_update(updates=dict(updates))
        )
        return self._run(merger.execute)

    def delete_predicate(self, predicate: str) -> dict[str, Any]:
        """Delete the rows a predicate selects (a new version). The predicate must hold no
        personal value (retention: a timestamp column before a cutoff)."""
        return self._run(lambda: self.table.delete(predicate))

    def delete_values(self, column: str, values: Sequence[Any]) -> dict[str, Any]:
        """Delete the rows whose ``column`` is one of ``values`` (a MERGE with the values as an
        Arrow source, never written into the predicate's text)."""
        import pyarrow as pa

        source = pa.table({"troth_v": pa.array(list(values), type=pa.string())})
        predicate = f"CAST(t.{quote(column)} AS VARCHAR) = s.troth_v"
        merger = self.table.merge(
            source=source, predicate=predicate, source_alias="s", target_alias="t"
        )
        return self._run(lambda: merger.when_matched_delete().execute())

    def _run(self, write: Any) -> dict[str, Any]:
        try:
            metrics: dict[str, Any] = write()
        except Exception as exc:  # deltalake raises its own and Python errors
            raise ConnectorError(
                f"file set {self.store.name!r}: the Delta table could not be written "
                f"({type(exc).__name__})",
                where=f"connection {self.store.name!r}",
                fix="check the mapped columns against the table's schema",
            ) from None
        self.table = self._deltalake.DeltaTable(str(self.folder))
        return metrics

    def vacuum(self, hours: int) -> int:
        """Remove files no version newer than ``hours`` needs; how many were removed. Nothing to
        remove: no vacuum is run (a vacuum is itself a table version)."""
        options = {"retention_hours": hours, "enforce_retention_duration": False}
        # the dry run also names files an earlier vacuum removed (their tombstones stay)
        due = [f for f in self.table.vacuum(dry_run=True, **options) if (self.folder / f).exists()]
        if not due:
            return 0
        removed = self.table.vacuum(dry_run=False, **options)
        self.table = self._deltalake.DeltaTable(str(self.folder))
        self._cleanup_log(hours)
        return len(removed)

    def _cleanup_log(self, hours: int) -> None:
        """Checkpoint the current version, then delete the log entries (commits, checkpoints,
        checksums) before the newest checkpoint whose commit is older than ``hours`` (the
        protocol's metadata cleanup): their statistics hold old values. Versions newer than that
        stay readable."""
        self.table.create_checkpoint()
        log = self.folder / "_delta_log"
        cutoff = time.time() - hours * 3600
        entries = [(int(m.group(1)), p) for p in log.iterdir() if (m := _LOG_ENTRY.match(p.name))]
        commits = {v: p for v, p in entries if p.suffix == ".json"}
        cut = max(
            (v for v, p in entries if ".checkpoint" in p.name
             and v in commits and commits[v].stat().st_mtime <= cutoff),
            default=None,
        )  # fmt: skip
        if cut is None:
            return
        for version, path in entries:
            if version < cut:
                path.unlink()
        self.table = self._deltalake.DeltaTable(str(self.folder))


#: a commit, checkpoint (single or multi-part) or checksum file of the log, by its version
_LOG_ENTRY = re.compile(r"^(\d{20})\.(?:json|crc|checkpoint(?:\.\d+\.\d+)?\.parquet)$")

"""Folders of CSV, Parquet and NDJSON files, read and rewritten through DuckDB (embedded).

A connection URL ``file:///absolute/folder`` names the folder; a table is a glob of files inside
it. Reads are one DuckDB query over all the table's files (the person's rows found by SQL in
DuckDB, never by a Python loop). A rewrite writes the whole new file next to the old one
(``.<name>.troth-tmp``), fsyncs it, renames it over the old file and fsyncs the folder, so a file is
either wholly old or wholly new; only files that hold a matched row are rewritten.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from troth.errors import ConfigError, ConnectorError, StoreDownError

FORMATS = ("csv", "parquet", "ndjson")
_READ = {
    "parquet": "read_parquet({files}, filename = true)",
    "csv": "read_csv({files}, header = true, all_varchar = true, filename = true)",
    "ndjson": "read_json({files}, format = 'newline_delimited', filename = true)",
}
_WRITE = {
    "parquet": "(FORMAT parquet)",
    "csv": "(FORMAT csv, HEADER true)",
    "ndjson": "(FORMAT json)",
}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def folder_of(url: str, name: str) -> Path:
    """The folder of a ``file:///...`` URL."""
    parsed = urlparse(url)
    if parsed.scheme != "file" or not parsed.path.startswith("/"):
        raise ConfigError(
            f"connection {name!r} of a file set must be a file:///absolute/folder URL",
            where=f"connection {name!r}",
            fix="set TROTH_CONN_<NAME>=file:///path/to/folder",
        )
    return Path(unquote(parsed.path))


class FileStore:
    """One folder, with an in-memory DuckDB to read and write its files."""

    def __init__(self, url: str, name: str) -> None:
        try:
            import duckdb
        except ImportError as exc:  # pragma: no cover - the extra is not installed
            raise ConnectorError(
                "the duckdb library is not installed",
                where=f"connection {name!r}",
                fix="pip install 'troth[files]'",
            ) from exc
        self.name = name
        self.folder = folder_of(url, name)
        self._duckdb = duckdb
        self.db: Any = duckdb.connect(":memory:")
        self.db.execute("SET preserve_insertion_order = true")

    def ping(self) -> None:
        if not self.folder.is_dir():
            raise StoreDownError(
                f"the folder of file set {self.name!r} does not exist or is not reachable",
                where=f"connection {self.name!r}",
                fix="mount the folder or fix the connection URL, then run the request again",
            )

    def files(self, pattern: str) -> list[Path]:
        """The files the glob matches inside the folder (sorted; temp files skipped)."""
        return sorted(
            p
            for p in self.folder.glob(pattern)
            if p.is_file() and not p.name.endswith(".troth-tmp")
        )

    def reader(self, fmt: str, files: Sequence[Path]) -> str:
        listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        return _READ[fmt].format(files=f"[{listed}]")

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of a query."""
        with self._errors():
            cur = self.db.execute(sql, dict(params or {}))
            columns = [d[0] for d in cur.description]
            return columns, [tuple(r) for r in cur.fetchall()]

    def columns(self, fmt: str, file: Path) -> dict[str, str]:
        """Column name -> DuckDB type of one file."""
        _names, rows = self.query(f"DESCRIBE SELECT * FROM {self.reader(fmt, [file])}")
        return {r[0]: str(r[1]) for r in rows if r[0] != "filename"}

    def rewrite(self, fmt: str, file: Path, select_sql: str, params: Mapping[str, Any]) -> None:
        """Replace ``file`` by the result of ``select_sql`` (atomic: temp, fsync, rename)."""
        tmp = file.with_name(f".{file.name}.troth-tmp")
        try:
            with self._errors():
                self.db.execute(
                    f"COPY ({select_sql}) TO '{_sql_text(tmp)}' {_WRITE[fmt]}", dict(params)
                )
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, file)
            dir_fd = os.open(file.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        finally:
            tmp.unlink(missing_ok=True)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except self._duckdb.Error as exc:
            raise ConnectorError(
                f"file set {self.name!r}: DuckDB could not read or write the files "
                f"({type(exc).__name__})",
                where=f"connection {self.name!r}",
                fix="check that every file of the table has the mapped columns and format",
            ) from None


def _sql_text(path: Path) -> str:
    return str(path).replace("'", "''")

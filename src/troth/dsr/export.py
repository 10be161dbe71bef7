"""The access export: the copy of their data a person receives, as one zip.

``summary.html``
    a page the person can read on its own: what we hold, table by table with the map's labels
    (the first rows of a large table), where they are mentioned in other people's records, and the
    GDPR Art. 15 information from the policy (:mod:`troth.dsr.information`);
``json/<dataset>.<table>.json``, ``csv/<dataset>.<table>.csv``
    every row, machine-readable (Art. 20): JSON in UTF-8 without escapes, keyed by column name;
    CSV with a byte-order mark (Excel reads it as UTF-8) and the labels as its header;
``json/mentions.json``, ``csv/mentions.csv``
    the person's values found inside other people's rows: the table, the row's key, where, the
    value; never the rest of that row;
``manifest.json``
    the request, the files, each table's columns (name, label, type) and the Art. 15 information.

Values are rendered from the live column types the same way on every engine
(:mod:`troth.dsr.values`). Tables without rows appear nowhere. Rows are spooled one at a time into
troth's private spool (:mod:`troth.dsr.spool`), never the system temp directory, and the spool is
removed on every exit path.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import shutil
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, partial
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

import orjson
from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined

from troth.connectors.base import Row
from troth.datamap.graph import TableId
from troth.datamap.model import DataMap
from troth.dsr.information import Part, as_dicts, held_categories, information, policy_document
from troth.dsr.labels import column_label, path_label, table_label
from troth.dsr.spool import Spool
from troth.dsr.values import render, renderer, text
from troth.errors import RequestError
from troth.policy.model import Policy

if TYPE_CHECKING:
    from troth.sharing.register import DisclosedTo

#: rows of each table (and mentions) shown in summary.html; the files hold them all
PREVIEW_ROWS = 100
MENTIONS = "mentions"
BOM = "\ufeff"
CHUNK = 1 << 20
FORMAT = "troth-access-export/1"
MENTION_LABELS = ["Table", "Record", "Where", "Value"]


@dataclass
class _Table:
    """One table's spool: rendered rows as JSON lines in an unnamed file."""

    file: IO[bytes]
    columns: list[str]
    rows: int = 0
    preview: list[dict[str, Any]] = field(default_factory=list)
    _names: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._names = set(self.columns)

    def write(self, values: dict[str, Any]) -> None:
        if len(values) != len(self.columns) or values.keys() != self._names:
            self.columns += [c for c in values if c not in self.columns]
            self._names = set(self.columns)
        self.file.write(_json_line(values) + b"\n")
        self.rows += 1
        if len(self.preview) < PREVIEW_ROWS:
            self.preview.append(values)

    def lines(self) -> Iterator[bytes]:
        self.file.flush()
        self.file.seek(0)
        for line in self.file:
            yield line.rstrip(b"\n")


class ZipExport:
    """A row sink that writes one person's access export to ``path`` (see the module doc).

    ``types``: per table, column name -> the live column type name
    (:attr:`~troth.connectors.base.ColumnInfo.type`); ``spool_root``: troth's private spool
    directory (:func:`~troth.dsr.spool.spool_dir`).
    """

    def __init__(
        self,
        path: Path,
        *,
        request_id: str,
        policy: Policy,
        datamap: DataMap,
        types: Mapping[TableId, Mapping[str, str]],
        spool_root: Path,
        disclosed: Sequence[DisclosedTo] = (),
    ) -> None:
        self.path = path
        self.disclosed = list(disclosed)
        self.request_id = request_id
        self.policy = policy
        self.datamap = datamap
        self.types = types
        self._spool = Spool(spool_root)
        self._tables: dict[TableId, _Table] = {}
        self._mentions: _Table | None = None
        self._mention_counts: dict[str, int] = {}
        self._paths: set[tuple[TableId, str, str]] = set()
        #: per table, the columns of its last row and their renderers, in that order
        self._renderers: dict[TableId, tuple[Sequence[str], Sequence[Callable[[Any], Any]]]] = {}

    # --- the sink ---------------------------------------------------------------------------

    def add(self, table: TableId, row: Mapping[str, Any]) -> None:
        """One of the person's rows."""
        self._check_open()
        spool = self._tables.get(table)
        if spool is None:
            spool = self._tables[table] = _Table(self._file(), list(row))
        columns, fns = self._renderers.get(table, ((), ()))
        if len(row) != len(columns) or list(row) != columns:  # a row of another shape
            columns = list(row)
            types = self.types.get(table, {})
            fns = [renderer(types.get(c)) for c in columns]
            self._renderers[table] = (columns, fns)
        values = [fn(v) for fn, v in zip(fns, row.values(), strict=True)]
        spool.write(dict(zip(columns, values, strict=True)))

    def mention(
        self, table: TableId, key: Mapping[str, Any], column: str, path: str, value: Any
    ) -> None:
        """The person's ``value`` found at ``column``/``path`` of someone else's row ``key``."""
        self._check_open()
        if self._mentions is None:
            self._mentions = _Table(self._file(), ["table", "key", "column", "path", "value"])
        types = self.types.get(table, {})
        self._mentions.write(
            {
                "table": str(table),
                "key": {k: render(v, types.get(k)) for k, v in key.items()},
                "column": column,
                "path": path,
                "value": render(value, None),
            }
        )
        self._mention_counts[str(table)] = self._mention_counts.get(str(table), 0) + 1
        self._paths.add((table, column, path))

    def counts(self) -> dict[str, int]:
        """The person's rows per table (``dataset.table``), tables with rows only."""
        return {str(t): s.rows for t, s in sorted(self._tables.items())}

    def mention_counts(self) -> dict[str, int]:
        """Mentions per table of other people's rows."""
        return dict(sorted(self._mention_counts.items()))

    def _check_open(self) -> None:
        if not self._spool.alive:
            raise RuntimeError("the export was already finished or aborted")

    def _file(self) -> IO[bytes]:
        return self._spool.file()

    # --- the end ----------------------------------------------------------------------------

    def finish(self) -> Path:
        """Write the zip to ``path`` and return it; the spool is removed whatever happens."""
        self._check_open()
        try:
            self._write()
        except OSError as exc:
            raise RequestError(
                f"cannot write the access export ({exc.strerror or type(exc).__name__})",
                where=str(self.path),
                fix="choose an output path in a writable directory with free space",
            ) from None
        finally:
            self._spool.remove()
        return self.path

    def abort(self) -> None:
        """Drop everything spooled (on an error); idempotent."""
        self._spool.remove()

    def __enter__(self) -> ZipExport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()

    def _write(self) -> None:
        tmp = self._spool.path("archive.zip")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            files: dict[str, dict[str, str]] = {}
            for tid, spool in sorted(self._tables.items()):
                cells = partial(_cells, columns=spool.columns)
                labels = self._labels(tid, spool)
                files[str(tid)] = self._table_files(zf, str(tid), spool, labels, cells)
            if self._mentions is not None:
                files[MENTIONS] = self._table_files(
                    zf, MENTIONS, self._mentions, MENTION_LABELS, self._mention_cells
                )
            info = self._information()
            generated = datetime.now(UTC).isoformat(timespec="seconds")
            manifest = self._manifest(generated, files, info)
            zf.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
            zf.writestr("summary.html", self._summary(generated, info))
        _publish(tmp, self.path)

    def _labels(self, tid: TableId, spool: _Table) -> list[str]:
        """Column labels, made unique (a repeated label gets its column name)."""
        labels = [column_label(self.datamap, tid, c) for c in spool.columns]
        return [
            f"{lab} ({col})" if labels.count(lab) > 1 else lab
            for lab, col in zip(labels, spool.columns, strict=True)
        ]

    def _table_files(
        self,
        zf: zipfile.ZipFile,
        name: str,
        spool: _Table,
        labels: list[str],
        cells: Callable[[dict[str, Any]], list[str]],
    ) -> dict[str, str]:
        json_name, csv_name = f"json/{name}.json", f"csv/{name}.csv"
        with zf.open(json_name, "w") as out:
            buf = bytearray(b"[\n")
            for n, line in enumerate(spool.lines()):
                buf += (b",\n" if n else b"") + line
                if len(buf) >= CHUNK:
                    out.write(buf)
                    buf.clear()
            out.write(buf + b"\n]\n")
        with zf.open(csv_name, "w") as raw, io.TextIOWrapper(raw, "utf-8", newline="") as out:
            out.write(BOM)
            writer = csv.writer(out)
            writer.writerow(labels)
            for line in spool.lines():
                writer.writerow(cells(orjson.loads(line)))
        return {"json": json_name, "csv": csv_name}

    def _mention_cells(self, m: dict[str, Any]) -> list[str]:
        """Table label, the row's key, where in the row, the value (nothing else of the row)."""
        tid = _table_id(m["table"])
        return [
            table_label(self.datamap, tid),
            _key_text(self.datamap, tid, m["key"]),
            path_label(self.datamap, tid, m["column"], m["path"]),
            text(m["value"]),
        ]

    def _information(self) -> list[Part]:
        tables = sorted(self._tables)
        held = held_categories(self.datamap, tables, sorted(self._paths))
        doc = policy_document(self.policy)
        return information(doc, self.datamap, tables, held, self.disclosed)

    def _manifest(
        self, generated: str, files: dict[str, dict[str, str]], info: list[Part]
    ) -> dict[str, Any]:
        tables = []
        for tid, spool in sorted(self._tables.items()):
            types = self.types.get(tid, {})
            columns = [
                {"name": c, "label": lab, "type": types.get(c)}
                for c, lab in zip(spool.columns, self._labels(tid, spool), strict=True)
            ]
            label = table_label(self.datamap, tid)
            tables.append(
                {"table": str(tid), "label": label, "rows": spool.rows, **files[str(tid)]}
            )
            tables[-1]["columns"] = columns
        out: dict[str, Any] = {
            "format": FORMAT,
            "request_id": self.request_id,
            "generated_at": generated,
            "controller": self.policy.organisation.legal_name or self.policy.organisation.name,
            "policy_version": self.policy.policy.version,
            "tables": tables,
        }
        if self._mentions is not None:
            out["mentions"] = {"rows": self._mentions.rows, **files[MENTIONS]}
        out["disclosed_to"] = [d.to_dict() for d in self.disclosed]
        out["information"] = as_dicts(info)
        return out

    def _summary(self, generated: str, info: list[Part]) -> str:
        tables = []
        for tid, spool in sorted(self._tables.items()):
            labels = self._labels(tid, spool)
            rows = [[text(r.get(c)) for c in spool.columns] for r in spool.preview]
            tables.append(
                {
                    "id": "table-" + str(tid).replace(".", "-"),
                    "name": str(tid),
                    "label": table_label(self.datamap, tid),
                    "count": spool.rows,
                    "labels": labels,
                    "rows": rows,
                }
            )
        mentions: list[list[str]] = []
        if self._mentions is not None:
            mentions = [self._mention_cells(m) for m in self._mentions.preview]
        org = self.policy.organisation
        return (
            _environment()
            .get_template("summary.html.j2")
            .render(
                lang=self.policy.policy.language or "en",
                title=f"Your data at {org.name}",
                version=self.policy.policy.version,
                controller=org.legal_name or org.name,
                request_id=self.request_id,
                generated=generated,
                tables=tables,
                mentions=mentions,
                mention_count=self._mentions.rows if self._mentions else 0,
                info=info,
            )
        )


def _json_line(values: Mapping[str, Any]) -> bytes:
    """One row as a line of JSON (UTF-8); orjson, or the standard encoder for what orjson does
    not take (integers beyond 64 bits)."""
    try:
        return orjson.dumps(values, default=str)
    except TypeError:
        return json.dumps(values, ensure_ascii=False, separators=(",", ":"), default=str).encode()


#: the types the CSV writer turns into the same text as :func:`text` (None: an empty cell)
_CSV_NATIVE = frozenset({str, int, float, type(None)})


def _cells(row: Mapping[str, Any], columns: list[str]) -> list[Any]:
    return [v if type(v) in _CSV_NATIVE else text(v) for v in map(row.get, columns)]


def _table_id(name: str) -> TableId:
    dataset, _, table = name.partition(".")
    return TableId(dataset, table)


def _key_text(datamap: DataMap, tid: TableId, key: Mapping[str, Any]) -> str:
    return ", ".join(f"{column_label(datamap, tid, k)} {text(v)}" for k, v in key.items())


def _publish(tmp: Path, path: Path) -> None:
    """Move the finished archive to ``path`` (copied when it is on another file system)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(tmp, path)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    part = path.with_name(f".{path.name}.part")
    try:
        with open(tmp, "rb") as src, open(part, "wb") as dst:
            os.chmod(part, 0o600)
            shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


@cache
def _environment() -> Environment:
    return Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("troth.dsr", "templates"),
                PackageLoader("troth.policy.render", "templates"),
            ]
        ),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


class CountingSink:
    """A sink that only counts rows (dry runs and benchmarks)."""

    def __init__(self) -> None:
        self.rows = 0

    def add(self, table: TableId, row: Row) -> None:
        self.rows += 1

    def mention(
        self, table: TableId, key: Mapping[str, Any], column: str, path: str, value: Any
    ) -> None:
        self.rows += 1

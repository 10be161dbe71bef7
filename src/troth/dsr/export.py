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
(:mod:`troth.dsr.values`), column by column as the rows come in batches. Tables without rows
appear nowhere. Rows are spooled as they come into troth's private spool (:mod:`troth.dsr.spool`,
:mod:`troth.dsr.tablespool`), never the system temp directory, and the spool is removed on every
exit path.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import shutil
import zipfile
from collections.abc import Callable, Mapping, Sequence
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
from troth.dsr.tablespool import TableSpool, cells
from troth.dsr.values import column_renderer, render, text, unchanged
from troth.errors import RequestError
from troth.policy.model import Policy

if TYPE_CHECKING:
    from troth.sharing.register import DisclosedTo

MENTIONS = "mentions"
BOM = "\ufeff"
FORMAT = "troth-access-export/1"
MENTION_LABELS = ["Table", "Record", "Where", "Value"]


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
        self._tables: dict[TableId, TableSpool] = {}
        self._mentions: TableSpool | None = None
        self._mention_counts: dict[str, int] = {}
        self._paths: set[tuple[TableId, str, str]] = set()
        #: per table and columns, each column's renderer and the types it keeps as they are
        self._renderers: dict[
            tuple[TableId, tuple[str, ...]],
            list[tuple[Callable[[Sequence[Any]], Sequence[Any]], frozenset[type]]],
        ] = {}

    # --- the sink ---------------------------------------------------------------------------

    def add(self, table: TableId, row: Mapping[str, Any]) -> None:
        """One of the person's rows."""
        self.add_rows(table, list(row), [tuple(row.values())])

    def add_rows(
        self, table: TableId, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """Rows of the person, each a tuple of the values of ``columns``."""
        self._check_open()
        if not rows:
            return
        spool = self._tables.get(table)
        if spool is None:
            spool = self._tables[table] = TableSpool(self._file(), columns, self._file())
        spool.write_rows(columns, self._render(table, columns, rows))

    def _render(
        self, table: TableId, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> Sequence[tuple[Any, ...]]:
        """The rows' values rendered by their column types, column by column: a column whose
        values are all of types its renderer keeps as they are is not touched."""
        shape = (table, tuple(columns))
        fns = self._renderers.get(shape)
        if fns is None:
            types = self.types.get(table, {})
            fns = [(column_renderer(types.get(c)), unchanged(types.get(c))) for c in columns]
            self._renderers[shape] = fns
        values: list[Sequence[Any]] = list(zip(*rows, strict=True))
        changed = False
        for i, (fn, same) in enumerate(fns):
            if not same.issuperset(map(type, values[i])):
                values[i] = fn(values[i])
                changed = True
        return list(zip(*values, strict=True)) if changed else rows

    def mention(
        self, table: TableId, key: Mapping[str, Any], column: str, path: str, value: Any
    ) -> None:
        """The person's ``value`` found at ``column``/``path`` of someone else's row ``key``."""
        self._check_open()
        if self._mentions is None:
            self._mentions = TableSpool(
                self._file(), ["table", "key", "column", "path", "value"], None
            )
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
                labels = self._labels(tid, spool)
                of_row = partial(cells, columns=spool.columns)
                files[str(tid)] = self._table_files(zf, str(tid), spool, labels, of_row)
            if self._mentions is not None:
                files[MENTIONS] = self._table_files(
                    zf, MENTIONS, self._mentions, MENTION_LABELS, self._mention_cells
                )
            info = self._information()
            generated = datetime.now(UTC).isoformat(timespec="seconds")
            manifest = self._manifest(generated, files, info)
            zf.writestr("manifest.json", manifest_json(manifest))
            zf.writestr("summary.html", self._summary(generated, info))
        _publish(tmp, self.path)

    def _labels(self, tid: TableId, spool: TableSpool) -> list[str]:
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
        spool: TableSpool,
        labels: list[str],
        cells: Callable[[dict[str, Any]], list[str]],
    ) -> dict[str, str]:
        json_name, csv_name = f"json/{name}.json", f"csv/{name}.csv"
        with zf.open(json_name, "w") as out:
            spool.json_array(out)
        with (
            zf.open(csv_name, "w") as raw,
            io.TextIOWrapper(raw, "utf-8", newline="", write_through=True) as out,
        ):
            out.write(BOM)
            writer = csv.writer(out)
            writer.writerow(labels)
            written = spool.csv_lines()
            if written is None:
                for line in spool.lines():
                    writer.writerow(cells(orjson.loads(line)))
            else:
                for chunk in written:  # the rows' CSV lines, written as they came
                    raw.write(chunk)
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


def manifest_json(manifest: Mapping[str, Any]) -> bytes:
    """The manifest as indented JSON in UTF-8: what ``json.dumps(indent=2, ensure_ascii=False)``
    writes (it holds text, whole numbers, booleans and nulls), by orjson, several times faster."""
    return orjson.dumps(manifest, option=orjson.OPT_INDENT_2)


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

    def add_rows(
        self, table: TableId, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        self.rows += len(rows)

    def mention(
        self, table: TableId, key: Mapping[str, Any], column: str, path: str, value: Any
    ) -> None:
        self.rows += 1

"""The access export: a zip with JSON and CSV per table and a readable HTML summary, streamed.

Rows arrive one at a time from the resolution; each is written at once to a per-table JSON and
CSV spool file on disk, and the zip is assembled from the spools by streaming copy. Memory holds
one row and the first rows of each table for the summary, whatever the person's size.
"""

from __future__ import annotations

import csv
import html
import json
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from troth.connectors.base import Row
from troth.datamap.graph import TableId

PREVIEW_ROWS = 20


def plain(value: Any) -> Any:
    """A JSON-able form of a column value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


@dataclass
class _Spool:
    json_file: IO[str]
    csv_file: IO[str]
    writer: Any
    columns: list[str]
    rows: int = 0
    preview: list[list[Any]] = field(default_factory=list)


class ZipExport:
    """A :class:`~troth.dsr.resolve.RowSink` that writes the access export to ``path``."""

    def __init__(self, path: Path, *, request_id: str = "") -> None:
        self.path = path
        self.request_id = request_id
        self._dir = tempfile.TemporaryDirectory(prefix="troth-export-")
        self._spools: dict[str, _Spool] = {}

    def add(self, table: TableId, row: Row) -> None:
        name = str(table)
        spool = self._spools.get(name)
        if spool is None:
            spool = self._open(name, list(row))
        values = [plain(row.get(c)) for c in spool.columns]
        if spool.rows:
            spool.json_file.write(",\n")
        spool.json_file.write(json.dumps(dict(zip(spool.columns, values, strict=True))))
        spool.writer.writerow(values)
        spool.rows += 1
        if len(spool.preview) < PREVIEW_ROWS:
            spool.preview.append(values)

    def _open(self, name: str, columns: list[str]) -> _Spool:
        base = Path(self._dir.name) / name
        jf = open(f"{base}.json", "w", encoding="utf-8")  # noqa: SIM115 (closed in finish)
        cf = open(f"{base}.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115
        jf.write("[\n")
        writer = csv.writer(cf)
        writer.writerow(columns)
        spool = _Spool(jf, cf, writer, columns)
        self._spools[name] = spool
        return spool

    def counts(self) -> dict[str, int]:
        return {name: s.rows for name, s in self._spools.items()}

    def finish(self, counts: dict[str, int] | None = None) -> Path:
        """Write the zip (JSON, CSV, summary.html, manifest.json); returns its path."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        generated = datetime.now(UTC).isoformat(timespec="seconds")
        all_counts = {**(counts or {}), **self.counts()}
        try:
            with zipfile.ZipFile(self.path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name, spool in sorted(self._spools.items()):
                    spool.json_file.write("\n]\n")
                    spool.json_file.close()
                    spool.csv_file.close()
                    for ext in ("json", "csv"):
                        src = Path(self._dir.name) / f"{name}.{ext}"
                        with open(src, "rb") as fh, zf.open(f"{ext}/{name}.{ext}", "w") as out:
                            shutil.copyfileobj(fh, out, 1 << 20)
                manifest = {
                    "request_id": self.request_id,
                    "generated_at": generated,
                    "tables": [{"table": t, "rows": n} for t, n in sorted(all_counts.items())],
                }
                zf.writestr("manifest.json", json.dumps(manifest, indent=2))
                zf.writestr("summary.html", self._summary(generated, all_counts))
        finally:
            self._dir.cleanup()
        return self.path

    def _summary(self, generated: str, counts: dict[str, int]) -> str:
        e = html.escape
        parts = [
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            "<title>Your data</title><style>body{font-family:sans-serif;margin:2em}"
            "table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #ccc;"
            "padding:.3em .6em;text-align:left}</style></head><body>",
            "<h1>The data we hold about you</h1>",
            f"<p>Request {e(self.request_id)}, generated {e(generated)}. Every table is in "
            "full in <code>json/</code> and <code>csv/</code> in this archive.</p>",
            "<h2>Overview</h2><table><tr><th>Table</th><th>Rows</th></tr>",
        ]
        parts += [f"<tr><td>{e(t)}</td><td>{n}</td></tr>" for t, n in sorted(counts.items())]
        parts.append("</table>")
        for name, spool in sorted(self._spools.items()):
            shown = len(spool.preview)
            note = f" (first {shown} of {spool.rows})" if shown < spool.rows else ""
            parts.append(f"<h2>{e(name)}{e(note)}</h2><table><tr>")
            parts += [f"<th>{e(c)}</th>" for c in spool.columns]
            parts.append("</tr>")
            for values in spool.preview:
                cells = "".join(f"<td>{e('' if v is None else str(v))}</td>" for v in values)
                parts.append(f"<tr>{cells}</tr>")
            parts.append("</table>")
        parts.append("</body></html>\n")
        return "".join(parts)

    def mention(
        self, table: TableId, key: Mapping[str, Any], column: str, path: str, value: Any
    ) -> None:
        pass


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

"""One table's rows in an access export's spool, until the zip is written.

The rows are kept as JSON lines, one rendered row per line (:func:`json_line`), in an unnamed
spool file (:meth:`troth.dsr.spool.Spool.file`). When every row of the table came in batches of
the same columns (a store read with ``SELECT *``: the usual case), their CSV lines are written
as they come too, so the CSV file is a copy at the end; otherwise the CSV is built from the JSON
lines then (:meth:`TableSpool.csv_lines` is None). Both ways give the same cells: a cell is the
text (:func:`troth.dsr.values.text`) of the value the JSON file holds.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from typing import IO, Any

import orjson

from troth.dsr.values import text

#: rows of each table shown in summary.html; the files hold them all
PREVIEW_ROWS = 100
#: bytes copied per write into the zip
CHUNK = 1 << 20

_DUMPS = partial(orjson.dumps, default=str)


class TableSpool:
    """One table's spooled rows: ``file`` holds JSON lines, ``csv`` (while every batch had
    ``columns``, in that order) their CSV lines."""

    def __init__(self, file: IO[bytes], columns: Sequence[str], csv: IO[bytes] | None) -> None:
        self.file = file
        self.columns = list(columns)
        self.rows = 0
        #: the first rows, as dicts, for the summary page
        self.preview: list[dict[str, Any]] = []
        self._names = set(self.columns)
        self._csv = csv

    def write(self, values: dict[str, Any]) -> None:
        """One rendered row, of any columns (the CSV is then built from the JSON lines)."""
        self._csv = None
        self._widen(values)
        self.file.write(json_line(values) + b"\n")
        self.rows += 1
        if len(self.preview) < PREVIEW_ROWS:
            self.preview.append(values)

    def write_rows(self, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        """Rendered rows, each a tuple of the values of ``columns``."""
        if not rows:
            return
        dicts = [dict(zip(columns, r, strict=True)) for r in rows]
        if list(columns) != self.columns:
            self._csv = None
            for d in dicts[:1]:
                self._widen(d)
        try:
            lines = list(map(_DUMPS, dicts))
        except TypeError:  # an integer beyond 64 bits
            lines = [json_line(d) for d in dicts]
        self.file.write(b"\n".join(lines) + b"\n")
        if self._csv is not None:
            buf = io.StringIO()
            csv.writer(buf).writerows(csv_rows(rows))
            self._csv.write(buf.getvalue().encode())
        self.rows += len(rows)
        if len(self.preview) < PREVIEW_ROWS:
            self.preview += dicts[: PREVIEW_ROWS - len(self.preview)]

    def _widen(self, values: Mapping[str, Any]) -> None:
        if len(values) != len(self.columns) or values.keys() != self._names:
            self.columns += [c for c in values if c not in self._names]
            self._names = set(self.columns)

    def lines(self) -> Iterator[bytes]:
        """The JSON lines, without their line ends."""
        self.file.flush()
        self.file.seek(0)
        for line in self.file:
            yield line.rstrip(b"\n")

    def json_array(self, out: IO[bytes]) -> None:
        """Write the rows as a JSON array, one row per line, to ``out`` (a copy by chunks: the
        lines hold no line ends of their own, JSON escapes them)."""
        self.file.flush()
        self.file.seek(0)
        out.write(b"[\n")
        held = b""  # each chunk's last byte waits: the file's last line end is not a separator
        for chunk in iter(partial(self.file.read, CHUNK), b""):
            out.write(held + chunk[:-1].replace(b"\n", b",\n"))
            held = b",\n" if chunk[-1:] == b"\n" else chunk[-1:]
        out.write((b"" if held == b",\n" else held) + b"\n]\n")

    def csv_lines(self) -> Iterator[bytes] | None:
        """The CSV lines written as the rows came, in chunks; None when they must be built
        from the JSON lines."""
        if self._csv is None:
            return None
        fh = self._csv
        fh.flush()
        fh.seek(0)
        return iter(partial(fh.read, CHUNK), b"")


def json_line(values: Any) -> bytes:
    """One row as a line of JSON (UTF-8); orjson, or the standard encoder for what orjson does
    not take (integers beyond 64 bits)."""
    try:
        return _DUMPS(values)
    except TypeError:
        return json.dumps(values, ensure_ascii=False, separators=(",", ":"), default=str).encode()


#: the types the CSV writer turns into the same text as :func:`text` (None: an empty cell)
_CSV_NATIVE = frozenset({str, int, float, type(None)})
#: the types whose JSON value reads back as the same value
_SAME_IN_JSON = frozenset({str, int, type(None)})


def cells(row: Mapping[str, Any], columns: list[str]) -> list[Any]:
    """A row read back from its JSON line, as CSV cells of ``columns``."""
    return [v if type(v) in _CSV_NATIVE else text(v) for v in map(row.get, columns)]


def csv_rows(rows: Sequence[tuple[Any, ...]]) -> Sequence[tuple[Any, ...]]:
    """Rendered rows as CSV cells, column by column: the cells :func:`cells` gives for the same
    rows read back from their JSON lines (a column of strings, integers and None is handed to
    the CSV writer as it is; an integer beyond 64 bits stays exact here, where JSON's reader
    gives a float)."""
    columns = list(zip(*rows, strict=True))
    changed = False
    for i, values in enumerate(columns):
        if not _SAME_IN_JSON.issuperset(map(type, values)):
            columns[i] = tuple(map(_cell, values))
            changed = True
    return list(zip(*columns, strict=True)) if changed else rows


def _cell(value: Any) -> Any:
    if type(value) in _SAME_IN_JSON:
        return value
    if type(value) is float:
        return value if math.isfinite(value) else None  # JSON has null for NaN and infinities
    return text(orjson.loads(json_line(value)))

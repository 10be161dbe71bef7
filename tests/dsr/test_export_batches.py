"""The export's batch path (issue 15): rows read as the driver's tuples, rendered column by
column and written as CSV while they come give the same files as one row at a time."""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from troth.datamap.graph import TableId
from troth.datamap.model import DataMap
from troth.dsr import tablespool
from troth.dsr.export import ZipExport
from troth.dsr.resolve import _fresh
from troth.dsr.tablespool import TableSpool, cells, csv_rows
from troth.dsr.values import render, text, unchanged
from troth.policy.loader import load_policy

POLICY = Path(__file__).resolve().parents[2] / "examples" / "mydigisoft"

_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    _text,
    st.decimals(places=2, allow_nan=False),
    st.datetimes(timezones=st.just(UTC)),
)
_value = st.one_of(
    _scalar,
    st.lists(st.one_of(st.none(), st.integers(-100, 100), _text), max_size=3),
    st.dictionaries(_text, st.one_of(st.booleans(), st.floats(), _text), max_size=3),
)


@st.composite
def _batches(draw: st.DrawFn) -> tuple[list[str], list[list[tuple[Any, ...]]]]:
    width = draw(st.integers(1, 5))
    columns = [f"c{i}" for i in range(width)]
    row = st.tuples(*[_value] * width)
    return columns, draw(st.lists(st.lists(row, min_size=1, max_size=6), min_size=1, max_size=3))


def _spool(columns: list[str], batches: list[list[tuple[Any, ...]]], *, direct: bool) -> TableSpool:
    spool = TableSpool(io.BytesIO(), columns, io.BytesIO() if direct else None)
    for batch in batches:
        spool.write_rows(columns, batch)
    return spool


def _csv_of(spool: TableSpool) -> bytes:
    out = io.StringIO()
    written = spool.csv_lines()
    if written is None:
        writer = csv.writer(out)
        for line in spool.lines():
            writer.writerow(cells(orjson.loads(line), spool.columns))
        return out.getvalue().encode()
    return b"".join(written)


@given(_batches())
def test_csv_written_as_rows_come_is_the_csv_built_from_the_json_lines(
    shape: tuple[list[str], list[list[tuple[Any, ...]]]],
) -> None:
    columns, batches = shape
    direct = _spool(columns, batches, direct=True)
    assert direct.csv_lines() is not None
    assert _csv_of(direct) == _csv_of(_spool(columns, batches, direct=False))


@given(_batches(), st.integers(1, 64))
def test_the_json_array_is_the_lines_joined_at_any_chunk_size(
    shape: tuple[list[str], list[list[tuple[Any, ...]]]], chunk: int
) -> None:
    columns, batches = shape
    spool = _spool(columns, batches, direct=False)
    expected = b"[\n" + b",\n".join(spool.lines()) + b"\n]\n"
    out = io.BytesIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tablespool, "CHUNK", chunk)
        spool.json_array(out)
    assert out.getvalue() == expected
    assert len(json.loads(out.getvalue())) == sum(map(len, batches))


def test_a_batch_of_other_columns_widens_the_table_and_the_csv_is_built_at_the_end() -> None:
    spool = TableSpool(io.BytesIO(), ["id", "name"], io.BytesIO())
    spool.write_rows(["id", "name"], [(1, "Ada")])
    spool.write_rows(["id", "email"], [(2, "bob@example.com")])
    assert spool.columns == ["id", "name", "email"]
    assert spool.csv_lines() is None  # the lines written so far lack the new column
    assert [orjson.loads(line) for line in spool.lines()] == [
        {"id": 1, "name": "Ada"},
        {"id": 2, "email": "bob@example.com"},
    ]
    assert spool.rows == 2


def test_one_row_at_a_time_leaves_the_csv_to_the_end() -> None:
    spool = TableSpool(io.BytesIO(), ["id"], io.BytesIO())
    spool.write_rows(["id"], [(1,)])
    spool.write({"id": 2})
    assert spool.csv_lines() is None
    assert _csv_of(spool) == b"1\r\n2\r\n"


def test_csv_cells_keep_big_integers_and_give_json_null_for_nan() -> None:
    big = 2**70
    rows = csv_rows([(big, math.nan, True, Decimal("1.50"), {"a": Decimal("2")})])
    assert list(rows) == [(big, None, "true", "1.50", '{"a":"2"}')]


_types = st.sampled_from(
    [None, "integer", "bigint", "double", "boolean", "text", "varchar(20)", "jsonb", "json",
     "numeric(10,2)", "timestamp", "date", "bytea"]
)  # fmt: skip


@given(_value, _types)
def test_a_value_of_a_type_its_renderer_keeps_is_rendered_as_itself(
    value: Any, type_name: str | None
) -> None:
    """The export skips a column whose values are all of :func:`unchanged` types."""
    if type(value) in unchanged(type_name):
        assert render(value, type_name) is value


@given(st.lists(st.integers(0, 20), max_size=40), st.sets(st.integers(0, 20), max_size=10))
def test_fresh_rows_are_those_not_seen_first_occurrence_only(
    ids: list[int], seen: set[int]
) -> None:
    batch = [(i, f"row{n}") for n, i in enumerate(ids)]
    before = set(seen)
    expected, seen_slow = [], set(before)
    for row in batch:
        if row[0] not in seen_slow:
            seen_slow.add(row[0])
            expected.append(row)
    rows, new = _fresh(batch, ids, seen)
    assert list(rows) == expected
    assert new == [r[0] for r in expected]
    assert seen == before | set(ids)


def test_an_export_of_batches_holds_every_row_rendered_by_its_column_type(
    tmp_path: Path,
) -> None:
    table = TableId("app", "orders")
    types = {table: {"id": "integer", "total": "numeric(10,2)", "at": "timestamp", "meta": "jsonb"}}
    columns = ["id", "total", "at", "meta"]
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    rows = [(i, Decimal(i) / 4, at, {"n": i} if i % 2 else None) for i in range(2_500)]
    export = ZipExport(
        tmp_path / "copy.zip", request_id="r1", policy=load_policy(POLICY).policy,
        datamap=DataMap(), types=types, spool_root=tmp_path / "spool",
    )  # fmt: skip
    it = iter(rows)
    while batch := list(islice(it, 1_000)):
        export.add_rows(table, columns, batch)
    with zipfile.ZipFile(export.finish()) as zf:
        data = json.loads(zf.read("json/app.orders.json"))
        table_csv = zf.read("csv/app.orders.csv").decode("utf-8-sig")
    expected = [
        {c: render(v, types[table][c]) for c, v in zip(columns, r, strict=True)} for r in rows
    ]
    assert data == expected
    assert data[1] == {
        "id": 1,
        "total": "0.25",
        "at": "2026-01-02T03:04:05+00:00",
        "meta": {"n": 1},
    }
    lines = list(csv.reader(io.StringIO(table_csv)))
    assert lines[1:] == [[text(v) for v in d.values()] for d in expected]


_manifest_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=20,
)


@given(st.dictionaries(_text, _manifest_values, max_size=5))
def test_the_manifest_is_written_as_the_standard_encoder_indents_it(
    manifest: dict[str, Any],
) -> None:
    from troth.dsr.export import manifest_json

    assert manifest_json(manifest).decode() == json.dumps(manifest, indent=2, ensure_ascii=False)

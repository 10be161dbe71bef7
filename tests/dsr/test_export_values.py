"""Values of the access copy: one rendering whatever shape the engine's driver returns."""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from troth.dsr.labels import humanise
from troth.dsr.values import Kind, kind_of, render, scale_of, text


@pytest.mark.parametrize(
    ("type_name", "kind"),
    [
        ("numeric(10, 2)", Kind.decimal),
        ("decimal(10,2)", Kind.decimal),
        ("timestamp", Kind.timestamp),
        ("datetime", Kind.timestamp),
        ("timestamp with time zone", Kind.timestamp),
        ("date", Kind.date),
        ("time", Kind.time),
        ("boolean", Kind.boolean),
        ("tinyint(1)", Kind.boolean),
        ("tinyint", Kind.integer),
        ("bigint", Kind.integer),
        ("integer", Kind.integer),
        ("double", Kind.real),
        ("real", Kind.real),
        ("json", Kind.json),
        ("jsonb", Kind.json),
        ("bytea", Kind.binary),
        ("blob", Kind.binary),
        ("varchar(255)", Kind.text),
        ("text", Kind.text),
        ("point", Kind.text),  # not an integer because it ends in "int"
        ("interval", Kind.text),
        (None, Kind.unknown),
    ],
)
def test_kind_of_type_names_of_the_three_engines(type_name: str | None, kind: Kind) -> None:
    assert kind_of(type_name) is kind


def test_scale_of() -> None:
    assert scale_of("numeric(10, 2)") == 2
    assert scale_of("decimal(12,4)") == 4
    assert scale_of("numeric") is None


@pytest.mark.parametrize(
    ("value", "type_name", "expected"),
    [
        # SQLite returns floats for DECIMAL columns; PostgreSQL and MariaDB return Decimals
        (3.98, "decimal(10, 2)", "3.98"),
        (Decimal("3.98"), "numeric(10, 2)", "3.98"),
        (4.0, "decimal(10, 2)", "4.00"),
        (4, "decimal(10, 2)", "4.00"),
        (Decimal("3.980"), "numeric", "3.980"),
        (0.1 + 0.2, "decimal(10, 2)", "0.30"),
        # timestamps: SQLite text, the others datetime objects
        ("2024-01-02 10:00:00.000000", "timestamp", "2024-01-02T10:00:00"),
        (datetime(2024, 1, 2, 10, 0), "timestamp", "2024-01-02T10:00:00"),
        ("2024-01-02 10:00:00.123456", "datetime", "2024-01-02T10:00:00.123456"),
        (
            datetime(2024, 1, 2, 12, 0, tzinfo=timezone(timedelta(hours=2))),
            "timestamp",
            "2024-01-02T10:00:00+00:00",
        ),
        ("2024-01-02", "date", "2024-01-02"),
        (date(2024, 1, 2), "date", "2024-01-02"),
        ("10:30:00", "time", "10:30:00"),
        (time(10, 30), "time", "10:30:00"),
        (timedelta(hours=10, minutes=30), "time", "10:30:00"),  # PyMySQL's TIME
        (1, "boolean", True),
        (0, "boolean", False),
        (True, "boolean", True),
        (1, "tinyint(1)", True),
        (1, "integer", 1),
        (b"\x00\xff", "bytea", "00ff"),
        (memoryview(b"\x01"), "blob", "01"),
        ('{"cc": ["José"]}', "json", {"cc": ["José"]}),
        ({"cc": ["José"]}, "json", {"cc": ["José"]}),
        ("José", "varchar(100)", "José"),
        (None, "timestamp", None),
    ],
)
def test_render(value: Any, type_name: str, expected: Any) -> None:
    got = render(value, type_name)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        ("yesterday", "timestamp"),  # text in a SQLite TIMESTAMP column
        ("2024-01-02 10:00:00", "date"),
        (2, "boolean"),
        ("not json", "json"),
        ("n/a", "decimal(10, 2)"),
    ],
)
def test_a_value_that_is_not_its_type_is_shown_as_stored(value: Any, type_name: str) -> None:
    assert render(value, type_name) == value


@given(st.decimals(min_value=-(10**8), max_value=10**8, places=2))
def test_decimals_are_the_same_from_a_float_and_from_a_decimal(d: Decimal) -> None:
    from_sqlite = render(float(d), "decimal(10, 2)")
    from_postgres = render(d, "numeric(10, 2)")
    assert from_sqlite == from_postgres == format(d.quantize(Decimal("0.01")), "f")


@given(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.one_of(st.none(), st.integers(min_value=0, max_value=12)),
)
def test_a_decimal_at_its_columns_scale_renders_as_when_it_is_rounded(
    d: Decimal, scale: int | None
) -> None:
    """The shortcut for a value already at the column's scale (what psycopg returns for a
    numeric) gives what rounding to the scale gives, for every decimal."""
    type_name = "numeric" if scale is None else f"numeric(30, {scale})"
    expected = str(d) if not d.is_finite() else format(d, "f")
    if d.is_finite() and scale is not None:
        with suppress(ArithmeticError):  # more digits than the context holds: unrounded
            expected = format(d.quantize(Decimal(1).scaleb(-scale)), "f")
    assert render(d, type_name) == expected


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
def test_timestamps_are_the_same_from_text_and_from_datetime(dt: datetime) -> None:
    sqlite_text = dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    assert render(sqlite_text, "timestamp") == render(dt, "timestamp") == dt.isoformat()


@given(st.datetimes(timezones=st.timezones()))
def test_timestamps_with_an_offset_are_given_in_utc(dt: datetime) -> None:
    out = render(dt, "timestamp")
    assert out.endswith("+00:00")
    assert datetime.fromisoformat(out) == dt.astimezone(UTC)


def test_text_cells() -> None:
    assert text(None) == ""
    assert text(True) == "true"
    assert text({"a": ["José"]}) == '{"a":["José"]}'
    assert text("3.98") == "3.98"


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("created_at", "Created at"),
        ("PostalCode", "Postal code"),
        ("customer_id", "Customer ID"),
        ("customerID", "Customer ID"),
        ("order_items", "Order items"),
        ("ip_address", "IP address"),
        ("last_login", "Last login"),
        ("address2", "Address 2"),
    ],
)
def test_humanise(name: str, label: str) -> None:
    assert humanise(name) == label


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(min_size=1), _json_values, max_size=6))
def test_a_spooled_row_reads_back_as_the_standard_encoder_wrote_it(row: dict[str, Any]) -> None:
    """The export's fast JSON lines (orjson) mean what ``json.dumps`` would, big integers too."""
    from troth.dsr.tablespool import json_line

    line = json_line(row)
    assert b"\n" not in line
    assert json.loads(line) == json.loads(json.dumps(row))


@given(
    st.one_of(
        st.integers(),
        st.floats(allow_nan=False),
        st.booleans(),
        st.text(),
        st.dictionaries(st.text(), st.integers()),
        st.lists(st.integers()),
    ),
    st.sampled_from(["integer", "double", "boolean", "text", "jsonb"]),
)
def test_values_passed_through_unchanged_render_as_their_kinds_converter(
    value: Any, type_name: str
) -> None:
    """The shortcut that gives a value back as it is (an int in an integer column) agrees with
    the kind's own conversion, or the value as stored when it does not fit the type."""
    from troth.dsr.values import _RENDER, plain

    try:
        expected = _RENDER[kind_of(type_name)](value, type_name)
    except (ValueError, TypeError, ArithmeticError):
        expected = plain(value)
    assert render(value, type_name) == expected
    assert type(render(value, type_name)) is type(expected)


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(),
            st.text(),
            st.lists(st.integers(), max_size=3),
            st.dictionaries(st.text(max_size=3), st.booleans(), max_size=3),
        ),
        max_size=8,
    )
)
def test_a_csv_row_reads_as_its_cells_text(values: list[Any]) -> None:
    """The CSV writer is handed strings, numbers and None as they are (it writes them as
    :func:`text` would) and everything else as :func:`text`: the same file either way."""
    import csv
    import io

    from troth.dsr.tablespool import cells

    columns = [f"c{i}" for i in range(len(values))]
    row = dict(zip(columns, values, strict=True))
    fast, slow = io.StringIO(), io.StringIO()
    csv.writer(fast).writerow(cells(row, columns))
    csv.writer(slow).writerow([text(v) for v in values])
    assert fast.getvalue() == slow.getvalue()


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.decimals(allow_nan=True, allow_infinity=True),
            st.decimals(places=2, allow_nan=False, allow_infinity=False),
            st.decimals(places=0, allow_nan=False, allow_infinity=False),
            st.floats(allow_nan=False),
            st.text(max_size=8),
        ),
        max_size=12,
    ),
    st.sampled_from(["numeric(10,2)", "numeric(12,0)", "decimal(18,6)", "numeric(30,8)", "text"]),
)
def test_a_column_renders_as_its_values_one_by_one(values: list[Any], type_name: str) -> None:
    """The export renders a batch column by column (decimals at their scale by ``str``): the
    same values as :func:`render` gives one at a time."""
    from troth.dsr.values import column_renderer

    expected = [render(v, type_name) for v in values]
    assert list(column_renderer(type_name)(values)) == expected


def test_decimal_columns_render_as_text_at_their_scale() -> None:
    from troth.dsr.values import column_renderer

    values = [Decimal("1.50"), None, Decimal("-0.05"), Decimal("123456.00")]
    assert column_renderer("numeric(10,2)")(values) == ("1.50", None, "-0.05", "123456.00")
    assert column_renderer("numeric(10,0)")([Decimal("-7"), Decimal("0")]) == ("-7", "0")

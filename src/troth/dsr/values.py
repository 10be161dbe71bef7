"""Column values as a person reads them, the same on every engine.

Drivers return the same stored value in different shapes: SQLite gives a ``DECIMAL(10,2)`` as the
float ``3.98`` and a ``TIMESTAMP`` as the text ``'2024-01-02 10:00:00.000000'``, PostgreSQL and
MariaDB give ``Decimal('3.98')`` and ``datetime`` objects; SQLite and MariaDB give ``BOOLEAN`` as
``1``, PostgreSQL as ``True``; PostgreSQL decodes JSON, SQLite and MariaDB return its text.
:func:`render` uses the live column type (as :class:`~troth.connectors.base.ColumnInfo` names it)
to give one JSON-able form:

========== ==================================================================================
timestamps ISO 8601 (``2024-01-02T10:00:00``); a value with an offset is given in UTC
dates      ``2024-01-02``; times ``10:00:00``
decimals   a string of the column's scale (``'3.98'``, ``'4.00'``), never a float
booleans   ``true``/``false``; integers and floats as numbers
bytes      lower-case hex
JSON       the JSON value itself (an object, a list...), not its text
========== ==================================================================================

A value that does not parse as its type (text in a SQLite ``TIMESTAMP`` column) is given as it
is stored: the export shows what the store holds, never a guess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from typing import Any


class Kind(StrEnum):
    """What a column holds, from its type name."""

    timestamp = "timestamp"
    date = "date"
    time = "time"
    decimal = "decimal"
    boolean = "boolean"
    integer = "integer"
    real = "real"
    binary = "binary"
    json = "json"
    text = "text"
    unknown = "unknown"


_SCALE = re.compile(r"\(\s*\d+\s*,\s*(\d+)\s*\)")
_RULES: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    (Kind.json, re.compile(r"json")),
    (Kind.boolean, re.compile(r"^bool|^tinyint\(1\)$|^bit\(1\)$")),
    (Kind.timestamp, re.compile(r"^(timestamp|datetime|smalldatetime|datetime2|datetimeoffset)")),
    (Kind.date, re.compile(r"^date$")),
    (Kind.time, re.compile(r"^time\b(?!stamp)")),
    (Kind.decimal, re.compile(r"^(decimal|numeric|dec|number)\b")),
    (
        Kind.integer,
        re.compile(
            r"^(int|integer|tinyint|smallint|mediumint|bigint|int[248]|(big|small)?serial)\b"
        ),
    ),
    (Kind.real, re.compile(r"^(real|float|double)")),
    (Kind.binary, re.compile(r"blob|bytea|binary")),
)


@lru_cache(maxsize=4096)
def kind_of(type_name: str | None) -> Kind:
    """The kind of a column type name (``'numeric(10, 2)'`` -> decimal); unknown without one."""
    if not type_name:
        return Kind.unknown
    name = type_name.strip().lower()
    for kind, pattern in _RULES:
        if pattern.search(name):
            return kind
    return Kind.text


@lru_cache(maxsize=4096)
def scale_of(type_name: str | None) -> int | None:
    """The scale of ``decimal(10, 2)`` (2), or None when the type states none."""
    m = _SCALE.search(type_name or "")
    return int(m.group(1)) if m else None


def render(value: Any, type_name: str | None) -> Any:
    """The JSON-able form of one stored value of a column of that type (see the module doc)."""
    return renderer(type_name)(value)


@lru_cache(maxsize=4096)
def renderer(type_name: str | None) -> Callable[[Any], Any]:
    """:func:`render` for one column type, looked up once (an export renders every value)."""
    kind = kind_of(type_name)
    if kind is Kind.unknown:
        return plain
    convert, name = _RENDER[kind], type_name or ""
    if kind is Kind.decimal:
        convert = _decimal_of(scale_of(name))
    unchanged = _UNCHANGED.get(kind, frozenset())

    def run(value: Any) -> Any:
        if value is None or type(value) in unchanged:
            return value
        try:
            return convert(value, name)
        except (ValueError, TypeError, ArithmeticError):
            return plain(value)

    return run


@lru_cache(maxsize=4096)
def column_renderer(type_name: str | None) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """:func:`renderer` for a whole column of values at once (an export renders its rows column
    by column). A decimal column of scale 0-6 whose values are all decimals at that scale (what
    PostgreSQL and MariaDB return) is rendered by ``str``: the same text, a fraction of the
    time."""
    one = renderer(type_name)
    scale = scale_of(type_name) if kind_of(type_name) is Kind.decimal else None
    if scale is None or not 0 <= scale <= _PLAIN_NOTATION:
        return lambda values: tuple(map(one, values))

    def at_scale(text: str) -> bool:  # plain notation with *scale* decimals: its exponent
        if scale == 0:
            return text.lstrip("-").isdigit()
        return text[-scale - 1 : -scale] == "." and text[-scale:].isdigit()

    def run(values: Sequence[Any]) -> Sequence[Any]:
        if _DECIMAL_OR_NONE.issuperset(map(type, values)):
            texts = tuple(None if v is None else str(v) for v in values)
            if all(t is None or at_scale(t) for t in texts):
                return texts
        return tuple(map(one, values))

    return run


@lru_cache(maxsize=4096)
def unchanged(type_name: str | None) -> frozenset[type]:
    """The value types :func:`renderer` gives back as they are for that column type (None's
    among them): a column holding only those needs no rendering."""
    kind = kind_of(type_name)
    if kind is Kind.unknown:
        return _PLAIN
    return _UNCHANGED.get(kind, frozenset()) | {type(None)}


def plain(value: Any) -> Any:
    """A JSON-able form of a value of unknown type (by its Python type alone)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return _timestamp(value, "")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _duration(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return value
    return str(value)


def text(value: Any) -> str:
    """A rendered value as one cell of text (CSV, HTML): JSON values as compact JSON."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _timestamp(value: Any, _type: str) -> str:
    if isinstance(value, str):
        stamp = datetime.fromisoformat(value.strip())
    elif isinstance(value, datetime):
        stamp = value
    elif isinstance(value, date):
        stamp = datetime.combine(value, time())
    else:
        raise TypeError("not a timestamp")
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC)
    return stamp.isoformat()


def _date(value: Any, _type: str) -> str:
    if isinstance(value, datetime):
        raise TypeError("a timestamp in a date column")  # shown as stored, never cut
    if isinstance(value, str):
        value = date.fromisoformat(value.strip())
    if not isinstance(value, date):
        raise TypeError("not a date")
    return value.isoformat()


def _time(value: Any, _type: str) -> str:
    if isinstance(value, timedelta):  # PyMySQL returns TIME as a duration
        return _duration(value)
    if isinstance(value, str):
        value = time.fromisoformat(value.strip())
    if not isinstance(value, time):
        raise TypeError("not a time")
    return value.isoformat()


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    h, rest = divmod(abs(seconds), 3600)
    out = f"{sign}{h:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return out + (f".{value.microseconds:06d}" if value.microseconds else "")


def _decimal(value: Any, type_name: str) -> str:
    return _decimal_of(scale_of(type_name))(value, type_name)


@lru_cache(maxsize=64)
def _decimal_of(scale: int | None) -> Callable[[Any, str], str]:
    """:func:`_decimal` for one scale, its quantum computed once (an export renders every
    value of the column)."""
    quantum = Decimal(1).scaleb(-scale) if scale is not None else None
    exponent = -scale if scale is not None else None

    def convert(value: Any, _type: str) -> str:
        if (
            type(value) is Decimal
            and value.is_finite()
            and (exponent is None or value.as_tuple().exponent == exponent)
        ):
            return format(value, "f")  # already at the column's scale (psycopg's numeric)
        return _decimal_at(value, quantum)

    return convert


def _decimal_at(value: Any, quantum: Decimal | None) -> str:
    if isinstance(value, bool):
        raise TypeError("a boolean in a decimal column")
    if isinstance(value, float):
        number = Decimal(repr(value))  # the shortest text of the float: 3.98, not 3.979999...
    elif isinstance(value, Decimal | int | str):
        number = Decimal(value.strip() if isinstance(value, str) else value)
    else:
        raise TypeError("not a number")
    if not number.is_finite():
        return str(number)
    if quantum is not None:
        # more digits than the context holds (InvalidOperation): the stored value, unrounded
        with suppress(InvalidOperation):
            number = number.quantize(quantum, rounding=ROUND_HALF_EVEN)
    return format(number, "f")


def _boolean(value: Any, _type: str) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise TypeError("not a boolean")  # 2 in a TINYINT(1): shown as stored


def _integer(value: Any, _type: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    raise TypeError("not an integer")


def _real(value: Any, _type: str) -> Any:
    if isinstance(value, bool):
        raise TypeError("a boolean in a float column")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError("not a float")


def _binary(value: Any, _type: str) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    raise TypeError("not bytes")


def _json(value: Any, _type: str) -> Any:
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8")
    if isinstance(value, str):
        return json.loads(value)  # SQLite and MariaDB return the text
    return plain(value)  # psycopg has decoded it


def _text(value: Any, _type: str) -> Any:
    return plain(value)


_RENDER: dict[Kind, Callable[[Any, str], Any]] = {
    Kind.timestamp: _timestamp,
    Kind.date: _date,
    Kind.time: _time,
    Kind.decimal: _decimal,
    Kind.boolean: _boolean,
    Kind.integer: _integer,
    Kind.real: _real,
    Kind.binary: _binary,
    Kind.json: _json,
    Kind.text: _text,
}

#: the largest scale whose decimals ``str`` writes without an exponent (adjusted exponent >= -6)
_PLAIN_NOTATION = 6
_DECIMAL_OR_NONE = frozenset({Decimal, type(None)})

#: the types :func:`plain` gives back as they are
_PLAIN: frozenset[type] = frozenset({type(None), bool, int, float, str, dict, list})

#: per kind, the value types its renderer gives back as they are (checked first: most values)
_UNCHANGED: dict[Kind, frozenset[type]] = {
    Kind.integer: frozenset({int}),
    Kind.real: frozenset({float}),
    Kind.boolean: frozenset({bool}),
    Kind.text: frozenset({str, int, float, bool}),
    Kind.json: frozenset({dict, list}),
}

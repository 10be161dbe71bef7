"""The masking strategy protocol and its registry.

A strategy turns a column into its erased value. It has two equal forms: ``sql()`` builds the SQL
expression used in ONE set-based ``UPDATE ... SET col = <expr>`` (the database computes the new
values, rows never travel to Python), and ``python()`` computes the same value for stores without
SQL and for tests. ``deletes_row`` strategies are carried out by deleting the row instead.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import sqlalchemy as sa

from troth.plugins import Registry

Dialect = str  # "sqlite", "postgresql" or "mysql"


@dataclass(frozen=True)
class MaskContext:
    """What a strategy needs to know about the field it masks."""

    key: bytes
    dialect: Dialect = "sqlite"
    category: str | None = None
    is_text: bool = True
    max_length: int | None = None
    redact_text: str = "[redacted]"


@runtime_checkable
class MaskStrategy(Protocol):
    name: str
    deletes_row: bool

    def sql(self, column: sa.ColumnElement[Any], ctx: MaskContext) -> sa.ColumnElement[Any]:
        """The erased value as a SQL expression of ``column``."""
        ...

    def python(self, value: object, ctx: MaskContext) -> object:
        """The erased value computed in Python (identical to what ``sql`` gives)."""
        ...


MASKING: Registry[MaskStrategy] = Registry("masking strategy", ("troth.masking",))


def hmac_hex(key: bytes, value: object) -> str | None:
    """HMAC-SHA256 of the value's text, hex; ``None`` stays ``None``."""
    if value is None:
        return None
    return hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer padded keys of HMAC-SHA256 (RFC 2104), for computing it in SQL."""
    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def fit(expr: sa.ColumnElement[Any], ctx: MaskContext) -> sa.ColumnElement[Any]:
    """Cut a text expression to the column's length."""
    if ctx.max_length:
        return sa.func.substr(expr, 1, ctx.max_length)
    return expr


def fit_py(value: str | None, ctx: MaskContext) -> str | None:
    if value is None or not ctx.max_length:
        return value
    return value[: ctx.max_length]

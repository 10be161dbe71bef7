"""The connector protocol: what troth needs from a data store, and nothing more.

A connector is set-based: every read and write takes a :class:`~troth.connectors.match.Rows`
(lookups by sets of values, a scope, exclusions), which the connector binds as parameters and sends
in batches (never one statement per row, never a value spliced into query text). The protocol
speaks of tables and columns, so a document store (tables are collections) or an HTTP API (tables
are resources) can implement it later without changing the planner or the executor.

Connectors register in :data:`CONNECTORS` under a URL scheme family (``sqlite``, ``postgresql``,
``mysql``); :func:`connect` picks one by the URL's scheme.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from troth.errors import ConnectorError
from troth.plugins import Registry

if TYPE_CHECKING:  # these pull in SQLAlchemy: not at import time (CLI start-up)
    from troth.connectors.masks import ColumnMask
    from troth.connectors.match import Rows

#: how many values one statement binds at most (SQLite allows 32,766; keep statements small)
DEFAULT_BATCH = 1000

Row = dict[str, Any]


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    nullable: bool = True


@dataclass(frozen=True)
class ForeignKeyInfo:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: tuple[ColumnInfo, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKeyInfo, ...] = ()

    def column(self, name: str) -> ColumnInfo | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class SchemaInfo:
    """The shape of a store: tables, columns, types, keys. Never row values."""

    tables: tuple[TableInfo, ...] = field(default_factory=tuple)
    database: str | None = None

    def table(self, name: str) -> TableInfo | None:
        return next((t for t in self.tables if t.name == name), None)


@runtime_checkable
class Connector(Protocol):
    """An open connection to one store, named for messages (never its URL)."""

    name: str

    def ping(self) -> None:
        """Raise StoreDownError when the store cannot be reached."""

    def introspect(self) -> SchemaInfo:
        """Tables, columns, types, primary and foreign keys."""

    def select_rows(
        self, table: str, rows: Rows, columns: Sequence[str] | None = None
    ) -> Iterator[Row]:
        """The rows :class:`~troth.connectors.match.Rows` names (all or the named columns)."""

    def count_rows(self, table: str, rows: Rows) -> int:
        """How many rows ``rows`` names."""

    def update_rows(self, table: str, rows: Rows, changes: Mapping[str, Any]) -> int:
        """Set ``changes`` (bound values) on the rows; the rows changed."""

    def delete_rows(self, table: str, rows: Rows) -> int:
        """Delete the rows; the rows deleted."""

    def mask_rows(self, table: str, rows: Rows, masks: Sequence[tuple[str, ColumnMask]]) -> int:
        """Set each named column (or value inside a JSON column) to its masking strategy's value,
        computed by the store in one ``UPDATE`` per batch. Returns the rows changed."""

    def transaction(self, *, rollback: bool = False) -> AbstractContextManager[None]:
        """Run the writes inside the block in one transaction (commit, or roll back on error);
        ``rollback=True`` never commits (a dry run)."""

    def close(self) -> None: ...


@runtime_checkable
class ColumnReader(Protocol):
    """Optional: a connector that returns key columns column-wise, without an object per row.

    Erasure only needs sets of keys; a connector offering this spares Python the per-row work
    (:func:`troth.dsr.resolve.resolve` falls back to :meth:`Connector.select_keys` otherwise).
    """

    def select_columns(
        self, table: str, rows: Rows, columns: Sequence[str]
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Per statement, the values of each of ``columns`` (one tuple per column, row order)."""


@runtime_checkable
class BatchReader(Protocol):
    """Optional: a connector that streams whole rows as plain tuples, a batch at a time.

    An access export renders rows column by column; a connector offering this spares Python a
    dict per row (:func:`troth.dsr.resolve.resolve` falls back to
    :meth:`Connector.select_rows` otherwise).
    """

    def select_batches(
        self, table: str, rows: Rows, columns: Sequence[str] | None = None
    ) -> Iterator[tuple[list[str], Sequence[tuple[Any, ...]]]]:
        """The matching rows (all or the named columns): per batch, the column names and one
        tuple of values per row."""


#: a connector factory: ``(url, name) -> Connector``
ConnectorFactory = Callable[[str, str], Connector]

CONNECTORS: Registry[ConnectorFactory] = Registry("connector", ("troth.connectors.sql",))

#: URL schemes that mean the same family
_ALIASES = {"postgres": "postgresql", "mariadb": "mysql"}


def scheme_family(url: str) -> str:
    """``postgresql+psycopg://...`` -> ``postgresql``; ``mariadb://`` -> ``mysql``."""
    if "://" not in url and not url.startswith("sqlite:"):
        raise ConnectorError(
            "not a connection URL (no scheme)",
            fix="write a URL such as postgresql+psycopg://user@host/db, or a connection name",
        )
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    return _ALIASES.get(scheme, scheme)


def connect(url: str, name: str | None = None) -> Connector:
    """Open a connector for ``url``; ``name`` (the connection name) is used in every message."""
    family = scheme_family(url)
    factory = CONNECTORS.get(family, where=f"connection {name!r}" if name else None)
    return factory(url, name or redact_url(url))


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    head, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    creds, _, host = rest.partition("@")
    user = creds.split(":", 1)[0]
    return f"{head}://{user}:***@{host}" if ":" in creds else url


def batched(values: Iterable[Any], size: int = DEFAULT_BATCH) -> Iterator[list[Any]]:
    """Distinct values in lists of at most ``size`` (order kept, ``None`` dropped)."""
    batch: list[Any] = []
    seen: set[Any] = set()
    for v in values:
        if v is None or v in seen:
            continue
        seen.add(v)
        batch.append(v)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch

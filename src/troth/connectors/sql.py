"""The SQL connector on SQLAlchemy Core: SQLite, PostgreSQL, MySQL/MariaDB.

Statements are built with Core (identifiers quoted by the dialect, values always bound). On
PostgreSQL a key set is bound as ONE array parameter (``col = ANY(:keys)``; integer key tuples
of a composite key as one array per column, zipped by ``unnest``), so a read or a write is one
statement per table whatever the number of keys; SQLite and MySQL/MariaDB (and PostgreSQL for
tuples of other types) get expanding ``IN (...)`` lists sent once per batch of values. The schema
is read with one catalog query per kind for all tables where the dialect offers it.

Driver errors become :class:`ConnectorError`, or :class:`StoreDownError` when the store cannot be
reached; messages name the connection, never the URL, the statement or the driver's text (which
can quote row values).

Engines and drivers are in :mod:`~troth.connectors.sql_engine`, the schema fingerprint and type
names in :mod:`~troth.connectors.sql_schema`, the error mapping in
:mod:`~troth.connectors.sql_errors`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from troth.connectors.base import (
    CONNECTORS,
    DEFAULT_BATCH,
    ColumnInfo,
    ForeignKeyInfo,
    Row,
    SchemaInfo,
    TableInfo,
)
from troth.connectors.masks import ColumnMask, mask_values
from troth.connectors.match import MatchSql, Rows, tuple_arrays
from troth.connectors.sql_engine import (
    enforce_sqlite_foreign_keys,
    make_engine,
    with_driver,
    wrap_keys,
)
from troth.connectors.sql_errors import error_kind, is_down, refused
from troth.connectors.sql_schema import FINGERPRINT, mariadb_json_columns, type_name
from troth.errors import ConnectorError, StoreDownError

#: the name other modules import the URL helper by
_with_driver = with_driver
#: rows taken from the driver per call when streaming a result (one call per row costs more)
FETCH_ROWS = 1000


class SqlConnector:
    """A :class:`~troth.connectors.base.Connector` for SQL databases."""

    def __init__(self, url: str, name: str, *, batch_size: int = DEFAULT_BATCH) -> None:
        self.name = name
        self.batch_size = batch_size
        #: troth's secret key, for lookups by keyed hash (set by the caller that has it)
        self.hash_key: bytes | None = None
        self._tx: Connection | None = None
        try:
            self.engine, self._shared = make_engine(url)
        except (sa.exc.ArgumentError, ImportError, ValueError) as exc:
            raise ConnectorError(
                f"connection {name!r}: invalid SQL URL ({type(exc).__name__})",
                fix="check the URL's scheme and driver, e.g. postgresql+psycopg://user@host/db",
            ) from None

    # --- errors -------------------------------------------------------------------------------

    @contextmanager
    def _mapped(self, action: str, table: str | None = None) -> Iterator[None]:
        where = f"connection {self.name!r}" + (f", table {table!r}" if table else "")
        try:
            yield
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
            if is_down(exc):
                raise StoreDownError(
                    f"store unreachable while trying to {action} ({error_kind(exc)})",
                    where=where,
                    fix="check that the server is running and reachable, then retry",
                ) from None
            if os.environ.get("TROTH_DEBUG_SQL"):
                raise
            raise refused(exc, action, where) from None
        except sa.exc.SQLAlchemyError as exc:
            if os.environ.get("TROTH_DEBUG_SQL"):
                raise
            raise refused(exc, action, where) from None

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """The held transaction's connection, else one in a transaction of its own."""
        if self._tx is not None:
            yield self._tx
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def _single_read(self) -> Iterator[Connection]:
        """A connection for one read statement: the held transaction's, else on a server one in
        autocommit (the statement alone, without the ``BEGIN`` and ``ROLLBACK`` round trips: one
        statement sees what it would see in a transaction of its own)."""
        if self._tx is not None:
            yield self._tx
            return
        with self.engine.connect() as conn:
            if self.engine.dialect.name != "sqlite":
                conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    # --- the protocol ---------------------------------------------------------------------------

    def ping(self) -> None:
        with self._mapped("connect"), self._single_read() as conn:
            conn.exec_driver_sql("SELECT 1")

    def schema_version(self) -> str | None:
        """A cheap fingerprint of the schema :meth:`introspect` reads (one catalog query): it
        changes when a table, column, type, nullability, key or foreign key does."""
        dialect = self.engine.dialect.name
        query = FINGERPRINT.get(dialect)
        if query is None:
            return None
        with self._mapped("read the schema version"), self._single_read() as conn:
            row = conn.exec_driver_sql(query).one()
        return ":".join(str(v) for v in row)

    def introspect(self) -> SchemaInfo:
        with self._mapped("read the schema"), self.engine.connect() as conn:
            insp = sa.inspect(conn)
            json_columns = mariadb_json_columns(conn)
            # one catalog query per kind for all tables where the dialect can (PostgreSQL: 3
            # statements instead of 1 + 3 per table); others loop per table as before
            columns = insp.get_multi_columns()
            pks = insp.get_multi_pk_constraint()
            foreign = insp.get_multi_foreign_keys()
            tables = []
            for key in sorted(columns, key=lambda k: k[1]):
                name = key[1]
                cols = tuple(
                    ColumnInfo(
                        c["name"],
                        "json" if (name, c["name"]) in json_columns else type_name(c["type"]),
                        bool(c.get("nullable", True)),
                    )
                    for c in columns[key]
                )
                pk_info = pks.get(key)
                pk = tuple(pk_info.get("constrained_columns") or ()) if pk_info else ()
                fks = tuple(
                    ForeignKeyInfo(
                        tuple(fk["constrained_columns"]),
                        fk["referred_table"],
                        tuple(fk["referred_columns"]),
                    )
                    for fk in foreign.get(key, ())
                    if fk.get("referred_table")
                )
                tables.append(TableInfo(name, cols, pk, fks))
            return SchemaInfo(tuple(tables), database=self.engine.url.database)

    def select_rows(
        self, table: str, rows: Rows, columns: Sequence[str] | None = None
    ) -> Iterator[Row]:
        """The matching rows (all or the named columns), streamed batch by batch."""
        for names, batch in self.select_batches(table, rows, columns):
            yield from (dict(zip(names, r, strict=True)) for r in batch)

    def select_batches(
        self, table: str, rows: Rows, columns: Sequence[str] | None = None
    ) -> Iterator[tuple[list[str], Sequence[tuple[Any, ...]]]]:
        """The matching rows as the driver's tuples, :data:`FETCH_ROWS` per batch (the columns
        are untyped: SQLAlchemy would apply no result processing to them anyway)."""
        for part in self._split(rows):
            m = self._matcher()
            t = _table(table, *part.columns(), *(columns or ()))
            cols = [t.c[c] for c in columns] if columns else [sa.literal_column("*")]
            stmt = sa.select(*cols).select_from(t).where(m.clause(t, part))
            with self._mapped("read rows", table), self._single_read() as conn:
                result = conn.execute(stmt)
                names = list(result.keys())
                cursor = result.cursor
                while batch := cursor.fetchmany(FETCH_ROWS):
                    yield names, batch  # psycopg's, PyMySQL's and sqlite3's rows are tuples
                result.close()

    def select_columns(
        self, table: str, rows: Rows, columns: Sequence[str]
    ) -> Iterator[list[tuple[Any, ...]]]:
        """The named columns of the matching rows, column-wise: per batch, one tuple per column.

        For callers that want sets of keys rather than rows (erasure's key set): the DBAPI
        cursor's plain tuples are transposed in C, no row object is built (the columns are
        untyped, so SQLAlchemy would apply no result processing anyway).
        """
        for part in self._split(rows):
            m = self._matcher()
            t = _table(table, *part.columns(), *columns)
            stmt = sa.select(*(t.c[c] for c in columns)).select_from(t).where(m.clause(t, part))
            with self._mapped("read rows", table), self._single_read() as conn:
                result = conn.execute(stmt)
                found = result.cursor.fetchall()
                result.close()
            yield list(zip(*found, strict=True)) if found else [() for _ in columns]

    def count_rows(self, table: str, rows: Rows) -> int:
        total = 0
        for part in self._split(rows):
            m = self._matcher()
            t = _table(table, *part.columns())
            stmt = sa.select(sa.func.count()).select_from(t).where(m.clause(t, part))
            with self._mapped("count rows", table), self._single_read() as conn:
                total += int(conn.execute(stmt).scalar_one())
        return total

    def update_rows(self, table: str, rows: Rows, changes: Mapping[str, Any]) -> int:
        if not changes:
            return 0
        values = {f"set_{i}": v for i, v in enumerate(changes.values())}

        def stmt(t: sa.TableClause, where: sa.ColumnElement[bool]) -> Any:
            sets: dict[Any, Any] = {t.c[k]: sa.bindparam(f"set_{i}") for i, k in enumerate(changes)}
            return sa.update(t).where(where).values(sets)

        return self._write(table, rows, stmt, "update rows", [*changes], values)

    def mask_rows(self, table: str, rows: Rows, masks: Sequence[tuple[str, ColumnMask]]) -> int:
        if not masks:
            return 0
        dialect = self.engine.dialect.name

        def stmt(t: sa.TableClause, where: sa.ColumnElement[bool]) -> Any:
            return sa.update(t).where(where).values(mask_values(t, masks, dialect))

        return self._write(table, rows, stmt, "mask rows", [c for c, _ in masks])

    def delete_rows(self, table: str, rows: Rows) -> int:
        return self._write(table, rows, lambda t, w: sa.delete(t).where(w), "delete rows", [])

    def _write(
        self,
        table: str,
        rows: Rows,
        build: Any,
        action: str,
        columns: Sequence[str],
        params: Mapping[str, Any] | None = None,
    ) -> int:
        total = 0
        with self._mapped(action, table), self._writing() as conn:
            for part in self._split(rows):
                m = self._matcher()
                t = _table(table, *part.columns(), *columns)
                stmt = build(t, m.clause(t, part))
                total += int(conn.execute(stmt, dict(params or {})).rowcount)
        return total

    def _matcher(self) -> MatchSql:
        return MatchSql(
            self.engine.dialect.name, hash_key=self.hash_key, arrays=self._arrays, wrap=wrap_keys
        )

    def _split(self, rows: Rows) -> Iterator[Rows]:
        """``rows`` in parts that bind at most ``batch_size`` values each (one lookup split);
        PostgreSQL binds a single-column lookup as one array: one statement whatever its size."""
        if not any(lk.values for lk in rows.lookups):
            return  # no value can match: no statement
        lk = rows.lookups[0] if len(rows.lookups) == 1 else None
        whole = self._arrays and (lk is None or len(lk.columns) == 1 or tuple_arrays(lk))
        if whole or lk is None or rows.exclude or lk.array or len(lk.values) <= self.batch_size:
            yield rows
            return
        for i in range(0, len(lk.values), self.batch_size):
            yield replace(rows, lookups=(lk.with_values(lk.values[i : i + self.batch_size]),))

    # --- key sets ---------------------------------------------------------------------------------

    @property
    def _arrays(self) -> bool:
        """Whether the store takes a key set as one array parameter (PostgreSQL)."""
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self, *, rollback: bool = False) -> Iterator[None]:
        """Every write inside commits together, or none does; ``rollback``: never commits (a dry
        run does the work and counts it, then undoes it)."""
        if self._tx is not None:  # nested: join the outer transaction
            yield
            return
        with self._mapped("run a transaction"), self.engine.connect() as conn:
            self._tx = conn
            tx = conn.begin()
            try:
                yield
            except BaseException:
                tx.rollback()
                raise
            else:
                if rollback:
                    tx.rollback()
                else:
                    tx.commit()
            finally:
                self._tx = None

    def close(self) -> None:
        """Release the store: a SQLite engine is disposed; a server's pool stays for the next
        request of this process (its connections are checked before use)."""
        if not self._shared:
            self.engine.dispose()


def _table(name: str, *columns: str) -> sa.TableClause:
    schema, _, table = name.rpartition(".")
    return sa.table(table, *(sa.column(c) for c in dict.fromkeys(columns)), schema=schema or None)


def _factory(url: str, name: str) -> SqlConnector:
    return SqlConnector(url, name)


for _family in ("sqlite", "postgresql", "mysql"):
    CONNECTORS.add(_family, _factory)


#: the names defined in the connector's part modules, re-exported
__all__ = ["SqlConnector", "enforce_sqlite_foreign_keys", "with_driver"]

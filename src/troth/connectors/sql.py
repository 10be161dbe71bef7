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
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from itertools import chain
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
from troth.connectors.match import MatchSql, Rows, install_sqlite_norm, int64s, tuple_arrays
from troth.connectors.mentions import install_sqlite_mention_functions
from troth.errors import ConnectorError, StoreDownError, StoreRefusedError
from troth.masking.hash import install_sqlite_functions
from troth.store.db import pooled_engine, shared_engine

_DRIVERS = {"postgresql": "psycopg", "mysql": "pymysql"}
_ALIASES = {"postgres": "postgresql", "mariadb": "mysql"}


class SqlConnector:
    """A :class:`~troth.connectors.base.Connector` for SQL databases."""

    def __init__(self, url: str, name: str, *, batch_size: int = DEFAULT_BATCH) -> None:
        self.name = name
        self.batch_size = batch_size
        #: troth's secret key, for lookups by keyed hash (set by the caller that has it)
        self.hash_key: bytes | None = None
        self._tx: Connection | None = None
        try:
            self.engine, self._shared = _engine(url)
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
            if _is_down(exc):
                raise StoreDownError(
                    f"store unreachable while trying to {action} ({_kind(exc)})",
                    where=where,
                    fix="check that the server is running and reachable, then retry",
                ) from None
            if os.environ.get("TROTH_DEBUG_SQL"):
                raise
            raise _refused(exc, action, where) from None
        except sa.exc.SQLAlchemyError as exc:
            if os.environ.get("TROTH_DEBUG_SQL"):
                raise
            raise _refused(exc, action, where) from None

    @contextmanager
    def _conn(self, write: bool) -> Iterator[Connection]:
        if self._tx is not None:
            yield self._tx
        elif write:
            with self.engine.begin() as conn:
                yield conn
        else:
            with self.engine.connect() as conn:
                yield conn

    # --- the protocol ---------------------------------------------------------------------------

    def ping(self) -> None:
        with self._mapped("connect"), self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def schema_version(self) -> str | None:
        """A cheap fingerprint of the schema :meth:`introspect` reads (one catalog query): it
        changes when a table, column, type, nullability, key or foreign key does."""
        dialect = self.engine.dialect.name
        query = _FINGERPRINT.get(dialect)
        if query is None:
            return None
        with self._mapped("read the schema version"), self._conn(write=False) as conn:
            row = conn.execute(sa.text(query)).one()
        return ":".join(str(v) for v in row)

    def introspect(self) -> SchemaInfo:
        with self._mapped("read the schema"), self.engine.connect() as conn:
            insp = sa.inspect(conn)
            json_columns = _mariadb_json_columns(conn)
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
                        "json" if (name, c["name"]) in json_columns else _type_name(c["type"]),
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
        for part in self._split(rows):
            m = self._matcher()
            t = _table(table, *part.columns(), *(columns or ()))
            cols = [t.c[c] for c in columns] if columns else [sa.literal_column("*")]
            stmt = sa.select(*cols).select_from(t).where(m.clause(t, part))
            with self._mapped("read rows", table), self._conn(write=False) as conn:
                result = conn.execute(stmt)
                names = list(result.keys())
                yield from (dict(zip(names, r, strict=True)) for r in result)

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
            with self._mapped("read rows", table), self._conn(write=False) as conn:
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
            with self._mapped("count rows", table), self._conn(write=False) as conn:
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
        with self._mapped(action, table), self._conn(write=True) as conn:
            for part in self._split(rows):
                m = self._matcher()
                t = _table(table, *part.columns(), *columns)
                stmt = build(t, m.clause(t, part))
                total += int(conn.execute(stmt, dict(params or {})).rowcount)
        return total

    def _matcher(self) -> MatchSql:
        return MatchSql(
            self.engine.dialect.name, hash_key=self.hash_key, arrays=self._arrays, wrap=_wrap_keys
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


#: per dialect, one query whose result changes with the schema (tables, columns, types,
#: nullability, primary and foreign keys) of the database troth reads
_FINGERPRINT = {
    # SQLite counts every schema change in its header
    "sqlite": "PRAGMA schema_version",
    "postgresql": """
        SELECT count(*), md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM (
          SELECT concat_ws(':', c.relname, a.attname, a.attnum::text, a.atttypid::text,
                           a.atttypmod::text, a.attnotnull::text) AS x
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
            AND a.attnum > 0 AND NOT a.attisdropped
          UNION ALL
          SELECT concat_ws(':', con.conname, con.contype::text, con.conrelid::text,
                           con.confrelid::text, con.conkey::text, con.confkey::text)
          FROM pg_constraint con
          JOIN pg_namespace n ON n.oid = con.connamespace
          WHERE n.nspname = current_schema() AND con.contype IN ('p', 'f', 'u')
        ) t""",
    "mysql": """
        SELECT (SELECT count(*) FROM information_schema.columns
                WHERE table_schema = DATABASE()),
               (SELECT coalesce(sum(crc32(concat_ws(':', table_name, column_name,
                         ordinal_position, column_type, is_nullable, column_key))), 0)
                FROM information_schema.columns WHERE table_schema = DATABASE()),
               (SELECT coalesce(sum(crc32(concat_ws(':', table_name, column_name,
                         constraint_name, referenced_table_name, referenced_column_name))), 0)
                FROM information_schema.key_column_usage WHERE table_schema = DATABASE())""",
}


def _engine(url: str) -> tuple[sa.Engine, bool]:
    """The engine for ``url`` and whether it is shared (a server's, pooled for the requests of
    this process, see :func:`troth.store.db.shared_engine`) or the caller's (SQLite)."""
    driver_url = _with_driver(url)
    if sa.make_url(driver_url).get_backend_name() == "sqlite":
        engine = sa.create_engine(driver_url, pool_pre_ping=True)
        install_sqlite_functions(engine)  # troth_hmac() for set-based hash masking
        install_sqlite_mention_functions(engine)  # mentions in free text
        enforce_sqlite_foreign_keys(engine)
        return engine, False
    return shared_engine(driver_url, lambda: pooled_engine(driver_url)), True


class _IntKeys(list[int]):
    """An all-``bigint`` key set: psycopg sends it as one binary ``int8[]`` packed in one call.

    Only integers: a text array of strings would be typed ``text[]`` in binary, where today's
    untyped text lets the server coerce (an identity ``"42"`` looked up in an integer column).
    """


def _wrap_keys(values: Sequence[Any]) -> list[Any]:
    """An array parameter: all-``bigint`` sets as one binary ``int8[]`` (see :class:`_IntKeys`)."""
    return _IntKeys(values) if int64s(values) else list(values)


def _register_binary_keys() -> None:
    try:
        import psycopg
        from psycopg import pq
        from psycopg.adapt import Dumper
    except ImportError:  # pragma: no cover - psycopg is the default PostgreSQL driver
        return

    class IntKeysDumper(Dumper):
        format = pq.Format.BINARY
        oid = 1016  # int8[]

        def dump(self, obj: Any) -> bytes:
            # PostgreSQL's binary array: 1 dimension, no NULLs, int8 elements (oid 20), lower
            # bound 1; then per element its length (8) and its value
            n = len(obj)
            head = struct.pack(">iiIii", 1, 0, 20, n, 1)
            return head + struct.pack(">" + "iq" * n, *chain.from_iterable((8, v) for v in obj))

    psycopg.adapters.register_dumper(_IntKeys, IntKeysDumper)


_register_binary_keys()


def enforce_sqlite_foreign_keys(engine: sa.Engine) -> None:
    """SQLite enforces foreign keys only when asked, per connection: troth always asks, so a
    delete that would leave a dangling reference fails there as it does on the other engines."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
        install_sqlite_norm(dbapi_conn)  # troth_norm(): identity forms, as the other engines


def _with_driver(url: str) -> str:
    """Add troth's default driver when the URL names none (``postgresql://`` -> psycopg)."""
    scheme, sep, rest = url.partition("://")
    base, plus, driver = scheme.partition("+")
    base = _ALIASES.get(base.lower(), base.lower())
    if not plus:
        driver = _DRIVERS.get(base, "")
    return f"{base}+{driver}{sep}{rest}" if driver else f"{base}{sep}{rest}"


def _table(name: str, *columns: str) -> sa.TableClause:
    schema, _, table = name.rpartition(".")
    return sa.table(table, *(sa.column(c) for c in dict.fromkeys(columns)), schema=schema or None)


def _type_name(t: Any) -> str:
    if type(t).__name__ == "TINYINT" and getattr(t, "display_width", None) == 1:
        return "boolean"  # MySQL's BOOLEAN is TINYINT(1)
    try:
        return str(t.compile()).lower()
    except Exception:  # a type that needs a dialect to render
        return type(t).__name__.lower()


def _mariadb_json_columns(conn: Connection) -> set[tuple[str, str]]:
    """``(table, column)`` of MariaDB JSON columns: LONGTEXT with a ``json_valid()`` check."""
    if not getattr(conn.dialect, "is_mariadb", False):
        return set()
    rows = conn.execute(
        sa.text(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE"
            " FROM information_schema.CHECK_CONSTRAINTS"
            " WHERE CONSTRAINT_SCHEMA = DATABASE() AND LEVEL = 'Column'"
        )
    )
    out = set()
    for table, column, clause in rows:
        quoted = "`" + str(column).replace("`", "``") + "`"
        if str(clause).replace(" ", "").lower() == f"json_valid({quoted.lower()})":
            out.add((str(table), str(column)))
    return out


def _kind(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or (
        orig.args[0] if orig is not None and orig.args and isinstance(orig.args[0], int) else None
    )
    name = type(orig).__name__ if orig is not None else type(exc).__name__
    return f"{name} {code}" if code else name


_DOWN_WORDS = (
    "connection refused",
    "could not connect",
    "can't connect",
    "server has gone away",
    "lost connection",
    "connection timed out",
    "unable to open database",
    "connection is closed",
    "terminating connection",
    "name or service not known",
    "no route to host",
)


def _is_down(exc: sa.exc.SQLAlchemyError) -> bool:
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa.exc.TimeoutError):
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return any(w in text for w in _DOWN_WORDS)


def _refused(exc: sa.exc.SQLAlchemyError, action: str, where: str) -> ConnectorError:
    """The error for a statement the store refused (never its text: it can quote values)."""
    constraint = _constraint(exc)
    what = f"cannot {action} ({_kind(exc)}" + (
        f", constraint {constraint!r})" if constraint else ")"
    )
    if isinstance(exc, sa.exc.IntegrityError):
        return StoreRefusedError(
            f"{what}: the store refused the change", where=where, fix=_fix(exc)
        )
    if isinstance(exc, sa.exc.DataError):
        return StoreRefusedError(f"{what}: a value does not fit", where=where, fix=_fix(exc))
    return ConnectorError(what, where=where, fix=_fix(exc))


def _constraint(exc: BaseException) -> str | None:
    """The violated constraint's name when the driver reports it (PostgreSQL; MariaDB's text)."""
    orig = getattr(exc, "orig", None)
    diag = getattr(orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return str(name)
    text = str(orig or "")
    m = re.search(r"CONSTRAINT `([^`]+)`", text)
    return m.group(1) if m else None


def _fix(exc: BaseException) -> str:
    if isinstance(exc, sa.exc.ProgrammingError | sa.exc.OperationalError):
        return "compare the data map with the live schema: `troth datamap check --live`"
    if isinstance(exc, sa.exc.IntegrityError):
        return (
            "nothing was changed (the store's transaction was rolled back); map the reference "
            "that points at these rows (`troth dsr plan` shows the order), or mask instead"
        )
    if isinstance(exc, sa.exc.DataError):
        return "nothing was changed; check the column's type and the value given for it"
    return "see the store's logs for the statement that failed"


def _factory(url: str, name: str) -> SqlConnector:
    return SqlConnector(url, name)


for _family in ("sqlite", "postgresql", "mysql"):
    CONNECTORS.add(_family, _factory)

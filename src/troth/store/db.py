"""Engines for troth's own state database, and the mapping of driver errors into troth's tree.

Engines are shared by the calls of one process through :func:`shared_engine`: one connection
pool (and one cache of compiled statements) per URL and settings, as a web app keeps, instead of
a connection per request; a forked child drops them. A pooled SQLite connection is handed out
only while its file is still the one it opened (a file deleted or replaced meanwhile gets a new
connection, never writes to the old one).

SQLite is the embedded default (WAL journal, 30 s busy timeout, foreign keys on); PostgreSQL is the
production engine. Write transactions that must serialise (the audit ledger's head) ask for it with
:func:`write_locked`: ``BEGIN IMMEDIATE`` on SQLite, the caller adds ``SELECT ... FOR UPDATE``
elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from troth.errors import StoreError, StoreUnavailableError

#: execution option that makes the next transaction on a SQLite connection ``BEGIN IMMEDIATE``
_IMMEDIATE = "troth_sqlite_immediate"
BUSY_TIMEOUT_MS = 30_000


def safe_url(url: str | sa.URL) -> str:
    """The URL as text with any password hidden, fit for messages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparsable URL>"


def engine_for(url: str | sa.URL) -> Engine:
    """A SQLAlchemy engine for troth's state DB at *url*, tuned for the engine kind.

    Raises :class:`StoreError` for a URL that cannot be parsed or names an unknown driver.
    """
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(
            "the database URL cannot be parsed",
            where="database URL",
            fix="use a SQLAlchemy URL such as sqlite:///.troth/troth.db or "
            "postgresql+psycopg://user@host/db",
        ) from exc
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = sa.create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
            _tune_sqlite(engine, _sqlite_file(parsed))
        else:
            engine = pooled_engine(parsed)
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        raise StoreError(
            f"no database driver for {parsed.drivername!r}",
            where=safe_url(parsed),
            fix="install troth[postgres] for PostgreSQL, or use a sqlite:/// URL",
        ) from exc
    except sa.exc.ArgumentError as exc:
        raise StoreError(
            f"invalid database URL ({exc})", where=safe_url(parsed), fix="check the URL"
        ) from exc
    return engine


#: a pooled connection unused for longer than this is pinged before it is handed out
PING_IDLE_S = 5.0
#: ``ConnectionRecord.info`` key: when the connection went back to the pool
_IDLE_SINCE = "troth_idle_since"


def pooled_engine(url: str | sa.URL, *, ping_idle_s: float = PING_IDLE_S) -> Engine:
    """An engine for a database server whose pool pings a connection before handing it out only
    when it sat idle longer than *ping_idle_s* (a server restart, an idle timeout or a proxy
    drops idle connections); a dead one is replaced before the caller sees it.

    ``pool_pre_ping`` pings at every checkout: one more round trip for each of the ~10 times a
    request takes a connection, for connections used a few milliseconds before. A connection
    that dies between two uses in quick succession fails its statement instead, which troth
    reports as the store being unavailable (jobs retry it) and the pool replaces."""
    engine = sa.create_engine(url)

    @event.listens_for(engine, "checkin")
    def _idle(dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since <= ping_idle_s:
            return
        try:
            if not engine.dialect.do_ping(dbapi_conn):
                raise sa.exc.DisconnectionError("the connection did not answer a ping")
        except sa.exc.DisconnectionError:
            raise
        except Exception as exc:  # dropped by the server: the pool connects again
            raise sa.exc.DisconnectionError(str(exc).splitlines()[0][:200]) from exc

    return engine


#: set when a transaction that wrote jobs (:func:`troth.store.outbox.emit`) ends on a
#: :func:`connect` connection: the embedded jobs thread of this process runs them at once
#: instead of at its next poll
JOBS_WRITTEN = threading.Event()
#: the key in ``Connection.info`` that :func:`connect` turns into :data:`JOBS_WRITTEN`
JOBS_FLAG = "troth_jobs_written"

#: the shared engines, by (URL as text with its password, settings or None)
_SHARED: dict[tuple[str, Hashable], Engine] = {}
_SHARED_LOCK = threading.Lock()


def shared_engine(
    url: str | sa.URL, create: Callable[[], Engine] | None = None, *, settings: Hashable = None
) -> Engine:
    """This process's engine for *url* opened with *settings*, made by *create* (default
    :func:`engine_for`) on first use; every later call with the same key gets the same pool."""
    text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    key = (text, settings)
    with _SHARED_LOCK:
        engine = _SHARED.get(key)
        if engine is None:
            engine = _SHARED[key] = create() if create else engine_for(url)
        return engine


def forget_engines() -> None:
    """Dispose of the shared engines (their pooled connections close)."""
    with _SHARED_LOCK:
        engines = list(_SHARED.values())
        _SHARED.clear()
    for engine in engines:
        engine.dispose()


def _after_fork() -> None:
    # a child process must not use its parent's pooled connections
    for engine in _SHARED.values():
        engine.dispose(close=False)
    _SHARED.clear()


os.register_at_fork(after_in_child=_after_fork)


def _sqlite_file(url: sa.URL) -> Path | None:
    """The file of a SQLite URL (None for an in-memory or ``file:`` URI database)."""
    name = url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def is_sqlite_file(url: str | sa.URL) -> bool:
    """True for a URL naming a SQLite database file (an engine for it can be shared)."""
    parsed = sa.make_url(url)
    return parsed.get_backend_name() == "sqlite" and _sqlite_file(parsed) is not None


def file_identity(engine: Engine) -> tuple[int, int] | None:
    """The (device, inode) of the SQLite file *engine* opens (None for a server, an in-memory
    database or a missing file): a file deleted or replaced since has another one."""
    if engine.dialect.name != "sqlite":
        return None
    path = _sqlite_file(engine.url)
    return _file_id(path) if path is not None else None


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


#: ``ConnectionRecord.info`` key: the (device, inode) of the file a SQLite connection opened
_FILE_ID = "troth_sqlite_file"


def _tune_sqlite(engine: Engine, path: Path | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        # hand transaction control to the "begin" hook below (pysqlite's own BEGIN is deferred)
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _set_wal(cur)
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()
        if path is not None:
            record.info[_FILE_ID] = _file_id(path)

    if path is not None:

        @event.listens_for(engine, "checkout")
        def _same_file(dbapi_conn: Any, record: Any, proxy: Any) -> None:
            # a pooled connection to a file deleted or replaced since would read and write the
            # old one: the pool opens a new connection instead (os.stat, a few microseconds)
            if record.info.get(_FILE_ID) != _file_id(path):
                raise sa.exc.DisconnectionError("the SQLite file was replaced")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _set_wal(cur: Any) -> None:
    """Switch the file to WAL (persistent). The switch needs an exclusive lock and SQLite does not
    wait for it (no busy handler), so two processes opening a new file at once retry here."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cur.execute("PRAGMA journal_mode = WAL").fetchone()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def ensure_sqlite_folder(url: str | sa.URL) -> None:
    """Create the folder of a SQLite file URL (troth's default lives in ``TROTH_HOME``)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return
    try:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreUnavailableError(
            f"cannot create the folder for the state database ({exc.strerror})",
            where=safe_url(parsed),
            fix="make TROTH_HOME writable or set TROTH_DATABASE_URL",
        ) from exc


@contextlib.contextmanager
def connect(engine: Engine, *, write_lock: bool = False) -> Iterator[Connection]:
    """A connection whose driver errors come out as :class:`StoreError` subclasses.

    With *write_lock*, the next transaction on SQLite starts with ``BEGIN IMMEDIATE`` so it holds
    the write lock before it reads anything.
    """
    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise StoreUnavailableError(
            f"cannot connect to the state database ({_first_line(exc)})",
            where=safe_url(engine.url),
            fix="check that the database server is running and the URL, user and database "
            "are right (TROTH_DATABASE_URL or --db)",
        ) from exc
    try:
        if write_lock and is_sqlite(engine):
            conn.execution_options(**{_IMMEDIATE: True})
        with translate_errors(engine):
            yield conn
    finally:
        wrote_jobs = conn.info.pop(JOBS_FLAG, False)
        conn.close()
        if wrote_jobs:  # committed (or rolled back: a wasted wake-up, never a lost one)
            JOBS_WRITTEN.set()


@contextlib.contextmanager
def read_once(engine: Engine) -> Iterator[Connection]:
    """A :func:`connect` connection for reads that need no transaction of their own (each one
    statement). On a server it runs in autocommit: the statement alone, without the ``BEGIN``
    and ``ROLLBACK`` round trips around it (under READ COMMITTED a statement sees what it would
    see inside a transaction); on SQLite it is a plain :func:`connect` connection."""
    with connect(engine) as conn:
        if not is_sqlite(engine):
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


@contextlib.contextmanager
def writing_session(engine: Engine) -> Iterator[Any]:
    """An ORM session in one transaction that holds the write lock before it reads (SQLite:
    ``BEGIN IMMEDIATE``), committed at the end; for a transaction that reads, then writes what
    it read. On SQLite a deferred one fails at once ("database is locked") when another process
    wrote between its read and its write; this one waits for the lock instead."""
    from sqlalchemy.orm import Session

    with (
        translate_errors(engine),
        connect(engine, write_lock=True) as conn,
        conn.begin(),
        Session(bind=conn) as session,
    ):
        yield session
        session.flush()


@contextlib.contextmanager
def reading(bind: Engine | Connection) -> Iterator[Connection]:
    """*bind* itself when it is a connection (a read inside its caller's transaction sees that
    transaction's writes), else a new :func:`connect` connection."""
    if isinstance(bind, Connection):
        yield bind
        return
    with connect(bind) as conn:
        yield conn


@contextlib.contextmanager
def translate_errors(engine: Engine) -> Iterator[None]:
    """Map SQLAlchemy/driver errors raised inside the block into :class:`StoreError`."""
    try:
        yield
    except sa.exc.OperationalError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailableError(
                f"lost the connection to the state database ({_first_line(exc)})",
                where=safe_url(engine.url),
                fix="try again when the database is reachable",
            ) from exc
        raise StoreError(
            f"state database error ({_first_line(exc)})",
            where=safe_url(engine.url),
            fix="check the database; run `troth audit verify` if the ledger is involved",
        ) from exc
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(
            f"state database error ({_first_line(exc)})",
            where=safe_url(engine.url),
            fix="run the schema upgrade (it runs on first use) and check the database",
        ) from exc


def _first_line(exc: sa.exc.SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first[:200]

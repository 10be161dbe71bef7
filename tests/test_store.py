"""troth's state database: engines, error mapping and migrations."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from troth.config import Settings
from troth.errors import StoreError, StoreUnavailableError
from troth.store import (
    connect,
    current_revision,
    engine_for,
    head_revision,
    open_store,
    safe_url,
    upgrade,
)


def test_sqlite_engine_is_tuned(sqlite_url: str) -> None:
    engine = open_store(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_sqlite_write_lock_takes_the_lock_before_reading(sqlite_url: str) -> None:
    engine = open_store(sqlite_url)
    other = sa.create_engine(sqlite_url, connect_args={"timeout": 0.1})
    with connect(engine, write_lock=True) as conn, conn.begin():
        conn.exec_driver_sql("SELECT 1").scalar()
        # another writer cannot start: the lock is held although this transaction only read
        with other.connect() as o, pytest.raises(sa.exc.OperationalError, match="locked"):
            o.exec_driver_sql("BEGIN IMMEDIATE")
    with connect(engine) as conn, conn.begin():
        conn.exec_driver_sql("SELECT 1").scalar()
        with other.connect() as o:
            o.exec_driver_sql("BEGIN IMMEDIATE")  # a plain read transaction holds no write lock
            o.exec_driver_sql("ROLLBACK")
    other.dispose()
    engine.dispose()


def test_safe_url_hides_the_password() -> None:
    assert safe_url("postgresql+psycopg://u:s3cret@h/db") == "postgresql+psycopg://u:***@h/db"


def test_unreachable_server_is_store_unavailable_without_password() -> None:
    engine = engine_for("postgresql+psycopg://u:s3cret@127.0.0.1:1/troth")
    with pytest.raises(StoreUnavailableError) as info:
        upgrade(engine)
    line = info.value.one_line()
    assert "s3cret" not in line
    assert line.startswith("postgresql+psycopg://u:***@127.0.0.1:1/troth: cannot connect")
    assert "fix: check that the database server is running" in line
    assert "\n" not in line
    assert info.value.retryable
    assert info.value.exit_code == 3


@pytest.mark.parametrize(
    ("url", "message"),
    [("not a url", "cannot be parsed"), ("nosuchdb://x/y", "no database driver for 'nosuchdb'")],
)
def test_bad_urls_are_store_errors(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        engine_for(url)


def test_open_store_creates_the_sqlite_folder_from_settings(troth_env: Path) -> None:
    engine = open_store(Settings.from_env())
    assert (troth_env / "troth.db").exists()
    assert current_revision(engine) == head_revision()
    engine.dispose()


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_upgrade_twice_is_a_no_op(state_url: str) -> None:
    engine = engine_for(state_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert {"audit_entry", "audit_head", "troth_schema_version"} <= _tables(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_head SET seq = 7")
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT id, seq FROM audit_head").all() == [(1, 7)]
        assert conn.exec_driver_sql("SELECT count(*) FROM troth_schema_version").scalar() == 1
    engine.dispose()


def _upgrade_in_child(url: str, start: object) -> None:
    engine = engine_for(url)
    start.wait()  # type: ignore[attr-defined]
    upgrade(engine)
    engine.dispose()


@pytest.mark.timeout(120)
def test_two_processes_upgrading_at_once_both_succeed(state_url: str) -> None:
    ctx = mp.get_context("fork")
    start = ctx.Event()
    procs = [ctx.Process(target=_upgrade_in_child, args=(state_url, start)) for _ in range(2)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(100)
    assert [p.exitcode for p in procs] == [0, 0]
    engine = engine_for(state_url)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM audit_head").scalar() == 1
    engine.dispose()


def test_driver_errors_inside_the_store_are_mapped(sqlite_url: str) -> None:
    from troth.audit import Ledger

    engine = open_store(sqlite_url, migrate=False)  # no schema yet
    with pytest.raises(StoreError, match="no such table: audit_head") as info:
        Ledger(engine).append("policy.version", {"version": 1}, actor="cli")
    assert info.value.where == sqlite_url
    assert info.value.fix


def test_migrations_ship_inside_the_package() -> None:
    from importlib.resources import files

    pkg = files("troth.store")
    assert (pkg / "migrations" / "env.py").is_file()
    versions = [p.name for p in (pkg / "migrations" / "versions").iterdir()]
    assert "0001_audit_ledger.py" in versions


def _open_in_child(url: str, start: object) -> None:
    engine = engine_for(url)
    start.wait()  # type: ignore[attr-defined]
    upgrade(engine)
    with connect(engine) as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


@pytest.mark.timeout(120)
def test_many_processes_opening_a_new_sqlite_file_at_once(tmp_path: Path) -> None:
    # switching a new file to WAL needs an exclusive lock that SQLite does not wait for
    ctx = mp.get_context("fork")
    for n in range(10):
        url = f"sqlite:///{tmp_path / f'new{n}.db'}"
        start = ctx.Event()
        procs = [ctx.Process(target=_open_in_child, args=(url, start)) for _ in range(6)]
        for p in procs:
            p.start()
        start.set()
        for p in procs:
            p.join(100)
        assert [p.exitcode for p in procs] == [0] * 6


def test_models_match_the_migrated_schema(state_url: str) -> None:
    # a later slice that adds a model without a migration (or the reverse) fails here
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from troth.store.models import load_all

    engine = open_store(state_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [
            d for d in compare_metadata(ctx, load_all()) if "troth_schema_version" not in str(d)
        ]
    assert diff == []
    engine.dispose()


def test_processes_starting_together_share_one_whole_secret_key(tmp_path: Path) -> None:
    """Several processes creating TROTH_HOME/secret.key at once: none reads it half-written."""
    from troth.config import _file_key

    path = tmp_path / "home" / "secret.key"
    ctx = mp.get_context("fork")
    with ctx.Pool(8) as pool:
        keys = pool.map(_file_key, [path] * 64)
    assert len(set(keys)) == 1
    assert len(keys[0]) == 64
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_head_constant_is_alembics_head() -> None:
    """A database at ``HEAD`` is opened without Alembic: the constant must follow the scripts."""
    from troth.store.migrate import HEAD

    assert head_revision() == HEAD


@pytest.mark.parametrize("server", ["postgres", "mysql"])
def test_pool_pings_only_idle_connections_and_replaces_dropped_ones(
    server: str, request: pytest.FixtureRequest
) -> None:
    """A connection back from the pool within the idle limit is used without a ping (one round
    trip less per checkout); one idle longer is pinged, and when the server dropped it the pool
    connects again before the caller runs anything."""
    from troth.store.db import pooled_engine

    url = request.getfixturevalue("pg_url" if server == "postgres" else "mysql_url")
    pid_sql = "SELECT pg_backend_pid()" if server == "postgres" else "SELECT CONNECTION_ID()"
    kill = "SELECT pg_terminate_backend({})" if server == "postgres" else "KILL {}"
    pings: list[int] = []
    for ping_idle_s, expect_new in ((3600.0, False), (0.0, True)):
        engine = pooled_engine(url, ping_idle_s=ping_idle_s)
        real_ping = engine.dialect.do_ping

        def counted(dbapi_conn: object, real: Any = real_ping) -> bool:
            pings.append(1)
            return bool(real(dbapi_conn))

        engine.dialect.do_ping = counted  # type: ignore[method-assign]
        with engine.connect() as c:
            first = c.exec_driver_sql(pid_sql).scalar()
        with engine.connect() as c:  # used a moment ago
            assert c.exec_driver_sql(pid_sql).scalar() == first
        admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with admin.connect() as c:
            c.exec_driver_sql(kill.format(int(first)))
        admin.dispose()
        if expect_new:  # idle past the limit: pinged, found dropped, replaced
            with engine.connect() as c:
                assert c.exec_driver_sql(pid_sql).scalar() != first
            assert len(pings) >= 2
        else:  # not pinged: the dropped connection fails its statement, then is replaced
            assert pings == []
            with pytest.raises(sa.exc.DBAPIError), engine.connect() as c:
                c.exec_driver_sql(pid_sql).scalar()
            with engine.connect() as c:
                assert c.exec_driver_sql(pid_sql).scalar() != first
        engine.dispose()


def test_a_restriction_waits_for_a_concurrent_writer_on_sqlite(sqlite_url: str) -> None:
    """`troth dsr restrict` reads the restrictions, then writes the missing ones. Another process
    that writes between the read and the write (a `troth serve` sweeping retention) used to fail
    it at once on SQLite ("database is locked"): the read now holds the write lock, so the other
    writer waits and both succeed."""
    import threading
    import time

    from troth.dsr.identity import Identity
    from troth.dsr.restriction import is_restricted, restrict_identities

    engine = open_store(sqlite_url)
    with connect(engine) as c, c.begin():
        c.exec_driver_sql("CREATE TABLE other_work (n INTEGER)")
    other = engine_for(sqlite_url)  # another connection pool, as another process would have
    done: list[str] = []

    def write_elsewhere() -> None:
        with other.begin() as c:
            c.exec_driver_sql("INSERT INTO other_work VALUES (1)")
        done.append("other")

    started: list[threading.Thread] = []

    def between(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not started and statement.startswith("SELECT") and "dsr_restriction" in statement:
            started.append(threading.Thread(target=write_elsewhere))
            started[0].start()
            time.sleep(0.3)  # the other writer commits now, unless it waits for the lock

    sa.event.listen(engine, "after_cursor_execute", between)
    try:
        key = b"k" * 32
        ada = [Identity("email", "ada@example.com")]
        assert restrict_identities(engine, key, ada) == 1
        started[0].join(timeout=60)
        assert done == ["other"]
        assert is_restricted(engine, key, ada)
    finally:
        sa.event.remove(engine, "after_cursor_execute", between)
        other.dispose()
        engine.dispose()


def test_open_store_shares_one_sqlite_engine_per_settings(tmp_path: Path) -> None:
    """The calls of a process share the SQLite file's engine (its pool and compiled statements);
    other settings or another file get another one."""
    settings = Settings.from_env({"TROTH_HOME": str(tmp_path / "a")})
    same = Settings.from_env({"TROTH_HOME": str(tmp_path / "a")})
    other = Settings.from_env({"TROTH_HOME": str(tmp_path / "b")})
    engine = open_store(settings)
    assert open_store(same) is engine
    assert open_store(other) is not engine
    assert open_store("sqlite://") is not open_store("sqlite://")  # in memory: one per call


def test_a_replaced_sqlite_file_is_never_written_through_an_old_connection(
    tmp_path: Path,
) -> None:
    """A pooled connection to a file that was deleted (or replaced) since it opened is not
    handed out again: the next use opens the new file."""
    settings = Settings.from_env({"TROTH_HOME": str(tmp_path)})
    engine = open_store(settings)
    with engine.begin() as conn:  # leaves a pooled connection to the first file
        conn.exec_driver_sql("UPDATE audit_head SET seq = 7")
    db = tmp_path / "troth.db"
    for leftover in tmp_path.glob("troth.db*"):
        leftover.unlink()
    assert not db.exists()
    again = open_store(settings)
    assert again is engine
    assert db.exists()  # migrated into a new file, not into the deleted one
    with again.connect() as conn:
        assert conn.exec_driver_sql("SELECT seq FROM audit_head").scalar() == 0


def _statements(engine: sa.Engine) -> list[str]:
    seen: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: seen.append(str(a[2])))
    return seen


def test_an_engine_found_at_head_is_not_asked_again(state_url: str) -> None:
    """A request opens the state DB several times; only the first open checks the schema."""
    engine = engine_for(state_url)
    upgrade(engine)
    seen = _statements(engine)
    upgrade(engine)
    assert seen == []
    engine.dispose()
    with engine.connect():  # a new connection: the database may be another one now
        pass
    upgrade(engine)
    assert any("troth_schema_version" in s for s in seen)
    engine.dispose()


def test_a_postgres_state_db_dropped_and_created_again_is_migrated_on_the_next_open(
    pg_url: str, pg_admin: sa.Engine
) -> None:
    engine = engine_for(pg_url)
    upgrade(engine)
    name = pg_url.rsplit("/", 1)[1]
    with pg_admin.connect() as c:  # the pooled connection is cut off with its database
        c.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    with pytest.raises(sa.exc.DBAPIError), engine.connect() as c:
        c.exec_driver_sql("SELECT 1").scalar()  # the dead connection fails once, then is replaced
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_a_single_read_on_a_server_runs_without_a_transaction(state_url: str) -> None:
    """`read_once`: on PostgreSQL the SELECT alone (no BEGIN/ROLLBACK round trips); the pooled
    connection goes back to transactions for the next user."""
    from psycopg.pq import TransactionStatus

    from troth.store.db import read_once

    engine = open_store(state_url)
    with read_once(engine) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM audit_head").scalar() == 1
        raw = conn.connection.driver_connection
        if engine.dialect.name == "postgresql":
            assert raw.info.transaction_status == TransactionStatus.IDLE  # no transaction open
    with connect(engine) as conn:
        conn.exec_driver_sql("SELECT 1")
        raw = conn.connection.driver_connection
        if engine.dialect.name == "postgresql":
            assert raw.info.transaction_status == TransactionStatus.INTRANS
        else:
            assert raw.in_transaction

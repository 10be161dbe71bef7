"""The SQL connector: set-based, bound parameters, batched, errors mapped (three engines)."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import Any

import pytest
import sqlalchemy as sa

from troth.connectors import CONNECTORS, connect, redact_url, resolve_connection
from troth.connectors.base import Connector, batched, scheme_family
from troth.connectors.match import Lookup, Rows
from troth.connectors.sql import SqlConnector
from troth.datamap.demo import create_demo_db
from troth.errors import ConfigError, ConnectorError, StoreDownError, UnknownPluginError
from troth.masking.base import hmac_hex


def by(column: str, values: Iterable[Any]) -> Rows:
    return Rows((Lookup.of(column, values),))


@pytest.fixture
def shop(db_url: str) -> SqlConnector:
    create_demo_db(db_url, "mydigisoft", customers=30)
    conn = connect(db_url, "shop_db")
    assert isinstance(conn, SqlConnector)
    assert isinstance(conn, Connector)
    conn.batch_size = 7  # force several batches
    return conn


def test_select_count_update_delete_are_set_based(shop: SqlConnector) -> None:
    ids = list(range(1, 21))
    rows = list(shop.select_rows("orders", by("customer_id", ids), ["id", "customer_id"]))
    assert len(rows) == 60
    assert {r["customer_id"] for r in rows} == set(ids)
    assert (
        shop.count_rows("orders", by("customer_id", [*ids, *ids, None])) == 60
    )  # duplicates dropped
    changed = shop.update_rows(
        "customers", by("id", [1, 2, 3]), {"first_name": None, "phone": "redacted"}
    )
    assert changed == 3
    (row,) = shop.select_rows("customers", by("id", [2]))
    assert row["first_name"] is None
    assert row["phone"] == "redacted"
    assert shop.delete_rows("marketing_preferences", by("customer_id", ids)) == 20
    assert shop.count_rows("marketing_preferences", by("customer_id", range(1, 31))) == 10
    assert list(shop.select_rows("customers", by("id", []))) == []
    shop.close()


def test_identity_values_with_sql_metacharacters_are_bound(shop: SqlConnector) -> None:
    evil = ["x' OR '1'='1", "customer1@example.com' --", "'; DROP TABLE customers; --", "%", "\\"]
    assert list(shop.select_rows("customers", by("email", evil))) == []
    assert shop.count_rows("customers", by("email", evil)) == 0
    assert shop.update_rows("customers", by("email", evil), {"phone": "x"}) == 0
    assert shop.delete_rows("customers", by("email", evil)) == 0
    assert shop.count_rows("customers", by("id", range(1, 100))) == 30  # nothing was touched
    (row,) = shop.select_rows("customers", by("email", ["customer7@example.com"]), ["id"])
    assert row == {"id": 7}
    shop.close()


def test_transaction_rolls_back_every_write(shop: SqlConnector) -> None:
    def erase() -> None:
        with shop.transaction():
            shop.delete_rows("marketing_preferences", by("customer_id", [1, 2]))
            shop.update_rows("customers", by("id", [1]), {"no_such_column": 1})

    with pytest.raises(ConnectorError):
        erase()
    assert shop.count_rows("marketing_preferences", by("customer_id", [1, 2])) == 2
    shop.close()


def test_missing_table_is_a_connector_error_naming_connection_and_table(
    shop: SqlConnector,
) -> None:
    with pytest.raises(ConnectorError) as err:
        list(shop.select_rows("no_such_table", by("id", [1])))
    assert not isinstance(err.value, StoreDownError)
    assert "connection 'shop_db', table 'no_such_table'" in str(err.value)
    assert "datamap check --live" in str(err.value)
    shop.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "mysql+pymysql"])
def test_down_server_is_store_down_naming_the_connection_not_the_password(scheme: str) -> None:
    url = f"{scheme}://app:Sup3rSecret@127.0.0.1:{_free_port()}/shop"
    conn = connect(url, "billing_db")
    calls = (conn.ping, conn.schema_version, conn.introspect)
    for call in (*calls, lambda: list(conn.select_rows("t", by("c", [1])))):
        with pytest.raises(StoreDownError) as err:
            call()
        assert err.value.retryable
        assert "connection 'billing_db'" in str(err.value)
        assert "Sup3rSecret" not in str(err.value)
        assert "127.0.0.1" not in str(err.value)
        assert err.value.__cause__ is None or "Sup3rSecret" not in str(err.value.__cause__)


def test_a_single_read_on_a_server_opens_no_transaction(pg_url: str) -> None:
    """The ping, the schema fingerprint and each read outside a held transaction run in
    autocommit on a server (no BEGIN and ROLLBACK round trips); inside one they use it."""
    from psycopg.pq import TransactionStatus

    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, c INTEGER)")
        c.exec_driver_sql("INSERT INTO t VALUES (1, 1), (2, 2)")
    engine.dispose()
    conn = connect(pg_url, "shop")
    assert isinstance(conn, SqlConnector)
    after: list[Any] = []

    def status(connection: sa.Connection, *args: Any) -> None:
        after.append(connection.connection.driver_connection.info.transaction_status)

    def reads() -> None:
        conn.ping()
        assert conn.schema_version()
        assert [r["id"] for r in conn.select_rows("t", by("c", [1]))] == [1]
        assert list(conn.select_columns("t", by("c", [2]), ["id"])) == [[(2,)]]
        assert conn.count_rows("t", by("c", [1, 2])) == 2

    sa.event.listen(conn.engine, "after_cursor_execute", status)
    try:
        reads()
        assert after == [TransactionStatus.IDLE] * 5
        with conn.transaction(rollback=True):
            reads()
        assert after[5:] == [TransactionStatus.INTRANS] * 5
    finally:
        sa.event.remove(conn.engine, "after_cursor_execute", status)
        conn.close()


def test_sqlite_file_that_cannot_be_opened_is_store_down(tmp_path: object) -> None:
    conn = connect("sqlite:////nonexistent-dir/x/shop.db", "local")
    with pytest.raises(StoreDownError, match="connection 'local'"):
        conn.ping()


def test_unknown_scheme_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownPluginError) as err:
        connect("mongodb://db/shop", "docs")
    assert "unknown connector 'mongodb'" in str(err.value)
    assert "mysql, postgresql, sqlite" in str(err.value)
    assert {"sqlite", "postgresql", "mysql"} <= set(CONNECTORS.names())
    assert scheme_family("postgres://x/y") == "postgresql"
    assert scheme_family("mariadb+pymysql://x/y") == "mysql"


def test_messages_without_a_name_hide_the_password() -> None:
    assert redact_url("postgresql://app:pw@h/db") == "postgresql://app:***@h/db"
    assert redact_url("sqlite:///x.db") == "sqlite:///x.db"
    conn = connect(f"postgresql://app:pw@127.0.0.1:{_free_port()}/db")
    with pytest.raises(StoreDownError) as err:
        conn.ping()
    assert ":pw@" not in str(err.value)


def test_batches_are_distinct_and_bounded() -> None:
    out = list(batched([1, 2, 2, None, 3, 4, 5], 2))
    assert out == [[1, 2], [3, 4], [5]]


def test_connection_names_resolve_from_environment_then_config(tmp_path: object) -> None:
    from pathlib import Path

    cfg = Path(str(tmp_path)) / "troth.yaml"
    cfg.write_text("connections:\n  crm: postgresql://crm:${CRM_PW}@db/crm\n")
    env = {"TROTH_CONN_SHOP_DB": "sqlite:///shop.db", "TROTH_CONFIG": str(cfg), "CRM_PW": "pw"}
    assert resolve_connection("shop_db", env) == "sqlite:///shop.db"
    assert resolve_connection("crm", env) == "postgresql://crm:pw@db/crm"
    with pytest.raises(ConfigError) as err:
        resolve_connection("billing", env)
    assert "configured: crm, shop_db" in str(err.value)
    assert "TROTH_CONN_BILLING" in str(err.value)
    assert "sqlite:///" not in str(err.value)


def test_every_driver_error_class_is_mapped(sqlite_url: str) -> None:
    conn = connect(sqlite_url, "s")
    for exc in (
        sa.exc.OperationalError("SELECT", {}, Exception("disk I/O error")),
        sa.exc.ProgrammingError("SELECT", {}, Exception("syntax")),
        sa.exc.IntegrityError("UPDATE", {}, Exception("UNIQUE constraint failed: x@y.com")),
        sa.exc.DataError("UPDATE", {}, Exception("bad value 'secret@example.com'")),
        sa.exc.InterfaceError("SELECT", {}, Exception("connection is closed")),
        sa.exc.TimeoutError(),
    ):
        with pytest.raises(ConnectorError) as err, conn._mapped("read rows", "t"):
            raise exc
        assert "example.com" not in str(err.value)
        assert "x@y" not in str(err.value)


def test_key_sets_are_one_array_on_postgresql_and_batched_elsewhere(shop: SqlConnector) -> None:
    """PostgreSQL binds a key set as ONE array (``= ANY(:keys)``): one statement per table
    whatever the number of keys; SQLite and MariaDB send IN lists per batch (batch_size 7)."""
    seen: list[str] = []

    def hook(*args: object) -> None:
        seen.append(str(args[2]))

    sa.event.listen(shop.engine, "before_cursor_execute", hook)
    ids = list(range(1, 21))
    pg = shop.engine.dialect.name == "postgresql"
    got = list(shop.select_columns("orders", by("customer_id", ids), ["id", "customer_id"]))
    assert len(seen) == len(got) == (1 if pg else 3)
    assert sum(len(order_ids) for order_ids, _ in got) == 60
    assert {c for _, owners in got for c in owners} == set(ids)
    seen.clear()
    with shop.transaction():
        assert shop.update_rows("customers", by("id", [*ids, *ids, None]), {"phone": None}) == 20
        assert shop.delete_rows("marketing_preferences", by("customer_id", ids)) == 20
    writes = [s for s in seen if s.lstrip().upper().startswith(("UPDATE", "DELETE"))]
    assert len(writes) == (2 if pg else 6)
    if pg:
        assert all("= ANY (" in s for s in writes)
    assert list(shop.select_columns("customers", by("id", []), ["id"])) == []
    assert shop.count_rows("customers", by("id", range(1, 100))) == 30
    shop.close()


def test_integer_key_sets_at_the_bigint_bounds(shop: SqlConnector) -> None:
    """All-integer key sets go as a binary int8[] on PostgreSQL: bounds, negatives, and (PG only)
    integers beyond bigint, which fall back to psycopg's own adaptation."""
    edge = [1, 2, 2, None, 2**63 - 1, -(2**63), 0, -1]
    assert shop.count_rows("customers", by("id", edge)) == 2
    assert {r["id"] for r in shop.select_rows("customers", by("id", edge), ["id"])} == {1, 2}
    assert sum(len(c[0]) for c in shop.select_columns("customers", by("id", edge), ["id"])) == 2
    if shop.engine.dialect.name == "postgresql":
        assert shop.count_rows("customers", by("id", [3, 2**70])) == 1
    assert shop.count_rows("customers", by("email", ["customer7@example.com", "nobody"])) == 1
    shop.close()


def test_composite_key_sets_are_one_statement_on_postgresql(shop: SqlConnector) -> None:
    """Integer key tuples go as one array per column zipped by ``unnest`` on PostgreSQL (one
    statement whatever their number), as batched IN lists elsewhere; tuples of other types (a
    text column) and troth's keyed hashes of the key find exactly the same rows."""
    with shop.engine.begin() as c:
        c.exec_driver_sql(
            "CREATE TABLE notes (tenant_id INTEGER NOT NULL, member_id INTEGER NOT NULL, "
            "seq INTEGER NOT NULL, tag VARCHAR(10) NOT NULL, body VARCHAR(40), "
            "PRIMARY KEY (tenant_id, member_id, seq))"
        )
        c.execute(
            sa.text("INSERT INTO notes VALUES (:t, :m, :s, :g, 'hello')"),
            [
                {"t": t, "m": m, "s": s, "g": f"g{s}"}
                for t in (1, 2)
                for m in (1, 2, 3)
                for s in range(1, 6)
            ],
        )
    cols = ("tenant_id", "member_id", "seq")
    keys = [(1, m, s) for m in (1, 2) for s in range(1, 6)] + [(2, 3, 5), (9, 9, 9)]
    rows = Rows((Lookup(cols, tuple(keys)),))
    seen: list[str] = []

    def hook(*args: object) -> None:
        seen.append(str(args[2]))

    sa.event.listen(shop.engine, "before_cursor_execute", hook)
    pg = shop.engine.dialect.name == "postgresql"
    assert shop.count_rows("notes", rows) == 11
    with shop.transaction():
        assert shop.update_rows("notes", rows, {"body": None}) == 11
    assert len(seen) == (2 if pg else 4)  # 12 tuples: 2 batches of 7 elsewhere
    assert all("unnest" in s for s in seen) == pg
    found = list(shop.select_rows("notes", Rows((), ()), None))  # no lookup: no statement
    assert found == []
    with shop.engine.connect() as c:
        nulled = {
            tuple(r)
            for r in c.exec_driver_sql(
                "SELECT tenant_id, member_id, seq FROM notes WHERE body IS NULL"
            )
        }
    assert nulled == set(keys[:-1])
    # a text column in the tuple: batched IN lists on every engine, the same rows
    seen.clear()
    text_rows = Rows((Lookup(("tenant_id", "member_id", "tag"), ((2, 1, "g3"), (2, 2, "g4"))),))
    assert shop.count_rows("notes", text_rows) == 2
    assert not any("unnest" in s for s in seen)
    # the key tuples as troth's keyed hashes of each column's text (a personal key)
    shop.hash_key = b"composite-key-test-0123456789"
    hashed = tuple(tuple(hmac_hex(shop.hash_key, v) for v in key) for key in [(2, 1, 1), (2, 2, 2)])
    assert shop.count_rows("notes", Rows((Lookup(cols, hashed, hashed=True),))) == 2
    with shop.transaction():
        assert shop.delete_rows("notes", rows) == 11
    assert shop.count_rows("notes", rows) == 0
    sa.event.remove(shop.engine, "before_cursor_execute", hook)
    shop.close()


def test_schema_read_is_a_few_catalog_queries_on_postgresql(shop: SqlConnector) -> None:
    """Every request reads the store's schema: on PostgreSQL one catalog query per kind (columns,
    primary keys, foreign keys) for all tables, not three per table; the same shape everywhere."""
    seen: list[str] = []

    def hook(*args: object) -> None:
        seen.append(str(args[2]))

    sa.event.listen(shop.engine, "before_cursor_execute", hook)
    schema = shop.introspect()
    sa.event.remove(shop.engine, "before_cursor_execute", hook)
    names = [t.name for t in schema.tables]
    assert names == sorted(names)
    assert len(names) >= 8
    if shop.engine.dialect.name == "postgresql":
        assert len(seen) <= 8 < 3 * len(names)
    items = schema.table("order_items")
    assert items is not None
    assert items.primary_key == ("id",)
    assert [(fk.columns, fk.ref_table) for fk in items.foreign_keys] == [(("order_id",), "orders")]
    assert [c.name for c in items.columns][:2] == ["id", "order_id"]
    shop.close()

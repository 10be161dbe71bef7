"""Access, erasure, rectification and restriction on SQLite, PostgreSQL and MariaDB, over the
example schemas and their demo data."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from troth.config import Settings
from troth.connectors.sql import _with_driver
from troth.dsr import Identity, access, erase, is_restricted, rectify, restrict, status
from troth.errors import RequestError
from troth.store import open_store

EMAIL = "customer7@example.com"  # demo customer 7


def _engine() -> sa.Engine:
    return sa.create_engine(_with_driver(os.environ["TROTH_CONN_MYDIGISOFT_SHOP"]))


def _rows(sql: str, **params: Any) -> list[dict[str, Any]]:
    engine = _engine()
    try:
        with engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def _snapshot() -> dict[str, list[tuple[Any, ...]]]:
    tables = ["customers", "orders", "order_items", "licences", "support_tickets",
              "marketing_preferences", "trade_compliance_checks"]  # fmt: skip
    return {t: sorted(tuple(r.values()) for r in _rows(f"SELECT * FROM {t}")) for t in tables}


@pytest.fixture
def count_statements(mydigisoft: Path) -> Iterator[list[str]]:
    """SQL statements sent to the data store (not troth's state DB)."""
    seen: list[str] = []
    url = sa.make_url(_with_driver(os.environ["TROTH_CONN_MYDIGISOFT_SHOP"]))

    def hook(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if (
            conn.engine.url.database == url.database
            and conn.engine.url.drivername == url.drivername
        ):
            seen.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", hook)
    yield seen
    sa.event.remove(sa.engine.Engine, "before_cursor_execute", hook)


def test_access_export_holds_every_table_of_the_person(mydigisoft: Path, tmp_path: Path) -> None:
    out = tmp_path / "export.zip"
    result = access(mydigisoft, [Identity("email", EMAIL)], output=out)
    assert result.status == "completed"
    counts = {t["table"]: t["rows"] for t in result.tables}
    assert counts["shop.customers"] == 1
    assert counts["shop.orders"] == 3
    assert counts["shop.order_items"] == 6
    assert counts["shop.support_tickets"] == 1
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {
            "summary.html",
            "manifest.json",
            "json/shop.orders.json",
            "csv/shop.orders.csv",
        } <= names
        (customer,) = json.loads(zf.read("json/shop.customers.json"))
        assert customer["email"] == EMAIL
        orders = json.loads(zf.read("json/shop.orders.json"))
        assert len(orders) == 3
        # the same rendering on every engine: decimals as strings of their scale, ISO 8601
        assert sorted(o["total"] for o in orders) == ["16.00", "46.00", "76.00"]
        assert {o["created_at"] for o in orders} == {"2021-03-14T09:30:00"}
        csv_data = zf.read("csv/shop.order_items.csv")
        assert csv_data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
        csv_lines = csv_data.decode("utf-8-sig").strip().splitlines()
        assert len(csv_lines) == 1 + 6
        summary = zf.read("summary.html").decode()
        assert EMAIL in summary
        assert "Your rights" in summary
        assert "Order items" in summary  # a label, not the table name
    # the spool was in TROTH_HOME/spool and is gone
    assert not list((Path(os.environ["TROTH_HOME"]) / "spool").glob("export-*"))


def test_pl12_erasure_on_request_masks_deletes_and_keeps_legal_holds(mydigisoft: Path) -> None:
    before = _rows("SELECT * FROM customers WHERE id = 7")[0]
    other_before = _rows("SELECT * FROM customers WHERE id = 8")[0]
    result = erase(mydigisoft, [Identity("email", EMAIL)])
    assert result.status == "completed"
    (after,) = _rows("SELECT * FROM customers WHERE id = 7")
    assert after["email"] != EMAIL
    assert len(after["email"]) == 64  # keyed hash
    assert after["first_name"] == "[redacted]"
    assert after["phone"] is None
    assert after["country"] == before["country"]  # legal hold: trade compliance
    assert _rows("SELECT * FROM support_tickets WHERE customer_id = 7") == []
    assert _rows("SELECT * FROM marketing_preferences WHERE customer_id = 7") == []
    assert len(_rows("SELECT * FROM orders WHERE customer_id = 7")) == 3  # invoices kept
    assert _rows("SELECT licence_key FROM licences WHERE customer_id = 7") == []  # deleted
    assert _rows("SELECT * FROM customers WHERE id = 8")[0] == other_before  # nobody else
    kept = {t["table"]: t["kept"] for t in result.tables}
    assert kept["shop.orders"][0]["reason"] == "invoices are kept for tax law"
    assert kept["shop.customers"][0]["field"] == "country"
    # running it again finds nothing more to do and changes nothing
    snapshot = _snapshot()
    again = erase(mydigisoft, [Identity("email", EMAIL)])
    assert again.status == "completed"
    assert _snapshot() == snapshot


def test_erasure_statements_are_per_table_and_batch_not_per_row(
    mydigisoft: Path, count_statements: list[str]
) -> None:
    """A customer with many rows costs the same number of statements as one with few."""
    # give customer 7 many more orders, items and licences
    engine = _engine()
    with engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO orders (id, customer_id, status, total, currency) "
                "SELECT id + 10000, 7, status, total, currency FROM orders"
            )
        )
        c.execute(
            sa.text(
                "INSERT INTO order_items (id, order_id, product_sku, quantity, unit_price) "
                "SELECT id + 10000, order_id + 10000, product_sku, quantity, unit_price FROM order_items"
            )
        )
        c.execute(
            sa.text(
                "INSERT INTO licences (id, order_item_id, customer_id, licence_key) "
                "SELECT id + 10000, order_item_id + 10000, 7, licence_key FROM licences"
            )
        )
    engine.dispose()
    erase(mydigisoft, [Identity("email", "customer8@example.com")], dry_run=False)
    few = len(count_statements)
    count_statements.clear()
    result = erase(mydigisoft, [Identity("email", EMAIL)])
    many = len(count_statements)
    rows = sum(t["rows"] + t["kept_rows"] for t in result.tables)
    assert rows > 150  # one statement per row would send that many
    writes = [s for s in count_statements if s.lstrip().upper().startswith(("UPDATE", "DELETE"))]
    # per table one statement (support_tickets, licences, order_items, marketing_preferences,
    # customers) and for orders, which rows may point at, a delete and a mask of those that stay
    assert len(writes) <= 7, [w[:60] for w in writes]
    assert many <= few + 4, (few, many)


def test_rectify_sets_bound_values_on_mapped_fields_only(mydigisoft: Path) -> None:
    tricky = "O'Brien\"; DROP TABLE customers; --"
    result = rectify(mydigisoft, [Identity("email", EMAIL)], {"customers.last_name": tricky})
    assert result.status == "completed"
    assert _rows("SELECT last_name FROM customers WHERE id = 7") == [{"last_name": tricky}]
    assert len(_rows("SELECT id FROM customers")) == 30
    with pytest.raises(Exception, match="not a field of the data map"):
        rectify(mydigisoft, [Identity("email", EMAIL)], {"customers.password": "x"})


def test_restriction_marks_the_person_by_keyed_hash(mydigisoft: Path) -> None:
    ident = Identity("email", EMAIL)
    result = restrict(mydigisoft, [ident])
    assert result.status == "completed"
    settings = Settings.from_env()
    engine = open_store(settings)
    assert is_restricted(engine, settings.secret_key, [ident])
    assert not is_restricted(
        engine, settings.secret_key, [Identity("email", "customer8@example.com")]
    )
    with engine.connect() as c:
        text = repr(c.execute(sa.text("SELECT * FROM dsr_restriction")).all())
    assert EMAIL not in text


@pytest.mark.parametrize(
    "value",
    [
        "x' OR '1'='1@example.com",
        "customer7@example.com' --",
        "%@example.com",
        "_@%",
        "\\'; DELETE FROM customers; --@example.com",
    ],
)
def test_identity_values_with_sql_metacharacters_are_bound(mydigisoft: Path, value: str) -> None:
    """An unknown identity gives an empty result, not an error, and matches nothing."""
    before = _snapshot()
    found = access(mydigisoft, [Identity("email", value)])
    assert found.status == "completed"
    assert found.rows() == 0
    erased = erase(mydigisoft, [Identity("email", value)])
    assert erased.status == "completed"
    assert erased.rows() == 0
    assert _snapshot() == before


@pytest.mark.parametrize("value", ["%", "no-at-sign", "  ", "a@"])
def test_an_email_that_is_not_an_address_is_refused_before_any_request(
    mydigisoft: Path, value: str
) -> None:
    before = _snapshot()
    with pytest.raises(RequestError, match=r"e-mail identity is not an address|empty"):
        erase(mydigisoft, [Identity("email", value)])
    assert _snapshot() == before
    assert status() == []  # no request was recorded


def test_plus_erasure_deletes_device_children_first(plus: Path) -> None:
    """PL-12 on the Plus example: sessions deleted before their devices (foreign keys)."""
    url = os.environ["TROTH_CONN_PLUS_APP"]
    result = erase(plus, [Identity("email", "owner3@example.com")])
    assert result.status == "completed", result.request
    engine = sa.create_engine(_with_driver(url))
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM devices WHERE account_id = 3")).scalar() == 0
        assert (
            c.execute(sa.text("SELECT count(*) FROM sessions WHERE account_id = 3")).scalar() == 0
        )
        email = c.execute(sa.text("SELECT email FROM accounts WHERE id = 3")).scalar()
        assert email != "owner3@example.com"
        assert c.execute(sa.text("SELECT count(*) FROM accounts")).scalar() == 10
    engine.dispose()


def test_live_check_finds_a_row_two_walks_give_to_two_people(
    mydigisoft: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A licence reached through its customer and through its order item: when the data gives
    the two walks two different customers, `troth check --live` names the table and the walks."""
    from troth.cli import main

    assert main(["check", str(mydigisoft), "--live", "--format", "json"]) == 1  # policy gaps
    clean = json.loads(capsys.readouterr().out)["findings"]
    assert not [f for f in clean if f["check"].startswith("map.walk")]
    engine = _engine()
    with engine.begin() as c:
        c.execute(sa.text("UPDATE licences SET customer_id = 3 WHERE id = 5"))
    engine.dispose()
    main(["check", str(mydigisoft), "--live", "--format", "json"])
    found = json.loads(capsys.readouterr().out)["findings"]
    hubs = [f["message"] for f in found if f["check"] == "map.walk-hub"]
    assert any("a row of shop.licences is reached from up to 2 different email" in m for m in hubs)
    assert any("shop.order_items.id => shop.licences.order_item_id" in m for m in hubs)

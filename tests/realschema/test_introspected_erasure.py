"""A map straight from `troth datamap introspect` (guesses unreviewed): an erasure either erases
every personal field of the person's rows, and nothing of anyone else, or refuses before any
write. On the helpdesk schema, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import helpdesk
import pytest

from troth.connectors import connect
from troth.datamap.introspect import skeleton
from troth.datamap.loader import load_datamap
from troth.datamap.yamlout import dump_datamap
from troth.dsr import Identity, erase
from troth.errors import RequestError

#: Ada's rows in tenant 1, by table (the SQL that selects them)
ADA_ROWS = {
    "customers": "SELECT * FROM customers WHERE id = 1",
    "tickets": "SELECT * FROM tickets WHERE requester_id = 1",
    "ticket_tags": "SELECT * FROM ticket_tags WHERE ticket_id IN (1, 3)",
    "ticket_events": "SELECT * FROM ticket_events WHERE ticket_id IN (1, 3)",
    "customer_notes": "SELECT * FROM customer_notes WHERE customer_id = 1",
    "invoices": "SELECT * FROM invoices WHERE customer_id = 1",
}
KEYS = {"customers": ["id"], "tickets": ["id"], "customer_notes": ["customer_id", "seq"]}
KEYS["invoices"] = ["id"]


def _raw_map(url: str, project: Path) -> None:
    conn = connect(url, "helpdesk_db")
    try:
        schema = conn.introspect()
    finally:
        conn.close()
    text = dump_datamap(skeleton(schema, dataset="desk", connection="helpdesk_db"))
    (project / "datamap.yaml").write_text(text)


def test_erasure_on_a_raw_introspected_map_is_whole_or_refused(desk: Path) -> None:
    url = os.environ["TROTH_CONN_HELPDESK_DB"]
    _raw_map(url, desk)
    datamap = load_datamap(desk / "datamap.yaml").datamap
    before = helpdesk.snapshot(url)
    ada = {t: helpdesk.table_rows(url, sql) for t, sql in ADA_ROWS.items()}
    ada_hashes = {t: Counter(helpdesk.row_hash(r) for r in rows) for t, rows in ada.items()}
    scope = {"tenant": "1"} if datamap.resolve("desk", "customers").scope else {}
    result = erase(desk, [Identity("email", "ada@example.com")], scope=scope)
    after = helpdesk.snapshot(url)
    if result.status != "completed":  # refused: nothing was written
        assert after == before
        return
    # nothing of anyone else changed
    for table in helpdesk.TABLES:
        gone = before[table] - after[table]
        assert not gone - ada_hashes.get(table, Counter()), table
    # every personal field of her rows that are still there is erased
    for table, keys in KEYS.items():
        t = datamap.resolve("desk", table)
        personal = [
            f.name for f in t.fields if f.is_personal() and not f.primary_key and not f.references
        ]
        now = {
            tuple(r[k] for k in keys): r for r in helpdesk.table_rows(url, f"SELECT * FROM {table}")
        }
        for row in ada[table]:
            left = now.get(tuple(row[k] for k in keys))
            if left is None:
                continue  # deleted
            for name in personal:
                if row[name] is not None:
                    assert left[name] != row[name], f"{table}.{name} kept her value"


def test_a_raw_map_erasure_cannot_handle_is_refused_before_any_write(desk: Path) -> None:
    """A newsletter table keyed by the e-mail address: masking the key would break it, and the
    raw map does not say to delete its rows, so the erasure refuses, naming the field."""
    url = os.environ["TROTH_CONN_HELPDESK_DB"]
    eng = helpdesk.engine(url)
    with eng.begin() as c:
        c.exec_driver_sql(
            "CREATE TABLE subscribers (email VARCHAR(255) NOT NULL PRIMARY KEY, topic VARCHAR(20))"
        )
        c.exec_driver_sql("INSERT INTO subscribers VALUES ('ada@example.com', 'news')")
    eng.dispose()
    _raw_map(url, desk)
    before = helpdesk.snapshot(url)
    field = load_datamap(desk / "datamap.yaml").datamap.resolve("desk", "subscribers", "email")
    assert field.primary_key
    # introspection gives the table's people an identity of their own
    ident = Identity(field.identity, "ada@example.com")
    with pytest.raises(RequestError, match=r"desk\.subscribers\.email: a personal primary key"):
        erase(desk, [ident])
    assert helpdesk.snapshot(url) == before
    assert helpdesk.table_rows(url, "SELECT * FROM subscribers") == [
        {"email": "ada@example.com", "topic": "news"}
    ]

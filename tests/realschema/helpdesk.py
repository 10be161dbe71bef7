"""A multi-tenant helpdesk schema shaped like real ones, on SQLite, PostgreSQL and MariaDB.

Shapes: two tenants sharing an e-mail (in different case and with a trailing space), an accented
and an unaccented address, phones in three spellings, a hub table (tenants), employees (agents)
referred to by customers and tickets, a self-reference (tickets merged into tickets, across
people), a many-to-many link with a composite key (ticket_tags), a table without a key holding
identical rows (ticket_events), a composite-key table (customer_notes), a JSON ``cc`` list naming
people, and held children (invoices, one inside its 10-year hold, one past it).

:func:`snapshot` hashes every row of every table, so a test proves which rows a request changed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "helpdesk"
TABLES = (
    "tenants",
    "agents",
    "customers",
    "tickets",
    "tags",
    "ticket_tags",
    "ticket_events",
    "customer_notes",
    "invoices",
)


def _ddl(dialect: str) -> list[str]:
    json_type = {"postgresql": "JSONB", "mysql": "JSON"}.get(dialect, "TEXT")
    text = "TEXT"
    return [
        "CREATE TABLE tenants (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(80) NOT NULL)",
        "CREATE TABLE agents (id INTEGER NOT NULL PRIMARY KEY, tenant_id INTEGER NOT NULL, "
        "email VARCHAR(255) NOT NULL, name VARCHAR(80) NOT NULL, "
        "FOREIGN KEY (tenant_id) REFERENCES tenants (id))",
        "CREATE TABLE customers (id INTEGER NOT NULL PRIMARY KEY, tenant_id INTEGER NOT NULL, "
        "email VARCHAR(255) NOT NULL, name VARCHAR(80), phone VARCHAR(40), "
        "support_agent_id INTEGER, last_seen TIMESTAMP NULL, "
        "FOREIGN KEY (tenant_id) REFERENCES tenants (id), "
        "FOREIGN KEY (support_agent_id) REFERENCES agents (id))",
        "CREATE TABLE tickets (id INTEGER NOT NULL PRIMARY KEY, tenant_id INTEGER NOT NULL, "
        "requester_id INTEGER NOT NULL, assignee_id INTEGER, merged_into INTEGER, "
        f"status VARCHAR(20) NOT NULL, subject VARCHAR(200) NOT NULL, body {text}, "
        f"meta {json_type}, created_at TIMESTAMP NULL, "
        "FOREIGN KEY (tenant_id) REFERENCES tenants (id), "
        "FOREIGN KEY (requester_id) REFERENCES customers (id), "
        "FOREIGN KEY (assignee_id) REFERENCES agents (id), "
        "FOREIGN KEY (merged_into) REFERENCES tickets (id))",
        "CREATE TABLE tags (id INTEGER NOT NULL PRIMARY KEY, tenant_id INTEGER NOT NULL, "
        "label VARCHAR(40) NOT NULL, FOREIGN KEY (tenant_id) REFERENCES tenants (id))",
        "CREATE TABLE ticket_tags (ticket_id INTEGER NOT NULL, tag_id INTEGER NOT NULL, "
        "PRIMARY KEY (ticket_id, tag_id), FOREIGN KEY (ticket_id) REFERENCES tickets (id), "
        "FOREIGN KEY (tag_id) REFERENCES tags (id))",
        "CREATE TABLE ticket_events (ticket_id INTEGER NOT NULL, kind VARCHAR(20) NOT NULL, "
        "at TIMESTAMP NULL, note VARCHAR(200), FOREIGN KEY (ticket_id) REFERENCES tickets (id))",
        "CREATE TABLE customer_notes (customer_id INTEGER NOT NULL, seq INTEGER NOT NULL, "
        f"tenant_id INTEGER NOT NULL, note {text}, PRIMARY KEY (customer_id, seq), "
        "FOREIGN KEY (customer_id) REFERENCES customers (id))",
        "CREATE TABLE invoices (id INTEGER NOT NULL PRIMARY KEY, customer_id INTEGER NOT NULL, "
        "issued_at TIMESTAMP NOT NULL, amount DECIMAL(10, 2) NOT NULL, "
        "billing_name VARCHAR(80) NOT NULL, FOREIGN KEY (customer_id) REFERENCES customers (id))",
    ]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def rows() -> dict[str, list[dict[str, Any]]]:
    now = _now()
    day = timedelta(days=1)
    ada_cc = {"cc": ["bob@example.com"], "channel": "email"}
    bob_cc = {"cc": ["Ada@Example.com", "carol@example.com", 7], "channel": "chat"}
    return {
        "tenants": [{"id": 1, "name": "Acme Support"}, {"id": 2, "name": "Globex Support"}],
        "agents": [
            {"id": 1, "tenant_id": 1, "email": "agent1@example.com", "name": "Agent One"},
            {"id": 2, "tenant_id": 2, "email": "agent2@example.com", "name": "Agent Two"},
        ],
        "customers": [
            # Ada in tenant 1, and the same person in tenant 2 (upper case, trailing space)
            _c(1, 1, "ada@example.com", "Ada Lovelace", "+15550199", now - 3 * day),
            _c(2, 2, "ADA@example.com ", "Ada L.", "+1 555-0199", now - 9 * day),
            _c(3, 1, "bob@example.com", "Bob Example", "(555) 0188", now - 1 * day),
            _c(4, 1, "jos\u00e9@example.com", "Jos\u00e9 Acme", None, now - 5 * day),
            _c(5, 1, "jose@example.com", "Jose Other", None, now - 6 * day),
        ],
        "tickets": [
            _t(1, 1, 1, None, "open", "Login fails", ada_cc, now - 30 * day),
            _t(2, 1, 3, 1, "merged", "Cannot log in either", None, now - 29 * day),
            _t(3, 1, 1, 4, "merged", "Invoice question", None, now - 20 * day),
            _t(4, 1, 3, None, "closed", "Invoice wrong", bob_cc, now - 21 * day),
            _t(5, 2, 2, None, "open", "Globex login", None, now - 2 * day),
            _t(6, 1, 5, None, "open", "Jose asks", None, now - 2 * day),
        ],
        "tags": [
            {"id": 1, "tenant_id": 1, "label": "login"},
            {"id": 2, "tenant_id": 1, "label": "urgent"},
        ],
        "ticket_tags": [
            {"ticket_id": 1, "tag_id": 1},
            {"ticket_id": 1, "tag_id": 2},
            {"ticket_id": 4, "tag_id": 1},
        ],
        "ticket_events": [
            # two identical rows: both are the person's, both are exported and erased
            {"ticket_id": 1, "kind": "opened", "at": now - 30 * day, "note": "via web"},
            {"ticket_id": 1, "kind": "opened", "at": now - 30 * day, "note": "via web"},
            {"ticket_id": 1, "kind": "reply", "at": now - 29 * day, "note": "Ada replied"},
            {"ticket_id": 3, "kind": "opened", "at": now - 20 * day, "note": "via mail"},
            {"ticket_id": 4, "kind": "opened", "at": now - 21 * day, "note": "via web"},
            {"ticket_id": 5, "kind": "opened", "at": now - 2 * day, "note": "via web"},
        ],
        "customer_notes": [
            {"customer_id": 1, "seq": 1, "tenant_id": 1, "note": "prefers e-mail"},
            {"customer_id": 1, "seq": 2, "tenant_id": 1, "note": "VIP"},
            {"customer_id": 2, "seq": 1, "tenant_id": 2, "note": "Globex note"},
            {"customer_id": 3, "seq": 1, "tenant_id": 1, "note": "Bob note"},
        ],
        "invoices": [
            _i(1, 1, now - 700 * day, "19.90", "Ada Lovelace"),  # inside its 10-year hold
            _i(2, 1, now - 4400 * day, "5.00", "Ada Lovelace"),  # past it
            _i(3, 3, now - 100 * day, "7.50", "Bob Example"),
            _i(4, 2, now - 50 * day, "3.98", "Ada L."),
        ],
    }


def _c(
    id_: int, tenant: int, email: str, name: str, phone: str | None, seen: datetime
) -> dict[str, Any]:
    return {
        "id": id_,
        "tenant_id": tenant,
        "email": email,
        "name": name,
        "phone": phone,
        "support_agent_id": tenant,
        "last_seen": seen,
    }


def _t(
    id_: int,
    tenant: int,
    requester: int,
    merged: int | None,
    status: str,
    subject: str,
    meta: dict[str, Any] | None,
    created: datetime,
) -> dict[str, Any]:
    return {
        "id": id_,
        "tenant_id": tenant,
        "requester_id": requester,
        "assignee_id": tenant,
        "merged_into": merged,
        "status": status,
        "subject": subject,
        "body": f"{subject}: details",
        "meta": meta,
        "created_at": created,
    }


def _i(id_: int, customer: int, issued: datetime, amount: str, name: str) -> dict[str, Any]:
    return {
        "id": id_,
        "customer_id": customer,
        "issued_at": issued,
        "amount": amount,
        "billing_name": name,
    }


def engine(url: str) -> sa.Engine:
    from troth.connectors.sql import _with_driver

    return sa.create_engine(_with_driver(url), poolclass=sa.pool.NullPool)


def create(url: str) -> None:
    """Create the schema and its rows (merged_into set after every ticket exists)."""
    eng = engine(url)
    data = rows()
    with eng.begin() as c:
        for stmt in _ddl(eng.dialect.name):
            c.exec_driver_sql(stmt)
        meta = sa.MetaData()
        meta.reflect(c)
        for name in TABLES:
            items = data[name]
            if name == "tickets":
                as_text = eng.dialect.name != "postgresql"  # JSON as text (MariaDB: LONGTEXT)
                items = [
                    {
                        **r,
                        "merged_into": None,
                        "meta": json.dumps(r["meta"]) if as_text and r["meta"] else r["meta"],
                    }
                    for r in items
                ]
            if items:
                c.execute(meta.tables[name].insert(), items)
        t = meta.tables["tickets"]
        for r in data["tickets"]:
            if r["merged_into"] is not None:
                c.execute(t.update().where(t.c.id == r["id"]).values(merged_into=r["merged_into"]))
    eng.dispose()


def project(tmp: Path) -> Path:
    """A copy of the fixture project (policy and map) that a test may edit."""
    dst = tmp / "helpdesk"
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("policy.yaml", "datamap.yaml"):
        shutil.copy(FIXTURE / name, dst / name)
    return dst


def _plain(value: Any) -> str:
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    return str(value)


def row_hash(row: dict[str, Any]) -> str:
    text = "|".join(f"{k}={_plain(row[k])}" for k in sorted(row))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def snapshot(url: str) -> dict[str, Counter[str]]:
    """Per table, the multiset of row hashes (duplicates counted)."""
    eng = engine(url)
    out: dict[str, Counter[str]] = {}
    with eng.connect() as c:
        for name in TABLES:
            result = c.exec_driver_sql(f"SELECT * FROM {name}")
            out[name] = Counter(row_hash(dict(r._mapping)) for r in result)
    eng.dispose()
    return out


def table_rows(url: str, sql: str) -> list[dict[str, Any]]:
    eng = engine(url)
    with eng.connect() as c:
        found = [dict(r._mapping) for r in c.execute(sa.text(sql))]
    eng.dispose()
    return found


def changed(before: dict[str, Counter[str]], after: dict[str, Counter[str]]) -> dict[str, int]:
    """Per table, how many rows of ``before`` are no longer there unchanged."""
    return {
        t: sum((before[t] - after[t]).values())
        for t in TABLES
        if sum((before[t] - after[t]).values())
    }

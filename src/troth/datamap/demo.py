"""Fictional demo databases for the reference deployments (``examples/<name>/schema.sql``).

Rows are generated set-based: one ``INSERT ... SELECT`` per table over a number sequence, built
with SQLAlchemy Core so the same code runs on SQLite, PostgreSQL and MariaDB/MySQL. Every person
is fictional: ``@example.com`` addresses, ``555`` phone numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from troth.errors import ConfigError

EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples"
SEQ = "troth_demo_seq"

N = sa.ColumnElement[Any]
Gen = Callable[[N], dict[str, Any]]

_DATES = (datetime(2021, 3, 14, 9, 30), datetime(2023, 6, 1, 12, 0), datetime(2025, 1, 20, 18, 45))


def schema_statements(example: str, examples_dir: Path = EXAMPLES_DIR) -> list[str]:
    """The DDL statements of ``examples/<example>/schema.sql``."""
    path = examples_dir / example / "schema.sql"
    if not path.is_file():
        names = sorted(p.parent.name for p in examples_dir.glob("*/schema.sql"))
        raise ConfigError(
            f"no demo schema for example {example!r}",
            where=str(path),
            fix=f"use one of: {', '.join(names)}",
        )
    text = "\n".join(
        line for line in path.read_text("utf-8").splitlines() if not line.lstrip().startswith("--")
    )
    return [s.strip() for s in re.split(r";\s*(?:\n|$)", text) if s.strip()]


def create_demo_db(
    url: str, example: str, *, customers: int = 100, examples_dir: Path = EXAMPLES_DIR
) -> dict[str, int]:
    """Create the example's schema in ``url`` and fill it; returns rows per table."""
    if example not in _GENERATORS:
        raise ConfigError(
            f"no demo data for example {example!r}", fix=f"use one of: {', '.join(_GENERATORS)}"
        )
    engine = sa.create_engine(_driver_url(url))
    plan = _GENERATORS[example](customers)
    counts: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            for stmt in schema_statements(example, examples_dir):
                conn.exec_driver_sql(stmt)
            seq = sa.table(SEQ, sa.column("n"))
            conn.exec_driver_sql(f"CREATE TABLE {SEQ} (n INTEGER NOT NULL PRIMARY KEY)")
            top = max(rows for _, rows, _ in plan)
            for start in range(1, top + 1, 10_000):  # executemany, in batches
                batch = [{"n": i} for i in range(start, min(start + 10_000, top + 1))]
                conn.execute(sa.insert(seq), batch)
            for table, rows, gen in plan:
                cols = gen(seq.c.n)
                target = sa.table(table, *(sa.column(c) for c in cols))
                select = sa.select(*(e.label(c) for c, e in cols.items())).where(seq.c.n <= rows)
                conn.execute(sa.insert(target).from_select(list(cols), select))
                counts[table] = rows
            conn.exec_driver_sql(f"DROP TABLE {SEQ}")
    finally:
        engine.dispose()
    return counts


def _driver_url(url: str) -> str:
    from troth.connectors.sql import _with_driver

    return _with_driver(url)


# --- expression helpers ----------------------------------------------------------------------


def s(text: str) -> N:
    return sa.literal(text, sa.String)


def txt(n: N) -> N:
    return sa.cast(n, sa.String)


def cat(*parts: N) -> N:
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out


def pick(n: N, *values: Any) -> N:
    """One of ``values`` by ``n`` modulo their count."""
    typ: Any = sa.DateTime if isinstance(values[0], datetime) else None
    return sa.case(*((n % len(values) == i, sa.literal(v, typ)) for i, v in enumerate(values)))


def fk(n: N, parents: int) -> N:
    return 1 + (n % parents)


# --- the examples ----------------------------------------------------------------------------


def _mydigisoft(c: int) -> list[tuple[str, int, Gen]]:
    o = 3 * c
    return [
        (
            "countries",
            4,
            lambda n: {
                "code": pick(n, "DE", "TH", "US", "IR"),
                "name": pick(n, "Germany", "Thailand", "United States", "Embargoed Land"),
                "embargoed": pick(n, 0, 0, 0, 1),
            },
        ),
        (
            "customers",
            c,
            lambda n: {
                "id": n,
                "first_name": pick(n, "Ada", "Lin", "Sam", "Noor", "Kai"),
                "last_name": pick(n, "Example", "Sample", "Demo"),
                "email": cat(s("customer"), txt(n), s("@example.com")),
                "phone": cat(s("+1-555-01"), txt(10 + n % 90)),
                "country": pick(n, "DE", "TH", "US"),
                "created_at": pick(n, *_DATES),
                "last_login": pick(n + 1, *_DATES),
            },
        ),
        (
            "orders",
            o,
            lambda n: {
                "id": n,
                "customer_id": fk(n, c),
                "status": pick(n, "paid", "refunded"),
                "total": 10 + n % 90,
                "currency": s("EUR"),
                "created_at": pick(n, *_DATES),
            },
        ),
        (
            "order_items",
            2 * o,
            lambda n: {
                "id": n,
                "order_id": fk(n, o),
                "product_sku": cat(s("SKU-"), txt(n % 12)),
                "quantity": 1 + n % 3,
                "unit_price": 5 + n % 45,
            },
        ),
        (
            "licences",
            o,
            lambda n: {
                "id": n,
                "order_item_id": n,
                # the customer of the item's order: the two references agree
                "customer_id": fk(fk(n, o), c),
                "licence_key": cat(s("LIC-"), txt(1000000 + n)),
                "issued_at": pick(n, *_DATES),
            },
        ),
        (
            "support_tickets",
            c,
            lambda n: {
                "id": n,
                "customer_id": fk(n, c),
                "requester_email": cat(s("customer"), txt(fk(n, c)), s("@example.com")),
                "subject": s("Licence question"),
                "body": s("Where is my licence key?"),
                "created_at": pick(n, *_DATES),
            },
        ),
        (
            "marketing_preferences",
            c,
            lambda n: {
                "customer_id": n,
                "email_opt_in": n % 2,
                "channel": s("notification_desk"),
                "updated_at": pick(n, *_DATES),
            },
        ),
        (
            "trade_compliance_checks",
            c,
            lambda n: {
                "id": n,
                "customer_id": n,
                "country": pick(n, "DE", "TH", "US"),
                "ip_address": cat(s("192.0.2."), txt(n % 250)),
                "result": s("cleared"),
                "checked_at": pick(n, *_DATES),
            },
        ),
    ]


def _plus(c: int) -> list[tuple[str, int, Gen]]:
    contacts, campaigns = 5 * c, 2 * c
    return [
        (
            "accounts",
            c,
            lambda n: {
                "id": n,
                "email": cat(s("owner"), txt(n), s("@example.com")),
                "password_hash": cat(s("$argon2id$demo$"), txt(n)),
                "display_name": cat(s("Shop "), txt(n)),
                "company": cat(s("Example Shop "), txt(n)),
                "phone": cat(s("+1-555-02"), txt(10 + n % 90)),
                "created_at": pick(n, *_DATES),
                "last_login": pick(n + 1, *_DATES),
            },
        ),
        (
            "devices",
            2 * c,
            lambda n: {
                "id": n,
                "account_id": fk(n, c),
                "device_type": pick(n, "desktop", "phone"),
                "os": pick(n, "Linux", "Android", "macOS"),
                "browser": pick(n, "Firefox", "Chrome"),
                "ip_address": cat(s("198.51.100."), txt(n % 250)),
                "first_seen": pick(n, *_DATES),
            },
        ),
        (
            "sessions",
            4 * c,
            lambda n: {
                "id": n,
                # the account of the session's device: the two references agree
                "account_id": fk(fk(n, 2 * c), c),
                "device_id": fk(n, 2 * c),
                "ip_address": cat(s("198.51.100."), txt(n % 250)),
                "started_at": pick(n, *_DATES),
                "last_seen": pick(n, *_DATES),
            },
        ),
        (
            "crm_contacts",
            contacts,
            lambda n: {
                "id": n,
                "account_id": fk(n, c),
                "first_name": pick(n, "Mia", "Tom", "Ana"),
                "last_name": pick(n, "Buyer", "Client"),
                "email": cat(s("buyer"), txt(n), s("@example.com")),
                "phone": cat(s("+1-555-03"), txt(10 + n % 90)),
                "street": cat(txt(n), s(" Example Street")),
                "city": s("Springfield"),
                "zip": cat(s("1"), txt(1000 + n % 8999)),
                "country": pick(n, "TH", "DE"),
                "created_at": pick(n, *_DATES),
            },
        ),
        (
            "chat_messages",
            4 * contacts,
            lambda n: {
                "id": n,
                "account_id": fk(n, c),
                "contact_id": fk(n, contacts),
                "direction": pick(n, "in", "out"),
                "body": s("Is my parcel on its way?"),
                "sent_at": pick(n, *_DATES),
            },
        ),
        (
            "ad_campaigns",
            campaigns,
            lambda n: {
                "id": n,
                "account_id": fk(n, c),
                "name": cat(s("Campaign "), txt(n)),
                "budget": 100 + n % 900,
                "created_at": pick(n, *_DATES),
            },
        ),
        (
            "ad_interactions",
            3 * contacts,
            lambda n: {
                "id": n,
                "campaign_id": fk(n, campaigns),
                "contact_id": fk(n, contacts),
                "kind": pick(n, "view", "click"),
                "ip_address": cat(s("203.0.113."), txt(n % 250)),
                "occurred_at": pick(n, *_DATES),
            },
        ),
    ]


_GENERATORS: dict[str, Callable[[int], list[tuple[str, int, Gen]]]] = {
    "mydigisoft": _mydigisoft,
    "plus": _plus,
}

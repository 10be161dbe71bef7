"""Benchmark of the breach register's affected-people count against hand-written SQL (a script,
not a test).

    PYTHONPATH=src .venv/bin/python bench/bench_breach.py [--items 1000000] [--samples 7]

On PostgreSQL (``TROTH_TEST_PG``, default the local server), a fresh database gets the MyDigiSoft
schema with ``--items`` order items (1,000,000), a quarter as many orders and a tenth as many
customers, and every licence and marketing preference of a tenth of the customers. Two breaches:

* ``order_items`` exposed (the 1M-row table): the people are the customers who own an exposed row
  through orders;
* ``licences`` and ``marketing_preferences`` exposed: the union over both walks.

Per breach, samples alternate (ABAB) troth's :func:`troth.breach.affected.count_affected` (people
per identity table plus ``count(*)`` per exposed table) and the hand-written statements that give
the same numbers (checked equal), after one warm-up of each. Reported: median and min-max of each,
the ratio of the medians (target <= 1.5), and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from troth.breach.affected import count_affected, parse_tables
from troth.datamap.graph import TableId
from troth.project import load_project

ROOT = Path(__file__).resolve().parent.parent
MD = ROOT / "examples" / "mydigisoft"
PG_ADMIN = os.environ.get("TROTH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DB = "troth_bench_breach"

HAND = {
    "order_items": [
        "SELECT count(DISTINCT c.id) FROM customers c JOIN orders o ON o.customer_id = c.id "
        "JOIN order_items i ON i.order_id = o.id",
        "SELECT count(*) FROM order_items",
    ],
    "licences+marketing": [
        "SELECT count(*) FROM (SELECT c.id FROM customers c JOIN licences l "
        "ON l.customer_id = c.id UNION SELECT c.id FROM customers c "
        "JOIN marketing_preferences m ON m.customer_id = c.id) t",
        "SELECT count(*) FROM licences",
        "SELECT count(*) FROM marketing_preferences",
    ],
    # the same numbers by the walks troth takes: licences also belong to the customer through
    # their order item and its order (owns), which the two-walk statement above leaves out
    "licences+marketing, troth's walks": [
        "SELECT count(*) FROM (SELECT c.id FROM customers c JOIN licences l "
        "ON l.customer_id = c.id UNION SELECT c.id FROM customers c "
        "JOIN orders o ON o.customer_id = c.id JOIN order_items i ON i.order_id = o.id "
        "JOIN licences l ON l.order_item_id = i.id UNION SELECT c.id FROM customers c "
        "JOIN marketing_preferences m ON m.customer_id = c.id) t",
        "SELECT count(*) FROM licences",
        "SELECT count(*) FROM marketing_preferences",
    ],
}
TABLES = {
    "order_items": ["shop.order_items"],
    "licences+marketing": ["shop.licences", "shop.marketing_preferences"],
    "licences+marketing, troth's walks": ["shop.licences", "shop.marketing_preferences"],
}


def build(items: int) -> sa.Engine:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {DB}")
        c.exec_driver_sql(f"CREATE DATABASE {DB}")
    admin.dispose()
    engine = sa.create_engine(PG_ADMIN.rsplit("/", 1)[0] + f"/{DB}")
    customers, orders = items // 10, items // 4
    schema = (MD / "schema.sql").read_text()
    with engine.begin() as c:
        for stmt in schema.split(";"):
            if stmt.strip():
                c.exec_driver_sql(stmt)
        c.exec_driver_sql(
            "INSERT INTO countries (code, name, embargoed) VALUES ('US', 'United States', 0)"
        )
        c.exec_driver_sql(
            "INSERT INTO customers (id, first_name, last_name, email, country, created_at) "
            "SELECT g, 'First', 'Last', 'c' || g || '@example.com', 'US', now() "
            f"FROM generate_series(1, {customers}) g"
        )
        c.exec_driver_sql(
            "INSERT INTO orders (id, customer_id, status, total, currency, created_at) "
            f"SELECT g, 1 + (g::bigint * 7919) %% {customers}, 'paid', 10, 'EUR', now() "
            f"FROM generate_series(1, {orders}) g"
        )
        c.exec_driver_sql(
            "INSERT INTO order_items (id, order_id, product_sku, quantity, unit_price) "
            f"SELECT g, 1 + (g::bigint * 104729) %% {orders}, 'SKU', 1, 10 "
            f"FROM generate_series(1, {items}) g"
        )
        c.exec_driver_sql(
            "INSERT INTO licences (id, order_item_id, customer_id, licence_key, issued_at) "
            "SELECT i.id, i.id, o.customer_id, 'KEY-' || i.id, now() FROM order_items i "
            f"JOIN orders o ON o.id = i.order_id WHERE i.id <= {customers // 10}"
        )
        c.exec_driver_sql(
            "INSERT INTO marketing_preferences (customer_id, email_opt_in, channel, updated_at) "
            f"SELECT g, 1, 'web', now() FROM generate_series(1, {customers}, 10) g"
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("VACUUM ANALYZE")
    return engine


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=7)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}")
    engine = build(args.items)
    project = load_project(MD)
    assert project.datamap is not None
    dm = project.datamap.datamap
    with engine.connect() as c:
        sizes = {
            t: c.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
            for t in ("customers", "orders", "order_items", "licences", "marketing_preferences")
        }
    print("rows:", ", ".join(f"{t} {n:,}" for t, n in sizes.items()))
    for name, tables in TABLES.items():
        ids = parse_tables(dm, tables)

        def troth(ids: list[TableId] = ids, tables: list[str] = tables) -> object:
            a = count_affected(dm, {"shop": engine}, ids)
            return (a.people["shop.customers"], *(a.rows[t] for t in tables))

        def hand(name: str = name) -> object:
            with engine.connect() as c:
                return tuple(c.exec_driver_sql(sql).scalar_one() for sql in HAND[name])

        _, t_out = timed(troth)
        _, h_out = timed(hand)
        assert t_out == h_out, (name, t_out, h_out)
        times: dict[str, list[float]] = {"troth": [], "hand": []}
        for _ in range(args.samples):  # ABAB
            times["troth"].append(timed(troth)[0])
            times["hand"].append(timed(hand)[0])
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{name}: {t_out[0]:,} people (equal to hand SQL)")
        for k, v in times.items():
            print(
                f"  {k:<5} median {med[k] * 1000:8.1f} ms ({min(v) * 1000:.1f}-{max(v) * 1000:.1f})"
            )
        print(f"  ratio troth/hand {med['troth'] / med['hand']:.2f} (target <= 1.5)")
    print(f"load average after: {os.getloadavg()}")
    engine.dispose()


if __name__ == "__main__":
    main()

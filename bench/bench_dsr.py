"""Benchmark of data-subject requests on PostgreSQL: troth vs hand-written set-based SQL.

    /work/venv/bin/python bench/bench_dsr.py                # quick: --scale 0.1
    /work/venv/bin/python bench/bench_dsr.py --scale 1      # 100k customers, 1M orders, 3M items

Erasure: ``--rounds`` (default 3) times, the three troth and three hand-SQL heavy subjects are
(re)created and erased alternately (troth, hand, troth, ...); the median of each side is shown.

Data (generated once with set-based INSERT ... SELECT generate_series, reused when present in
database ``troth_bench`` or ``troth_bench_s<scale>``): customers, two addresses each, 10 orders
each, 3 items per order; plus six heavy customers (5,000 orders, 15,000 items each: three for
troth, three for the hand SQL) and one export subject with 100,000 rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from troth.config import Settings
from troth.connectors.sql import SqlConnector
from troth.dsr import Identity, build_plan
from troth.dsr.execute import erase_store
from troth.dsr.export import CountingSink
from troth.dsr.resolve import erase_keys, resolve
from troth.dsr.stores import Stores
from troth.masking import MASKING, MaskContext

ROOT = Path(__file__).resolve().parents[1]
ADMIN = os.environ.get("TROTH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
KEY = b"bench-secret-key-0123456789abcdef"

DATAMAP = """\
troth: 1
kind: datamap
systems:
  - name: shop
    datasets:
      - name: shop
        connection: bench_db
        tables:
          - name: customers
            fields:
              - {name: id, primary_key: true}
              - {name: email, identity: email, categories: [user.contact.email], mask: hash}
              - {name: first_name, categories: [user.name], mask: redact}
              - {name: last_name, categories: [user.name], mask: redact}
              - {name: phone, categories: [user.contact.phone_number], mask: "null"}
          - name: addresses
            erase: delete_row
            fields:
              - {name: id, primary_key: true}
              - name: customer_id
                references: [{field: customers.id, direction: from}]
              - {name: street, categories: [user.contact.address.street]}
          - name: orders
            fields:
              - {name: id, primary_key: true}
              - name: customer_id
                references: [{field: customers.id, direction: from}]
              - {name: note, categories: [user.content.private], mask: redact}
          - name: order_items
            fields:
              - {name: id, primary_key: true}
              - name: order_id
                references: [{field: orders.id, direction: from}]
              - {name: gift_message, categories: [user.content.private], mask: redact}
"""

SCHEMA = [
    "CREATE TABLE customers (id BIGINT PRIMARY KEY, email VARCHAR(255) NOT NULL, "
    "first_name VARCHAR(80), last_name VARCHAR(80), phone VARCHAR(40))",
    "CREATE TABLE addresses (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL "
    "REFERENCES customers(id), street VARCHAR(200), city VARCHAR(80), zip VARCHAR(10))",
    "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL REFERENCES "
    "customers(id), status VARCHAR(20), total NUMERIC(10,2), note VARCHAR(200))",
    "CREATE TABLE order_items (id BIGINT PRIMARY KEY, order_id BIGINT NOT NULL REFERENCES "
    "orders(id), sku VARCHAR(40), qty INT, price NUMERIC(10,2), gift_message VARCHAR(200))",
]
INDEXES = [
    "CREATE INDEX ix_customers_email ON customers (email)",
    "CREATE INDEX ix_addresses_customer ON addresses (customer_id)",
    "CREATE INDEX ix_orders_customer ON orders (customer_id)",
    "CREATE INDEX ix_items_order ON order_items (order_id)",
]
SUBJECTS = [(f"heavy-t{i}", 5000) for i in (1, 2, 3)] + [(f"heavy-h{i}", 5000) for i in (1, 2, 3)]
EXPORT_SUBJECT = ("export", 24_999)  # 1 + 2 + 24,999 + 74,997 ≈ 100,000 rows


def db_url(scale: float) -> str:
    name = "troth_bench" if scale == 1 else f"troth_bench_s{str(scale).replace('.', '_')}"
    return ADMIN.rsplit("/", 1)[0] + "/" + name


def generate(url: str, customers: int) -> None:
    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1]
    with admin.connect() as c:
        if c.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).first():
            engine = sa.create_engine(url)
            with engine.connect() as d:
                ready = d.exec_driver_sql("SELECT to_regclass('bench_ready')").scalar()
            if ready:
                print(f"reusing database {name}; resetting the heavy subjects")
                with engine.begin() as d:
                    add_subjects(d, customers)
                engine.dispose()
                return
            c.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    n, o = customers, customers * 10
    t0 = time.perf_counter()
    engine = sa.create_engine(url)
    with engine.begin() as c:
        for stmt in SCHEMA:
            c.exec_driver_sql(stmt)
        c.exec_driver_sql(
            "INSERT INTO customers SELECT g, 'c' || g || '@example.com', 'Ada', 'Example', "
            f"'+1-555-01' || lpad(mod(g, 100)::text, 2, '0') FROM generate_series(1, {n}) g"
        )
        c.exec_driver_sql(
            f"INSERT INTO addresses SELECT g, 1 + mod(g, {n}), g || ' Example Street', "
            f"'Springfield', '12345' FROM generate_series(1, {2 * n}) g"
        )
        c.exec_driver_sql(
            f"INSERT INTO orders SELECT g, 1 + mod(g, {n}), 'paid', 10 + mod(g, 90), "
            f"'leave at the door' FROM generate_series(1, {o}) g"
        )
        c.exec_driver_sql(
            f"INSERT INTO order_items SELECT g, 1 + mod(g, {o}), 'SKU-' || mod(g, 12), 1, 9.99, "
            f"'Happy birthday' FROM generate_series(1, {3 * o}) g"
        )
        add_subjects(c, n)
        for stmt in INDEXES:
            c.exec_driver_sql(stmt)
        c.exec_driver_sql("CREATE TABLE bench_ready (ok INT)")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("ANALYZE")
    engine.dispose()
    print(f"generated {n:,} customers, {o:,} orders, {3 * o:,} items in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip


def add_subjects(c: sa.Connection, n: int) -> None:
    """(Re)create the heavy and export subjects after the ``n`` generated customers."""
    o = 10 * n
    c.exec_driver_sql(f"DELETE FROM order_items WHERE id > {3 * o}")
    c.exec_driver_sql(f"DELETE FROM orders WHERE id > {o}")
    c.exec_driver_sql(f"DELETE FROM addresses WHERE id > {2 * n}")
    c.exec_driver_sql(f"DELETE FROM customers WHERE id > {n}")
    cid, oid, iid, aid = n, o, 3 * o, 2 * n
    for label, orders in [*SUBJECTS, EXPORT_SUBJECT]:
        cid += 1
        c.exec_driver_sql(
            f"INSERT INTO customers VALUES ({cid}, '{label}@example.com', 'Heavy', "
            "'Example', '+1-555-0199')"
        )
        c.exec_driver_sql(
            f"INSERT INTO addresses SELECT {aid} + g, {cid}, 'Heavy Street', 'Springfield', "
            "'12345' FROM generate_series(1, 2) g"
        )
        c.exec_driver_sql(
            f"INSERT INTO orders SELECT {oid} + g, {cid}, 'paid', 20, 'ring twice' "
            f"FROM generate_series(1, {orders}) g"
        )
        c.exec_driver_sql(
            f"INSERT INTO order_items SELECT {iid} + g, {oid} + 1 + ((g - 1) / 3), 'SKU-1', "
            f"1, 9.99, 'Enjoy' FROM generate_series(1, {3 * orders}) g"
        )
        aid, oid, iid = aid + 2, oid + orders, iid + 3 * orders


def hand_access(conn: sa.Connection, email: str) -> int:
    rows = 0
    for sql in (
        "SELECT * FROM customers WHERE email = %(e)s",
        "SELECT a.* FROM addresses a JOIN customers c ON a.customer_id = c.id WHERE c.email = %(e)s",
        "SELECT o.* FROM orders o JOIN customers c ON o.customer_id = c.id WHERE c.email = %(e)s",
        "SELECT i.* FROM order_items i JOIN orders o ON i.order_id = o.id "
        "JOIN customers c ON o.customer_id = c.id WHERE c.email = %(e)s",
    ):
        rows += len([dict(r._mapping) for r in conn.exec_driver_sql(sql, {"e": email})])
    return rows


def hand_erase(engine: sa.Engine, email: str) -> None:
    meta = sa.MetaData()
    cols = ("id", "email", "first_name", "last_name", "phone", "customer_id", "note")
    t = {name: sa.table(name, *(sa.column(c) for c in (*cols, "order_id", "gift_message")))
         for name in ("customers", "addresses", "orders", "order_items")}  # fmt: skip
    del meta
    ctx = MaskContext(key=KEY, dialect="postgresql", category="user.contact.email", max_length=255)
    redact = MASKING.get("redact")
    cust = sa.select(t["customers"].c.id).where(t["customers"].c.email == email).scalar_subquery()
    orders = sa.select(t["orders"].c.id).where(t["orders"].c.customer_id == cust)
    c, o, i, a = t["customers"], t["orders"], t["order_items"], t["addresses"]
    with engine.begin() as conn:
        conn.execute(
            sa.update(i).where(i.c.order_id.in_(orders))
            .values(gift_message=redact.sql(i.c.gift_message, ctx))
        )  # fmt: skip
        conn.execute(
            sa.update(o).where(o.c.customer_id == cust).values(note=redact.sql(o.c.note, ctx))
        )
        conn.execute(sa.delete(a).where(a.c.customer_id == cust))
        conn.execute(
            sa.update(c)
            .where(c.c.email == email)
            .values(
                email=MASKING.get("hash").sql(c.c.email, ctx),
                first_name=redact.sql(c.c.first_name, ctx),
                last_name=redact.sql(c.c.last_name, ctx),
                phone=None,
            )
        )


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def export_rss(url: str, email: str) -> tuple[float, int]:
    """Peak RSS (MB) of a process running the full access request with its zip export."""
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        (project / "policy.yaml").write_text((ROOT / "tests/fixtures/shop/policy.yaml").read_text())
        (project / "datamap.yaml").write_text(DATAMAP)
        code = textwrap.dedent(f"""
            import resource
            from pathlib import Path
            from troth.dsr import Identity, access
            r = access({str(project)!r}, [Identity("email", {email!r})],
                       output=Path({tmp!r}) / "export.zip")
            assert r.status == "completed", r.request
            print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, r.rows())
        """)
        env = {**os.environ, "TROTH_HOME": f"{tmp}/home", "TROTH_SECRET_KEY": KEY.decode(),
               "TROTH_CONN_BENCH_DB": url, "PYTHONPATH": str(ROOT / "src")}  # fmt: skip
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        return int(out[0]) / 1024, int(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.1, help="1 = 100k customers")
    parser.add_argument("--samples", type=int, default=50, help="typical customers to access")
    parser.add_argument(
        "--rounds", type=int, default=3, help="erasure rounds (3 heavy subjects each side)"
    )
    args = parser.parse_args()
    customers = int(100_000 * args.scale)
    url = db_url(args.scale)
    generate(url, customers)
    datamap = _load_map()
    access_plan = build_plan(datamap, ["email"], "access")
    erase_plan = build_plan(datamap, ["email"], "erase")
    connector = SqlConnector(url, "bench_db")
    stores = Stores(connectors={"bench_db": connector})
    engine = sa.create_engine(url)
    emails = [f"c{1 + (i * 7919) % customers}@example.com" for i in range(args.samples)]

    def troth_access(email: str) -> int:
        sink = CountingSink()
        resolve(access_plan, stores, [Identity("email", email)], sink=sink)
        return sink.rows

    with engine.connect() as conn:
        for e in emails[:5]:  # warm up both paths
            troth_access(e)
            hand_access(conn, e)
        t_typ = statistics.median(timed(lambda e=e: troth_access(e)) for e in emails)
        h_typ = statistics.median(timed(lambda e=e: hand_access(conn, e)) for e in emails)
        heavy = "heavy-t1@example.com"
        t_heavy = statistics.median(timed(lambda: troth_access(heavy)) for _ in range(5))
        h_heavy = statistics.median(timed(lambda: hand_access(conn, heavy)) for _ in range(5))
        assert troth_access(heavy) == hand_access(conn, heavy) == 1 + 2 + 5000 + 15000

    def troth_erase(email: str) -> None:
        res = resolve(erase_plan, stores, [Identity("email", email)])
        keys = erase_keys(erase_plan, res.keys)
        erase_store(
            datamap, erase_plan, "bench_db", connector, stores.schema("bench_db"), keys, KEY
        )

    stores.schema("bench_db")  # read once per run, as the API does
    t_runs: list[float] = []
    h_runs: list[float] = []
    for rnd in range(args.rounds):
        if rnd:  # fresh heavy subjects for the next round
            with engine.begin() as c:
                add_subjects(c, customers)
        for i in (1, 2, 3):  # alternate, so that both see the same load on the machine
            t_runs.append(timed(lambda i=i: troth_erase(f"heavy-t{i}@example.com")))
            h_runs.append(timed(lambda i=i: hand_erase(engine, f"heavy-h{i}@example.com")))
    t_erase, h_erase = statistics.median(t_runs), statistics.median(h_runs)
    rss, rows = export_rss(url, f"{EXPORT_SUBJECT[0]}@example.com")
    rows_line = f"{customers:,} customers, {customers * 10:,} orders, {customers * 30:,} items"
    print(f"\nPostgreSQL, {rows_line}")
    print(f"{'measure':<42}{'troth':>10}{'hand SQL':>10}{'ratio':>8}  target")
    for label, t, h, target in [
        (f"access, typical customer (median of {len(emails)})", t_typ, h_typ, "troth ≤ 10 ms"),
        ("access, heavy customer (20,003 rows)", t_heavy, h_heavy, "≤ 2×"),
        (f"erasure, heavy customer (median of {len(t_runs)})", t_erase, h_erase, "≤ 1.5×"),
    ]:
        print(f"{label:<42}{t:>8.1f}ms{h:>8.1f}ms{t / h:>7.2f}×  {target}")
    print(f"{'access export, peak RSS (' + format(rows, ',') + ' rows)':<42}{rss:>8.1f}MB"
          f"{'':>18}  ≤ 150 MB")  # fmt: skip
    connector.close()
    engine.dispose()


def _load_map() -> Any:
    from troth.datamap.loader import load_datamap

    return load_datamap("datamap.yaml", None, text=DATAMAP).datamap


if __name__ == "__main__":
    Settings  # noqa: B018 (imported for type users of this script)
    main()

"""``troth discover`` on a large PostgreSQL table (not a test).

Builds (once, reused) a database ``troth_bench_discover`` with a table ``events`` of ``--rows``
rows (generate_series: an e-mail per row, a free-text note with a card number in one row of 50,
a timestamp, an amount) and two tables ``full_small`` / ``full_large`` for full scans. The map
declares ``events`` without its ``note`` column, so the expected proposal is known.

* sampled: ``discover()`` with the default sampling (500 rows in 10 strata of the key), timed
  over ``--rounds`` runs (median, min, max) and checked to propose exactly ``events.note``;
* full scan: each full-scan table is read whole (streamed) in a fresh process, which prints its
  peak RSS: equal peaks for a table 5x larger show the scan's memory does not grow with it.

    PYTHONPATH=src .venv/bin/python bench/bench_discover_store.py                 # 10M rows
    PYTHONPATH=src .venv/bin/python bench/bench_discover_store.py --rows 1000000  # quick
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import textwrap
import time

import sqlalchemy as sa

ADMIN = os.environ.get("TROTH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DB = "troth_bench_discover"
URL = ADMIN.rsplit("/", 1)[0] + "/" + DB

MAP = """\
troth: 1
kind: datamap
systems:
  - name: bench
    datasets:
      - name: bench
        connection: bench
        tables:
          - name: events
            fields:
              - {name: id, primary_key: true}
              - {name: email, categories: [user.contact.email], identity: email}
              - {name: created_at}
              - {name: amount}
"""


def _fill(table: str, rows: int, db: sa.Connection) -> None:
    db.exec_driver_sql(
        f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, email TEXT, note TEXT, "
        "created_at TIMESTAMP, amount NUMERIC(10, 2))"
    )
    db.exec_driver_sql(
        f"INSERT INTO {table} SELECT g, 'user' || g || '@example.com', "
        "CASE WHEN mod(g, 50) = 0 THEN 'Customer says card 4111 1111 1111 1111 was charged twice, '"
        " || 'please refund the order today' ELSE 'Customer asked about the licence of order '"
        " || g || ' and the download link' END, "
        "timestamp '2024-01-01' + g * interval '1 second', mod(g, 1000) / 10.0 "
        f"FROM generate_series(1, {rows}) g"
    )
    db.exec_driver_sql(f"VACUUM ANALYZE {table}")


def setup(rows: int, small: int) -> None:
    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if not c.exec_driver_sql(f"SELECT 1 FROM pg_database WHERE datname = '{DB}'").first():
            c.exec_driver_sql(f'CREATE DATABASE "{DB}"')
    admin.dispose()
    engine = sa.create_engine(URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as db:
        for table, n in (("events", rows), ("full_small", small), ("full_large", small * 5)):
            have = db.exec_driver_sql(
                f"SELECT reltuples::bigint FROM pg_class WHERE relname = '{table}'"
            ).scalar()
            if have is None or abs(int(have) - n) > n // 100:
                db.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
                t0 = time.perf_counter()
                _fill(table, n, db)
                print(f"built {table} ({n:,} rows) in {time.perf_counter() - t0:.1f} s")
    engine.dispose()


def sampled(rounds: int) -> None:
    from troth.connectors.base import connect
    from troth.datamap.loader import load_datamap
    from troth.discovery.discover import discover

    dm = load_datamap("datamap.yaml", text=MAP)
    times = []
    for _ in range(rounds):
        conn = connect(URL, "bench")
        try:
            t0 = time.perf_counter()
            report = discover(dm.datamap, {"bench": conn})
            times.append(time.perf_counter() - t0)
        finally:
            conn.close()
        drift = sorted((d.kind.value, d.table, d.column) for d in report.drift)
        events = [(k, c) for k, t, c in drift if t == "events"]
        assert events == [("new_column", "note")], drift
    rows = next(t.rows for t in report.tables if t.table == "events")
    print(
        f"sampled discover (all 3 tables, {rows} rows read from events): median "
        f"{statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f}); "
        f"proposal: events.note"
    )


CHILD = textwrap.dedent(
    """
    import resource, sys, time
    from troth.connectors.base import connect
    from troth.discovery.discover import scan_table
    from troth.discovery.sample import Sampling
    conn = connect(sys.argv[1], "bench")
    table = conn.introspect().table(sys.argv[2])
    t0 = time.perf_counter()
    rows, cols = scan_table(conn, table, Sampling(full=True))
    secs = time.perf_counter() - t0
    note = next(c for c in cols if c.column == "note")
    print(rows, round(secs, 1), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
          note.found.get("user.financial.credit_card", 0))
    """
)


def full_scans() -> None:
    for table in ("full_small", "full_large"):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, URL, table],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": "src"},
        ).stdout.split()
        rows, secs, rss, cards = int(out[0]), float(out[1]), int(out[2]), int(out[3])
        print(
            f"full scan of {table}: {rows:,} rows in {secs:.1f} s ({rows / secs:,.0f} rows/s), "
            f"peak RSS {rss} MiB, card numbers found in {cards:,} notes"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--full-rows", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    print(f"load {os.getloadavg()}")
    setup(args.rows, args.full_rows)
    sampled(args.rounds)
    full_scans()
    print(
        f"load {os.getloadavg()}; this process peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB"
    )


if __name__ == "__main__":
    main()

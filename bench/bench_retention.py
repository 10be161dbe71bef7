"""Retention sweep vs a hand-written batched DELETE on PostgreSQL (not a test).

Two identical tables of ``--rows`` sessions (10 % of them expired, the oldest, as in real data where
ids grow with time) are generated set-based (generate_series) into a reusable database
``troth_bench_retention``, then VACUUM ANALYZE and CHECKPOINT (hint bits, visibility map,
statistics and dirty pages settled before anything is timed). The troth sweeper deletes the expired
rows of one; a hand-written keyset-batched ``DELETE ... WHERE id IN (SELECT ... LIMIT n)`` deletes
the same rows of the other. Each round times both, in alternating order (round 1 troth first,
round 2 the hand-written one first), then puts the deleted rows back in both tables (same
INSERT, VACUUM ANALYZE, CHECKPOINT), so neither contender always gets the colder cache. The ratio
of the summed times and the longest batch (the longest time any lock is held by one transaction)
are printed.

    PYTHONPATH=src /work/venv/bin/python bench/bench_retention.py --rows 10000000
    PYTHONPATH=src /work/venv/bin/python bench/bench_retention.py --rows 1000000   # quick
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from troth.project import load_project
from troth.retention import Sweeper, open_stores
from troth.store import open_store

ADMIN = os.environ.get("TROTH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DB = "troth_bench_retention"
NOW = datetime(2026, 6, 1)
POLICY_RULE = "sessions"

DATAMAP = """troth: 1
kind: datamap
systems:
  - name: bench
    datasets:
      - name: bench
        connection: bench
        tables:
          - name: customers
            subject: customer
            fields:
              - {name: id, primary_key: true}
              - {name: email, categories: [user.contact.email], identity: email}
          - name: sessions
            subject: customer
            fields:
              - {name: id, primary_key: true}
              - name: customer_id
                references: [{field: customers.id, direction: from}]
              - {name: ip_address, categories: [user.device.ip_address]}
              - {name: started_at, retention_timestamp: true}
"""


def url(db: str) -> str:
    return ADMIN.rsplit("/", 1)[0] + f"/{db}"


def insert_sql(table: str, first: int, last: int, expired: int) -> str:
    return (
        f"INSERT INTO {table} SELECT g, 1 + g %% 1000, '10.0.' || (g %% 250) || '.1', "
        f"CASE WHEN g <= {expired} THEN TIMESTAMP '2026-01-01' + g * INTERVAL '1 millisecond' "
        f"ELSE TIMESTAMP '2026-05-20' + g * INTERVAL '1 millisecond' END "
        f"FROM generate_series({first}, {last}) g"
    )


def settle(engine: sa.Engine) -> None:
    """Same starting conditions for both tables: hint bits, statistics, no dirty pages."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("VACUUM ANALYZE")
        c.exec_driver_sql("CHECKPOINT")


def restore(rows: int) -> None:
    """Put the deleted (expired) rows back in both tables, as the generation wrote them."""
    engine = sa.create_engine(url(DB))
    with engine.begin() as c:
        for table in ("sessions", "sessions_hand"):
            c.exec_driver_sql(insert_sql(table, 1, rows // 10, rows // 10))
    settle(engine)
    engine.dispose()


def prepare(rows: int) -> None:
    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if not c.exec_driver_sql(f"SELECT 1 FROM pg_database WHERE datname = '{DB}'").first():
            c.exec_driver_sql(f'CREATE DATABASE "{DB}"')
    admin.dispose()
    engine = sa.create_engine(url(DB))
    expired = rows // 10
    t0 = time.perf_counter()
    with engine.begin() as c:
        c.exec_driver_sql("DROP TABLE IF EXISTS sessions, sessions_hand, customers")
        c.exec_driver_sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
        c.exec_driver_sql(
            "INSERT INTO customers SELECT g, 'c' || g || '@example.test' "
            "FROM generate_series(1, 1000) g"
        )
        for table in ("sessions", "sessions_hand"):
            c.exec_driver_sql(
                f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, customer_id INTEGER NOT NULL "
                f"REFERENCES customers(id), ip_address VARCHAR(45), started_at TIMESTAMP NOT NULL)"
            )
            # the oldest 10 % are older than 30 days before NOW; the rest are recent
            c.exec_driver_sql(insert_sql(table, 1, rows, expired))
            c.exec_driver_sql(f"CREATE INDEX ON {table} (started_at)")
    settle(engine)
    engine.dispose()
    print(
        f"generated 2 x {rows:,} rows ({expired:,} expired each) in {time.perf_counter() - t0:.1f} s"
    )


def hand_written(batch: int) -> tuple[float, int, float]:
    engine = sa.create_engine(url(DB))
    cutoff = datetime(2026, 5, 2)
    total, longest, last = 0, 0.0, 0
    t0 = time.perf_counter()
    while True:
        b0 = time.perf_counter()
        with engine.begin() as c:
            got = (
                c.execute(
                    sa.text(
                        "DELETE FROM sessions_hand WHERE id IN (SELECT id FROM sessions_hand "
                        "WHERE id > :last AND started_at < :cutoff ORDER BY id LIMIT :n) RETURNING id"
                    ),
                    {"last": last, "cutoff": cutoff, "n": batch},
                )
                .scalars()
                .all()
            )
        longest = max(longest, time.perf_counter() - b0)
        if not got:
            break
        total += len(got)
        last = max(got)
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return elapsed, total, longest * 1000


def troth_sweep(batch: int, workdir: Path) -> tuple[float, int, float, int]:
    proj = workdir / "proj"
    proj.mkdir(exist_ok=True)
    policy = (Path(__file__).parent.parent / "tests/fixtures/retention/policy.yaml").read_text()
    (proj / "policy.yaml").write_text(policy)
    (proj / "datamap.yaml").write_text(DATAMAP)
    os.environ["TROTH_CONN_BENCH"] = url(DB)
    os.environ["TROTH_HOME"] = str(workdir / "home")  # the ledger key and anchor of this run
    state = open_store(f"sqlite:///{workdir / 'state.db'}")
    project = load_project(proj)
    with open_stores() as stores:
        t0 = time.perf_counter()
        report = Sweeper(
            project,
            stores,
            state,
            key=b"bench-key-0123456789abcdef",
            rules=[POLICY_RULE],
            batch_size=batch,
            now=NOW,
        ).run()
        elapsed = time.perf_counter() - t0
    r = next(r for r in report.results if r.table == "sessions")
    return elapsed, r.deleted, r.longest_batch_ms, r.batches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=2, help="alternating order (default 2)")
    ap.add_argument("--reuse", action="store_true", help="do not regenerate the data")
    args = ap.parse_args()
    if not args.reuse:
        prepare(args.rows)
    sums = {"troth": 0.0, "hand": 0.0}
    longest = {"troth": 0.0, "hand": 0.0}
    for rnd in range(args.rounds):
        if rnd:
            restore(args.rows)
        order = ("troth", "hand") if rnd % 2 == 0 else ("hand", "troth")
        times: dict[str, float] = {}
        for who in order:
            if who == "troth":
                with tempfile.TemporaryDirectory() as tmp:
                    t, n_troth, ms, batches = troth_sweep(args.batch_size, Path(tmp))
            else:
                t, n_hand, ms = hand_written(args.batch_size)
            times[who] = t
            sums[who] += t
            longest[who] = max(longest[who], ms)
        assert n_troth == n_hand, (n_troth, n_hand)
        print(
            f"round {rnd + 1} ({order[0]} first): troth {times['troth']:6.2f} s "
            f"({batches} batches), hand-written {times['hand']:6.2f} s, "
            f"ratio {times['troth'] / times['hand']:.2f}x"
        )
    print(f"rows: {args.rows:,}, expired: {n_troth:,}, batch size: {args.batch_size}")
    print(
        f"troth sweep:         {sums['troth']:7.2f} s over {args.rounds} round(s) "
        f"(longest batch {longest['troth']:.0f} ms)"
    )
    print(
        f"hand-written DELETE: {sums['hand']:7.2f} s over {args.rounds} round(s) "
        f"(longest batch {longest['hand']:.0f} ms)"
    )
    print(
        f"ratio troth / hand:  {sums['troth'] / sums['hand']:.2f}x (target <= 1.3x); "
        f"longest batch {max(longest.values()):.0f} ms (target < 1000 ms)"
    )


if __name__ == "__main__":
    main()

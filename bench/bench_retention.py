"""Retention sweep vs a hand-written batched DELETE on PostgreSQL (not a test).

Two identical tables of ``--rows`` sessions (10 % of them expired, the oldest, as in real data where
ids grow with time) are generated set-based (generate_series) into a reusable database
``troth_bench_retention``, then VACUUM ANALYZE and CHECKPOINT (hint bits, visibility map,
statistics and dirty pages settled before anything is timed). The troth sweeper deletes the expired
rows of one; a hand-written keyset-batched ``DELETE ... WHERE id IN (SELECT ... LIMIT n)`` deletes
the same rows of the other, bounded the way troth bounds itself (one count reads the lowest and
highest expired id; the keyset starts at the first and stops at the last). Each round times both,
alternating who goes first (round 1 troth, round 2 the hand-written one, ...), then puts the
deleted rows back in both tables (same INSERT, VACUUM ANALYZE, CHECKPOINT), so neither contender
always gets the colder cache. The ratio of the summed times, the median of the per-round ratios
and the longest batch (the longest time any lock is held by one transaction) are printed.

    PYTHONPATH=src .venv/bin/python bench/bench_retention.py --rows 10000000 --rounds 6
    PYTHONPATH=src .venv/bin/python bench/bench_retention.py --rows 1000000   # quick
"""

from __future__ import annotations

import argparse
import os
import statistics
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
#: troth's table, the hand-written DELETE's, the hand-written one-statement CTE's
TABLES = ("sessions", "sessions_hand", "sessions_cte")
HAND_SQL = {
    # what one writes first: DELETE ... WHERE id IN (SELECT ... LIMIT n)
    "hand": "DELETE FROM sessions_hand WHERE id IN (SELECT id FROM sessions_hand "
    "WHERE {start} AND id <= :hi AND started_at < :cutoff ORDER BY id LIMIT :n) RETURNING id",
    # troth's shape on PostgreSQL, by hand: the batch as a CTE, the DELETE by its keys, and only
    # the batch's last key and size back to the client
    "cte": "WITH batch AS (SELECT id FROM sessions_cte WHERE {start} AND id <= :hi "
    "AND started_at < :cutoff ORDER BY id LIMIT :n), done AS (DELETE FROM sessions_cte WHERE id "
    "IN (SELECT id FROM batch) AND started_at < :cutoff RETURNING id) "
    "SELECT max(id), count(*) FROM done",
}

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
                references: [{field: customers.id, kind: owns}]
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
        for table in TABLES:
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
        c.exec_driver_sql(f"DROP TABLE IF EXISTS {', '.join(TABLES)}, customers")
        c.exec_driver_sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
        c.exec_driver_sql(
            "INSERT INTO customers SELECT g, 'c' || g || '@example.test' "
            "FROM generate_series(1, 1000) g"
        )
        for table in TABLES:
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
        f"generated {len(TABLES)} x {rows:,} rows ({expired:,} expired each) in {time.perf_counter() - t0:.1f} s"
    )


def hand_written(batch: int, kind: str) -> tuple[float, int, float]:
    """The same rows by hand, bounded the way troth bounds itself: one count reads the lowest and
    highest expired key, the keyset starts at the first and stops at the last (no walk through
    the unexpired rest of the table for an empty last batch)."""
    engine = sa.create_engine(url(DB))
    cutoff = datetime(2026, 5, 2)
    total, longest = 0, 0.0
    t0 = time.perf_counter()
    with engine.connect() as c:
        lo, hi = c.execute(
            sa.text(
                f"SELECT min(id), max(id) FROM {TABLES[1 + (kind == 'cte')]} "
                "WHERE started_at < :cutoff"
            ),
            {"cutoff": cutoff},
        ).one()
    first, last = True, lo
    while lo is not None:
        b0 = time.perf_counter()
        start = "id >= :last" if first else "id > :last"
        params = {"last": last, "hi": hi, "cutoff": cutoff, "n": batch}
        with engine.begin() as c:
            result = c.execute(sa.text(HAND_SQL[kind].format(start=start)), params)
            if kind == "cte":
                top, n = result.one()
            else:
                got = result.scalars().all()
                top, n = (max(got) if got else None), len(got)
        longest = max(longest, time.perf_counter() - b0)
        if not n:
            break
        total += n
        first, last = False, top
        if n < batch or last == hi:
            break
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
    ap.add_argument("--rounds", type=int, default=4, help="alternating order (default 4)")
    ap.add_argument("--reuse", action="store_true", help="do not regenerate the data")
    args = ap.parse_args()
    if not args.reuse:
        prepare(args.rows)
    who = ("troth", "hand", "cte")
    sums = dict.fromkeys(who, 0.0)
    per_round: dict[str, list[float]] = {name: [] for name in who}
    ratios: dict[str, list[float]] = {"hand": [], "cte": []}
    longest = dict.fromkeys(who, 0.0)
    for rnd in range(args.rounds):
        if rnd:
            restore(args.rows)
        order = who[rnd % 3 :] + who[: rnd % 3]  # each goes first in turn
        times: dict[str, float] = {}
        done: dict[str, int] = {}
        for name in order:
            if name == "troth":
                with tempfile.TemporaryDirectory() as tmp:
                    t, done[name], ms, batches = troth_sweep(args.batch_size, Path(tmp))
            else:
                t, done[name], ms = hand_written(args.batch_size, name)
            times[name] = t
            sums[name] += t
            per_round[name].append(t)
            longest[name] = max(longest[name], ms)
        assert len(set(done.values())) == 1, done
        for name in ("hand", "cte"):
            ratios[name].append(times["troth"] / times[name])
        print(
            f"round {rnd + 1} ({order[0]} first): troth {times['troth']:6.2f} s "
            f"({batches} batches), hand-written IN {times['hand']:6.2f} s, "
            f"hand-written CTE {times['cte']:6.2f} s"
        )
    print(f"rows: {args.rows:,}, expired: {done['troth']:,}, batch size: {args.batch_size}")
    labels = {"troth": "troth sweep", "hand": "hand-written IN", "cte": "hand-written CTE"}
    for name in who:
        print(
            f"{labels[name]:17} {sums[name]:7.2f} s over {args.rounds} round(s), "
            f"median {statistics.median(per_round[name]):.2f} s/round "
            f"(longest batch {longest[name]:.0f} ms)"
        )
    for name in ("hand", "cte"):
        print(
            f"troth / {labels[name]}: {sums['troth'] / sums[name]:.2f}x summed, "
            f"{statistics.median(ratios[name]):.2f}x median of rounds (target <= 1.3x)"
        )
    print(f"longest batch {max(longest.values()):.0f} ms (target < 1000 ms)")


if __name__ == "__main__":
    main()

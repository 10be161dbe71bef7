"""Benchmark of the disclosure gateway (a script, not a test).

    PYTHONPATH=src .venv/bin/python bench/bench_disclosure.py [--samples 7] [--batch 10000]

Per state engine (SQLite file, PostgreSQL), samples alternate troth and a hand-written baseline:

* troth: ``Gateway.disclose_many`` of ``--batch`` AUTODIGI contacts to the courier (PL-8): policy
  minimisation, keyed subject hash, register rows and one sealing ledger entry per 5,000;
* hand: the same minimisation with a fixed allow-list, the same HMAC, and the same narrow rows
  inserted with ``executemany`` into a plain table of the same database (no policy, no ledger).

Reported: disclosures/s (median, min-max over the samples) by wall clock and by the process's CPU
time (one core), and the load average. The records are built before the clock starts.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from troth.config import Settings
from troth.project import load_project
from troth.sharing import Gateway
from troth.store import open_store

ROOT = Path(__file__).resolve().parent.parent
PLUS = ROOT / "examples" / "plus"
PG_ADMIN = os.environ.get("TROTH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
KEY = b"bench-secret-key-0123456789abcdef"
ALLOWED = ("street", "city", "zip", "country")


def contacts(n: int, tag: str) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "account_id": i % 97,
            "first_name": f"First{i}",
            "last_name": f"Last{i}",
            "email": f"contact{i}.{tag}@example.com",
            "phone": f"+1 555 01{i % 100:02d}",
            "street": f"{i} Elm Street",
            "city": "Springfield",
            "zip": f"{55500 + i % 99}",
            "country": "US",
            "created_at": "2026-01-01T00:00:00",
        }
        for i in range(n)
    ]


def hand(engine: sa.Engine) -> Callable[[list[dict[str, Any]]], None]:
    """Minimise by a fixed allow-list, hash the e-mail, insert narrow rows: no policy, no ledger."""
    with engine.begin() as c:
        c.exec_driver_sql(
            "CREATE TABLE hand_disclosure (id BIGSERIAL PRIMARY KEY, batch VARCHAR(32), n INTEGER, "
            "subject VARCHAR(80), shape INTEGER)"
            if engine.dialect.name == "postgresql"
            else "CREATE TABLE hand_disclosure (id INTEGER PRIMARY KEY, batch VARCHAR(32), "
            "n INTEGER, subject VARCHAR(80), shape INTEGER)"
        )
        c.exec_driver_sql("CREATE INDEX ix_hand_subject ON hand_disclosure (subject)")
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO hand_disclosure (batch, n, subject, shape) VALUES ({mark}, {mark}, {mark}, {mark})"
    base = hmac.new(KEY, digestmod=hashlib.sha256)

    def run(records: list[dict[str, Any]]) -> None:
        rows = []
        out = []
        for start in range(0, len(records), 5000):
            batch = uuid.uuid4().hex
            for n, r in enumerate(records[start : start + 5000]):
                h = base.copy()
                h.update(f"email:{r['email'].strip().lower()}".encode())
                rows.append((batch, n, "h:" + h.hexdigest(), 0))
                out.append({k: r[k] for k in ALLOWED})
        with engine.begin() as c:
            for start in range(0, len(rows), 5000):
                c.exec_driver_sql(sql, rows[start : start + 5000])

    return run


def measure(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return n / (time.perf_counter() - w0), n / max(time.process_time() - c0, 1e-9)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):>9,.0f}/s ({min(values):,.0f}-{max(values):,.0f})"


def bench(label: str, url: str, samples: int, batch: int, home: Path) -> None:
    settings = Settings.from_env(
        {"TROTH_HOME": str(home), "TROTH_SECRET_KEY": KEY.decode(), "TROTH_DATABASE_URL": url}
    )
    project = load_project(PLUS)
    assert project.datamap is not None
    engine = open_store(settings)
    gw = Gateway(project.policy.policy, project.datamap.datamap, engine, key=KEY)
    baseline = hand(engine)
    gw.disclose_many("courier_service", "courier_delivery", contacts(100, "warm"))
    results: dict[str, list[float]] = {"troth wall": [], "troth cpu": [], "hand wall": [],
                                       "hand cpu": []}  # fmt: skip
    for s in range(samples):
        records = contacts(batch, f"t{s}")
        w, c = measure(
            lambda r=records: gw.disclose_many("courier_service", "courier_delivery", r), batch
        )
        results["troth wall"].append(w)
        results["troth cpu"].append(c)
        records = contacts(batch, f"h{s}")
        w, c = measure(lambda r=records: baseline(r), batch)
        results["hand wall"].append(w)
        results["hand cpu"].append(c)
    print(f"{label}: {samples} samples of {batch:,} disclosures, load {os.getloadavg()[0]:.2f}")
    for name, values in results.items():
        print(f"  {name:<11} {spread(values)}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=7)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--only", default="sqlite,postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in args.only:
            url = f"sqlite:///{Path(tmp) / 'state.db'}"
            bench("SQLite", url, args.samples, args.batch, Path(tmp) / "home-sqlite")
        if "postgres" in args.only:
            name = f"troth_bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.exec_driver_sql(f'CREATE DATABASE "{name}"')
            try:
                url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
                bench("PostgreSQL", url, args.samples, args.batch, Path(tmp) / "home-pg")
            finally:
                with admin.connect() as c:
                    c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.dispose()


if __name__ == "__main__":
    main()

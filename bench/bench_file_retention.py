"""Benchmark of retention on a file set (a script, not a test).

    PYTHONPATH=src .venv/bin/python bench/bench_file_retention.py [--files 20] [--rows 100000]

Writes ``--files`` Parquet files of ``--rows`` rows each (an e-mail, a timestamp); every other
file holds rows older than the rule's one-year period (one in ten of its rows). Then, timed:
``sweep_files`` as a dry run (one DuckDB count per file), and the sweep (the files holding an old
row rewritten atomically: temp file, fsync, rename). Reported: rows scanned per second, rows
deleted, files rewritten, and the load average.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path

import duckdb
import yaml

from troth.datamap.model import DataMap
from troth.policy.model import Policy
from troth.retention.files import bind_files, sweep_files

ROOT = Path(__file__).resolve().parent.parent
PLUS = ROOT / "examples" / "plus"
NOW = datetime(2026, 6, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    policy = yaml.safe_load((PLUS / "policy.yaml").read_text())
    policy["retention"] = [{"id": "lake_rows", "name": "Lake rows", "period": "1 year",
                            "categories": ["user.contact.email"], "trigger": "collection",
                            "action": "delete"}]  # fmt: skip
    datamap = yaml.safe_load((PLUS / "datamap.yaml").read_text())
    datamap["filesets"] = [{"name": "lake", "connection": "lake", "tables": [
        {"name": "events", "path": "events/*.parquet", "format": "parquet", "fields": [
            {"name": "email", "identity": "email", "categories": ["user.contact.email"]},
            {"name": "created_at", "retention_timestamp": True}]}]}]  # fmt: skip
    bindings = bind_files(Policy.model_validate(policy), DataMap.model_validate(datamap))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "lake"
        (folder / "events").mkdir(parents=True)
        db = duckdb.connect()
        for n in range(args.files):
            old = "CASE WHEN i % 10 = 0 THEN TIMESTAMP '2024-01-01' ELSE TIMESTAMP '2026-01-01' END"
            stamp = old if n % 2 == 0 else "TIMESTAMP '2026-01-01'"
            db.execute(
                f"COPY (SELECT 'person' || i || '@example.com' AS email, {stamp} AS created_at "
                f"FROM range({args.rows}) t(i)) TO '{folder}/events/part-{n}.parquet' "
                "(FORMAT parquet)"
            )
        env = {"TROTH_CONN_LAKE": folder.as_uri()}
        total = args.files * args.rows
        t0 = time.perf_counter()
        [dry] = sweep_files(bindings, NOW, None, env=env, dry_run=True)
        t1 = time.perf_counter()
        [done] = sweep_files(bindings, NOW, None, env=env)
        t2 = time.perf_counter()
    print(f"rows: {total:,} in {args.files} files; load average {os.getloadavg()[0]:.2f}")
    print(f"dry run: {t1 - t0:.2f} s ({total / (t1 - t0):,.0f} rows/s), {dry['rows']:,} old rows")
    print(f"sweep:   {t2 - t1:.2f} s ({total / (t2 - t1):,.0f} rows/s), deleted {done['rows']:,} "
          f"rows, rewrote {done['files']} files")  # fmt: skip


if __name__ == "__main__":
    main()

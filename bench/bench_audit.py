"""Benchmark of the audit ledger on SQLite (a script, not a test).

    /work/venv/bin/python bench/bench_audit.py [--entries 1000000] [--append 100000]

Figures: batched appends (entries/s), single appends (one transaction each), building a ledger of
``--entries`` entries with append_many in batches of 10k, verify, export, verify the export.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from troth.audit import Event, Ledger, export, verify, verify_file
from troth.store import open_store


def events(n: int, start: int = 0) -> list[Event]:
    return [
        Event(
            "consent.given",
            {"purpose": "marketing", "request_id": f"r{start + i}", "version": 3},
            "api-key:bench",
            "h:" + "ab" * 32,
        )
        for i in range(n)
    ]


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--entries", type=int, default=1_000_000, help="size of the verified ledger")
    ap.add_argument("--append", type=int, default=100_000, help="entries for the append figure")
    ap.add_argument("--batch", type=int, default=1_000, help="batch size for the append figure")
    ap.add_argument("--single", type=int, default=2_000, help="one-transaction appends")
    ap.add_argument("--dir", type=Path, default=None, help="folder for the SQLite files")
    args = ap.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="troth-bench-"))
    os.environ["TROTH_HOME"] = str(folder / "home")  # the ledger key and anchor of this run
    rows: list[tuple[str, str, str]] = []

    # 1. batched appends
    ledger = Ledger(open_store(f"sqlite:///{folder / 'append.db'}"))
    batches = [events(args.batch, i) for i in range(0, args.append, args.batch)]
    secs = timed(lambda: [ledger.append_many(b) for b in batches])
    rows.append(
        (f"append_many, {args.append:,} entries in batches of {args.batch:,}", f"{secs:.2f} s",
         f"{args.append / secs:,.0f} entries/s")
    )  # fmt: skip

    # 2. single appends, one transaction each
    one = events(args.single)
    secs = timed(lambda: [ledger.append(e.kind, e.data, actor=e.actor) for e in one])
    rows.append(
        (f"append, {args.single:,} entries, one transaction each", f"{secs:.2f} s",
         f"{args.single / secs:,.0f} entries/s")
    )  # fmt: skip

    # 3. build a big ledger, then verify and export it
    engine = open_store(f"sqlite:///{folder / 'big.db'}")
    big = Ledger(engine)
    step = 10_000

    def build() -> None:
        for start in range(0, args.entries, step):
            big.append_many(events(min(step, args.entries - start), start))

    secs = timed(build)
    rows.append(
        (f"build {args.entries:,} entries (append_many, batches of 10k)", f"{secs:.2f} s",
         f"{args.entries / secs:,.0f} entries/s")
    )  # fmt: skip
    result = None

    def run_verify() -> None:
        nonlocal result
        result = verify(engine)

    secs = timed(run_verify)
    if result is None or not result.ok or result.checked != args.entries:
        raise SystemExit(f"verify failed: {result}")
    rows.append(
        (f"verify {args.entries:,} entries", f"{secs:.2f} s",
         f"{args.entries / secs:,.0f} entries/s")
    )  # fmt: skip
    out = folder / "big.jsonl"
    secs = timed(lambda: export(engine, out))
    rows.append(
        (f"export {args.entries:,} entries to JSONL", f"{secs:.2f} s",
         f"{args.entries / secs:,.0f} entries/s")
    )  # fmt: skip

    secs = timed(lambda: verify_file(out))
    rows.append(
        (f"verify the JSONL export ({args.entries:,} entries)", f"{secs:.2f} s",
         f"{args.entries / secs:,.0f} entries/s")
    )  # fmt: skip

    table = Table("operation (SQLite, WAL)", "time", "rate")
    for r in rows:
        table.add_row(*r)
    console = Console()
    console.print(table)
    size = (folder / "big.db").stat().st_size / 1e6
    console.print(
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}; ledger file {size:,.0f} MB in {folder}"
    )


if __name__ == "__main__":
    main()

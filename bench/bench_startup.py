"""Benchmark: what a person or a script pays to run `troth` as a process.

    python bench/bench_startup.py [--rounds 15] [--dsn postgresql://postgres@127.0.0.1/postgres]

Times whole processes (start, imports, work, exit), alternating the commands within each round
and changing their order every round: `troth --version`, `troth --help`, `troth check
examples/plus`, and a typical `troth dsr access` (one customer of the MyDigiSoft demo data, 1,000
customers, on PostgreSQL, export written to a zip), next to `psql` running the same reads
(`\\copy` of the 7 tables' rows of that customer to CSV files) as a whole process. The access
runs twice: with ``--json`` (the lean path a script takes: no Typer, no Rich) and with the
table output (the full app).
With ``--before DIR`` the troth commands also run from an earlier source tree, shuffled into
the same rounds (a fair before/after on a shared machine). Reports median and min-max per
command and the load average. Targets (issue #15): `troth
--version` <= 150 ms, a typical `troth dsr access` on PostgreSQL <= 400 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
TROTH = str(Path(sys.executable).with_name("troth"))
DB = "bench_startup"

# the same rows `troth dsr access` reads for customer 7 (its walk of the map)
HAND = """
\\copy (SELECT * FROM customers WHERE lower(trim(email)) = 'customer7@example.com') TO '{d}/c.csv' CSV HEADER
\\copy (SELECT o.* FROM orders o JOIN customers c ON c.id = o.customer_id WHERE lower(trim(c.email)) = 'customer7@example.com') TO '{d}/o.csv' CSV HEADER
\\copy (SELECT i.* FROM order_items i JOIN orders o ON o.id = i.order_id JOIN customers c ON c.id = o.customer_id WHERE lower(trim(c.email)) = 'customer7@example.com') TO '{d}/i.csv' CSV HEADER
\\copy (SELECT l.* FROM licences l JOIN customers c ON c.id = l.customer_id WHERE lower(trim(c.email)) = 'customer7@example.com') TO '{d}/l.csv' CSV HEADER
\\copy (SELECT t.* FROM support_tickets t JOIN customers c ON c.id = t.customer_id WHERE lower(trim(c.email)) = 'customer7@example.com') TO '{d}/t.csv' CSV HEADER
\\copy (SELECT m.* FROM marketing_preferences m JOIN customers c ON c.id = m.customer_id WHERE lower(trim(c.email)) = 'customer7@example.com') TO '{d}/m.csv' CSV HEADER
\\copy (SELECT x.* FROM trade_compliance_checks x JOIN customers c ON c.id = x.customer_id WHERE lower(trim(c.email)) = 'customer7@example.com') TO '{d}/x.csv' CSV HEADER
"""


def _setup(admin_dsn: str) -> str:
    from troth.datamap.demo import create_demo_db

    with psycopg.connect(admin_dsn, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{DB}"')
    base = admin_dsn.rsplit("/", 1)[0]
    url = f"{base}/{DB}"
    create_demo_db(url, "mydigisoft", customers=1000)
    return url


def _time(cmd: list[str], env: dict[str, str]) -> float:
    """Wall time of one process; `troth check` exits 1 on the example's findings, others 0."""
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    took = time.perf_counter() - start
    if proc.returncode not in ((0, 1) if "check" in cmd else (0,)):
        sys.exit(f"{' '.join(cmd[:3])} failed: {proc.stderr.decode()[-500:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1/postgres")
    parser.add_argument(
        "--before",
        type=Path,
        help="a source tree of an earlier troth (git archive REV src | tar -x -C DIR; pass "
        "DIR/src): its troth commands are timed too, in the same rounds (PYTHONPATH)",
    )
    args = parser.parse_args()
    url = _setup(args.dsn)
    tmp = Path(tempfile.mkdtemp(prefix="troth-bench-startup-"))
    env = {
        **os.environ,
        "TROTH_HOME": str(tmp / "home"),
        "TROTH_CONN_MYDIGISOFT_SHOP": url,
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: byte code cached
    psql = shutil.which("psql")
    hand = tmp / "hand.sql"
    hand.write_text(HAND.format(d=tmp))
    commands: dict[str, list[str]] = {
        "troth --version": [TROTH, "--version"],
        "troth --help": [TROTH, "--help"],
        "troth check examples/plus": [TROTH, "check", str(ROOT / "examples/plus")],
        "troth dsr access --json (typical, PostgreSQL)": [
            TROTH, "dsr", "access", str(ROOT / "examples/mydigisoft"),
            "--email", "customer7@example.com", "-o", str(tmp / "a.zip"), "--json",
        ],
        "troth dsr access, table output (the same)": [
            TROTH, "dsr", "access", str(ROOT / "examples/mydigisoft"),
            "--email", "customer7@example.com", "-o", str(tmp / "b.zip"),
        ],
    }  # fmt: skip
    if psql:
        commands["psql -f (the same reads, to CSV)"] = [psql, url, "-q", "-f", str(hand)]
    envs = dict.fromkeys(commands, env)
    if args.before:
        old = {**env, "PYTHONPATH": str(args.before.resolve())}
        for name, cmd in list(commands.items()):
            if cmd[0] == TROTH:
                commands[f"{name}, before"] = cmd
                envs[f"{name}, before"] = old
    for name, cmd in commands.items():  # warm: byte code, the state DB, the OS cache
        _time(cmd, envs[name])
    samples: dict[str, list[float]] = {name: [] for name in commands}
    load_before = os.getloadavg()
    rng = random.Random(15)
    for _ in range(args.rounds):
        order = list(commands)
        rng.shuffle(order)
        for name in order:
            samples[name].append(_time(commands[name], envs[name]))
    load_after = os.getloadavg()
    print(
        f"{args.rounds} rounds; load average before {load_before[0]:.2f}, after {load_after[0]:.2f}"
    )
    print("| command (whole process) | median | min-max |")
    print("|---|---|---|")
    for name, xs in samples.items():
        med = statistics.median(xs) * 1000
        print(f"| `{name}` | {med:,.0f} ms | {min(xs) * 1000:,.0f}-{max(xs) * 1000:,.0f} ms |")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

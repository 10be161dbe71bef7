"""Benchmarks of consent (a script, not a test).

    PYTHONPATH=src /work/venv/bin/python bench/bench_consent.py [--only allows,ledger,serve,views]
        [--events 50000] [--writers 1000] [--seconds 10] [--subjects 1000000]

1. allows(): warm decisions/s in process;
2. ledger writes, batched (record_many, 1,000 per batch, audit entries included), SQLite and
   PostgreSQL;
3. ``--writers`` concurrent HTTP writers for ``--seconds`` against ``troth serve`` (uvicorn
   subprocess, SQLite state), then every acknowledged event is counted in the ledger;
4. the purpose view's audience count on PostgreSQL with ``--subjects`` customers vs the
   hand-written query on the shop's own opt-in column (median of 5 runs each).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from troth.consent import ConsentLedger, Decider, NewEvent
from troth.consent.views import apply_views, plan_views, sync_state
from troth.project import load_project
from troth.store import open_store

ROOT = Path(__file__).resolve().parent.parent
MD = ROOT / "examples" / "mydigisoft"
PG_ADMIN = os.environ.get("TROTH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
KEY = b"bench-secret-key-0123456789abcdef"


def pg_database() -> tuple[str, sa.Engine]:
    name = f"troth_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", admin


def drop_pg(url: str, admin: sa.Engine) -> None:
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def bench_allows(tmp: Path) -> None:
    policy = load_project(MD).policy.policy
    ledger = ConsentLedger(open_store(f"sqlite:///{tmp / 'a.db'}"), policy, key=KEY)
    decider = Decider(ledger, restrictions=lambda _s: frozenset())
    subjects = [f"user{i}@example.test" for i in range(1000)]
    ledger.record_many([NewEvent(s, "marketing_email", "given") for s in subjects[::2]])
    purposes = ["marketing_email", "order_fulfilment", "customer_recognition"]
    for s in subjects:
        for p in purposes:
            decider.allows(s, p)
    n = 0
    t0 = time.perf_counter()
    for _ in range(100):
        for s in subjects:
            for p in purposes:
                decider.allows(s, p)
                n += 1
    dt = time.perf_counter() - t0
    print(f"allows() warm: {n:,} decisions in {dt:.2f} s = {n / dt:,.0f} decisions/s")


def bench_ledger(tmp: Path, n: int) -> None:
    policy = load_project(MD).policy.policy
    pg_url, admin = pg_database()
    try:
        for label, url in (("SQLite", f"sqlite:///{tmp / 'l.db'}"), ("PostgreSQL", pg_url)):
            ledger = ConsentLedger(open_store(url), policy, key=KEY)
            events = [NewEvent(f"w{i}@example.test", "marketing_email", "given") for i in range(n)]
            t0 = time.perf_counter()
            for i in range(0, n, 1000):
                ledger.record_many(events[i : i + 1000])
            dt = time.perf_counter() - t0
            assert ledger.count() == n
            print(f"ledger record_many {label}: {n:,} events in {dt:.2f} s = {n / dt:,.0f}/s")
            ledger.engine.dispose()
    finally:
        drop_pg(pg_url, admin)


def bench_serve(tmp: Path, writers: int, seconds: float) -> None:
    import httpx

    home = tmp / "serve"
    env = {**os.environ, "TROTH_HOME": str(home), "TROTH_SECRET_KEY": KEY.decode()}
    env["PYTHONPATH"] = str(ROOT / "src")
    key = subprocess.run(
        [sys.executable, "-m", "troth", "apikey", "create", "--scope", "consent:write"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "troth", "serve", str(MD), "--port", str(port)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        ok, failed = asyncio.run(_writers(base, key, writers, seconds))
        ledger = ConsentLedger(
            open_store(f"sqlite:///{home / 'troth.db'}"),
            load_project(MD).policy.policy,
            key=KEY,
        )
        stored = ledger.count()
        print(
            f"troth serve, {writers} writers x {seconds:.0f} s: {ok:,} acknowledged "
            f"({ok / seconds:,.0f}/s), {failed} failed requests, {stored:,} events in the ledger, "
            f"lost: {ok - stored}"
        )
    finally:
        proc.terminate()
        proc.wait(10)


async def _writers(base: str, key: str, writers: int, seconds: float) -> tuple[int, int]:
    """*writers* keep-alive HTTP/1.1 connections (plain asyncio streams: a client library's pool
    would be the bottleneck at 1,000 connections), each posting events until the time is up."""
    import json

    host, port = base.removeprefix("http://").split(":")
    ok = failed = 0
    statuses: dict[int, int] = {}
    end = time.monotonic() + seconds

    async def one(w: int) -> None:
        nonlocal ok, failed
        reader, writer = await asyncio.open_connection(host, int(port))
        i = 0
        try:
            while time.monotonic() < end:
                body = json.dumps(
                    {
                        "subject": f"w{w}-{i}@example.test",
                        "consent_id": "marketing_email",
                        "kind": "given",
                    }
                ).encode()
                i += 1
                head = (
                    f"POST /api/v1/consent/events HTTP/1.1\r\nHost: {host}\r\n"
                    f"X-API-Key: {key}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode()
                writer.write(head + body)
                await writer.drain()
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                status = int(status_line.split()[1])
                statuses[status] = statuses.get(status, 0) + 1
                if status == 201:
                    ok += 1
                else:
                    failed += 1
        except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
            failed += 1
        finally:
            writer.close()

    await asyncio.gather(*(one(w) for w in range(writers)))
    if failed:
        print(f"  statuses: {statuses}")
    return ok, failed


def bench_views(tmp: Path, subjects: int) -> None:
    project = load_project(MD)
    assert project.datamap is not None
    policy, datamap = project.policy.policy, project.datamap.datamap
    pg_url, admin = pg_database()
    try:
        engine = sa.create_engine(pg_url)
        ddl = (MD / "schema.sql").read_text()
        t0 = time.perf_counter()
        with engine.begin() as conn:
            for stmt in ddl.split(";"):
                lines = [ln for ln in stmt.splitlines() if not ln.strip().startswith("--")]
                if "".join(lines).strip():
                    conn.exec_driver_sql("\n".join(lines))
            conn.exec_driver_sql(
                "INSERT INTO customers (id, first_name, last_name, email) SELECT i, 'F' || i, "
                f"'L' || i, 'c' || i || '@example.test' FROM generate_series(1, {subjects}) i"
            )
            conn.exec_driver_sql(
                "INSERT INTO marketing_preferences (customer_id, email_opt_in, channel) "
                "SELECT i, CASE WHEN mod(i, 3) = 0 THEN 1 ELSE 0 END, 'notification_desk' "
                f"FROM generate_series(1, {subjects}) i"
            )
        ledger = ConsentLedger(open_store(f"sqlite:///{tmp / 'v.db'}"), policy, key=KEY)
        opted = list(range(3, subjects + 1, 3))
        for j in range(0, len(opted), 10_000):
            ledger.record_many(
                [
                    NewEvent(f"c{i}@example.test", "marketing_email", "given")
                    for i in opted[j : j + 10_000]
                ]
            )
        t1 = time.perf_counter()
        with engine.begin() as conn:
            apply_views(conn, plan_views(policy, datamap, "postgresql"))
            counts = sync_state(conn, ledger, datamap)
        t2 = time.perf_counter()
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        view_sql = "SELECT count(*) FROM troth_marketing_email__customers"
        hand_sql = (
            "SELECT count(*) FROM customers c JOIN marketing_preferences m "
            "ON m.customer_id = c.id WHERE m.email_opt_in = 1"
        )
        times: dict[str, list[float]] = {"view": [], "hand": []}
        with engine.connect() as conn:
            results = {}
            for _ in range(6):  # first round warms the cache
                for label, sql in (("view", view_sql), ("hand", hand_sql)):
                    s = time.perf_counter()
                    results[label] = conn.exec_driver_sql(sql).scalar_one()
                    times[label].append(time.perf_counter() - s)
        assert results["view"] == results["hand"] == subjects // 3, results
        view_t = statistics.median(times["view"][1:])
        hand_t = statistics.median(times["hand"][1:])
        print(
            f"views on PostgreSQL, {subjects:,} customers: setup {t1 - t0:.1f} s, "
            f"apply + sync {t2 - t1:.1f} s ({counts['marketing_email']:,} allowed rows); "
            f"audience count view {view_t * 1000:.1f} ms vs hand-written {hand_t * 1000:.1f} ms "
            f"= ratio {view_t / hand_t:.2f}"
        )
        engine.dispose()
    finally:
        drop_pg(pg_url, admin)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", default="allows,ledger,serve,views")
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--writers", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--subjects", type=int, default=1_000_000)
    args = ap.parse_args()
    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["TROTH_HOME"] = str(tmp / "home")  # the ledger key and anchor of this run
        if "allows" in only:
            bench_allows(tmp)
        if "ledger" in only:
            bench_ledger(tmp, args.events)
        if "serve" in only:
            bench_serve(tmp, args.writers, args.seconds)
        if "views" in only:
            bench_views(tmp, args.subjects)


if __name__ == "__main__":
    main()

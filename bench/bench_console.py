"""Benchmark of the privacy team's console, in process (a script, not a test).

    PYTHONPATH=src .venv/bin/python bench/bench_console.py [--requests 1000] [--customers 1000]
        [--state sqlite|postgres]

Builds the MyDigiSoft demo shop (SQLite, ``--customers`` people), a state DB (SQLite, or a fresh
PostgreSQL database) with ``--requests`` verified access requests filed for the workers, and the
app of ``troth serve``; then times, through Starlette's test client (no network):

1. a sign-in (argon2id verify, lock-out counters, new session, ledger entry);
2. the queue page (the first 100 by due date, filtered by nothing and by status);
3. a request page without counts (plan and timeline) and with the dry run's counts.

Prints the median and p95 of each (ms), and the load average.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "examples" / "mydigisoft"
PG_ADMIN = os.environ.get("TROTH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench console passphrase"


def timed(fn: Callable[[], object], n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--customers", type=int, default=1000)
    ap.add_argument("--state", choices=["sqlite", "postgres"], default="sqlite")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    os.environ["TROTH_SECRET_KEY"] = "bench-console-secret-0123456789abcdef"
    os.environ["TROTH_HOME"] = str(tmp / "home")
    from fastapi.testclient import TestClient

    from troth.config import Settings
    from troth.console.roles import Role
    from troth.datamap.demo import create_demo_db
    from troth.dsr.filing import file_new
    from troth.dsr.identity import Identity
    from troth.dsr.requests import Kind
    from troth.store import open_store
    from troth.web import create_app

    shop = f"sqlite:///{tmp / 'shop.db'}"
    create_demo_db(shop, "mydigisoft", customers=args.customers)
    os.environ["TROTH_CONN_MYDIGISOFT_SHOP"] = shop
    db = None
    if args.state == "postgres":
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        db = f"troth_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{db}"')
        state = PG_ADMIN.rsplit("/", 1)[0] + f"/{db}"
    else:
        state = f"sqlite:///{tmp / 'state.db'}"
    try:
        settings = Settings.from_env().with_database(state)
        engine = open_store(settings)
        t = time.perf_counter()
        ids = [
            file_new(
                engine,
                settings.secret_key,
                PROJECT,
                Kind.access,
                [Identity("email", f"customer{i % args.customers}@example.com")],
                actor="bench",
                verified=True,
                scope={},
            )[0].id
            for i in range(args.requests)
        ]
        filed = time.perf_counter() - t
        app = create_app(settings, PROJECT)
        app.state.admin.users.add("dpo", Role.privacy_officer, PASSWORD, actor="bench")
        c = TestClient(app, base_url="https://testserver", follow_redirects=False)

        def sign_in() -> None:
            page = c.get("/admin/login").text
            found = re.search(r'name="csrf" value="([^"]+)"', page)
            assert found
            data = {"csrf": found.group(1), "name": "dpo", "password": PASSWORD}
            assert c.post("/admin/login", data=data).status_code == 303

        rows = [
            ("sign-in (login page + post)", timed(sign_in, 20)),
            ("queue, no filter", timed(lambda: c.get("/admin/requests"), 50)),
            (
                "queue, status=identity_verified",
                timed(lambda: c.get("/admin/requests?status=identity_verified"), 50),
            ),
            (
                "request page (plan, timeline)",
                timed(lambda: c.get(f"/admin/requests/{ids[0]}"), 50),
            ),
            (
                "request page with dry-run counts",
                timed(lambda: c.get(f"/admin/requests/{ids[1]}?counts=1"), 20),
            ),
        ]
        print(f"state {args.state}; {len(set(ids))} open requests filed in {filed:.1f} s")
        print(f"shop: {args.customers} customers (SQLite); load average {os.getloadavg()}")
        for name, (p50, p95) in rows:
            print(f"{name:40} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
    finally:
        if db is not None:
            with admin.connect() as c2:
                c2.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


if __name__ == "__main__":
    main()

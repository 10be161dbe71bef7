"""How long a request filed through `troth serve --workers N` waits for the jobs thread (a script,
not a test).

    PYTHONPATH=src .venv/bin/python bench/bench_serve_jobs.py [--workers 2] [--requests 30]

`troth serve --workers N` on fresh PostgreSQL databases (troth's state, and the Plus demo store of
``--customers`` owners): the uvicorn worker processes answer the request API, the supervising
process runs the jobs (embedded mode, no task queue). One client POSTs ``--requests`` verified
access requests one after the other (the policy approves access automatically), each time polling
the state DB every 2 ms until the request is completed. Printed: the median, min-max and p95 of
POST-to-completed, the POST alone, and the load average. A job that a worker process writes is
run at once when the supervisor hears the outbox's NOTIFY; before, it waited for the 0.5 s poll.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_worker import ADMIN, KEY, RULES, fresh_db  # noqa: E402
from servers import free_port, troth_command  # noqa: E402
from troth.config import Settings  # noqa: E402
from troth.datamap.demo import create_demo_db  # noqa: E402
from troth.store import open_store  # noqa: E402
from troth.web.apikeys import create_key  # noqa: E402


def drop_db(name: str) -> None:
    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="troth serve --workers N")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--customers", type=int, default=200, help="Plus demo owners")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="troth-bench-serve-jobs-"))
    names = ("troth_benchsj_state", "troth_benchsj_plus")
    state, shop = (fresh_db(n) for n in names)
    create_demo_db(shop, "plus", customers=max(args.customers, args.requests + 5))
    project = tmp / "plus"
    project.mkdir()
    shutil.copy(ROOT / "examples/plus/datamap.yaml", project / "datamap.yaml")
    (project / "policy.yaml").write_text((ROOT / "examples/plus/policy.yaml").read_text() + RULES)
    env = {
        **os.environ,
        "TROTH_HOME": str(tmp / "home"),
        "TROTH_SECRET_KEY": KEY,
        "TROTH_CONN_PLUS_APP": shop,
    }
    engine = open_store(Settings.from_env(env).with_database(state))
    key = create_key(engine, Settings.from_env(env).secret_key, ["requests:write"])
    port = free_port()
    cmd = [troth_command(), "serve", str(project), "--db", state, "--port", str(port)]
    proc = subprocess.Popen(
        [*cmd, "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    client = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60)
    try:
        for _ in range(600):
            try:
                if client.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        time.sleep(2)  # the supervisor's jobs thread and its listener
        done_sql = sa.text("SELECT status FROM dsr_request WHERE id = :id")
        total: list[float] = []
        posts: list[float] = []
        load0 = os.getloadavg()[0]
        for i in range(args.requests + 2):
            body = {"type": "access", "identities": {"email": f"owner{i + 1}@example.com"}}
            t = time.perf_counter()
            r = client.post(f"{base}/api/v1/requests", json={**body, "verified": True})
            r.raise_for_status()
            post = time.perf_counter() - t
            rid = r.json()["id"]
            while True:
                with engine.connect() as c:
                    if c.execute(done_sql, {"id": rid}).scalar() == "completed":
                        break
                time.sleep(0.002)
            if i >= 2:  # the first two warm the workers up
                total.append((time.perf_counter() - t) * 1000)
                posts.append(post * 1000)
        load1 = os.getloadavg()[0]
    finally:
        client.close()
        proc.terminate()
        proc.wait(60)
        engine.dispose()
        for n in names:
            drop_db(n)

    def fmt(xs: list[float]) -> str:
        p95 = sorted(xs)[max(0, round(0.95 * len(xs)) - 1)]
        return f"median {statistics.median(xs):.1f} ms ({min(xs):.1f}-{max(xs):.1f}), p95 {p95:.1f}"

    print(f"troth serve --workers {args.workers}, {args.requests} access requests, one at a time")
    print(f"  POST to completed: {fmt(total)}")
    print(f"  the POST alone:    {fmt(posts)}")
    print(f"  load average (1 min) {load0:.2f} -> {load1:.2f}")


if __name__ == "__main__":
    main()

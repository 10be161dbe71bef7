"""Benchmark of queued requests: access requests through the request API to completion on 1 and 2
`troth worker` processes (Procrastinate on PostgreSQL), and the overhead per request of the queue
path against calling troth.dsr.api directly.

    .venv/bin/python bench/bench_worker.py                    # 1,000 requests per run, 15 pairs
    .venv/bin/python bench/bench_worker.py --n 200 --pairs 9  # quicker

State, queue and the Plus demo store are PostgreSQL databases (created fresh: troth_benchw_*).
Throughput: N access requests POSTed (verified; the policy's approval rule runs access at once)
by 4 client threads, timed from the first POST to the last completion; latency from the ledger's
``dsr.identity_verified`` entry to its ``dsr.completed`` entry (p50, p95). Overhead: with one idle
worker, pairs alternate (the order swapped every pair) one request through the API (POST, then
its completion seen on a NOTIFY from a trigger on the request's row: no busy poll taking the
worker's CPU) and one direct ``troth.dsr.api.access`` call with a loaded project, each for a different
person; reported: medians, min-max, and the median difference. Load averages are printed with each figure.
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
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from servers import start_serve  # noqa: E402
from troth.config import Settings  # noqa: E402
from troth.datamap.demo import create_demo_db  # noqa: E402
from troth.dsr import api  # noqa: E402
from troth.dsr.identity import Identity  # noqa: E402
from troth.project import load_project  # noqa: E402
from troth.store import open_store  # noqa: E402
from troth.web.apikeys import create_key  # noqa: E402
from troth.worker.engine import conninfo  # noqa: E402

DONE_TRIGGER = """
CREATE OR REPLACE FUNCTION bench_done() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify('bench_done', NEW.id); RETURN NEW; END $$;
CREATE OR REPLACE TRIGGER bench_done AFTER UPDATE OF status ON dsr_request
FOR EACH ROW WHEN (NEW.status = 'completed') EXECUTE FUNCTION bench_done();
"""
ADMIN = os.environ.get("TROTH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PREFIX = os.environ.get("TROTH_BENCH_PREFIX", "troth_benchw_")
KEY = "bench-secret-key-0123456789abcdef"
RULES = "\nrequests:\n  approval:\n    access: automatic\n"


def fresh_db(name: str) -> str:
    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return ADMIN.rsplit("/", 1)[0] + f"/{name}"


def ms(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ms ({min(values):.1f}-{max(values):.1f})"


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.state = fresh_db(PREFIX + "state")
        self.shop = fresh_db(PREFIX + "plus")
        people = 2 * args.n + 2 * args.pairs + 10
        create_demo_db(self.shop, "plus", customers=max(args.customers, people))
        self.project = tmp / "plus"
        self.project.mkdir()
        shutil.copy(ROOT / "examples/plus/datamap.yaml", self.project / "datamap.yaml")
        text = (ROOT / "examples/plus/policy.yaml").read_text()
        (self.project / "policy.yaml").write_text(text + RULES)
        self.env = {
            **os.environ,
            "TROTH_HOME": str(tmp / "home"),
            "TROTH_SECRET_KEY": KEY,
            "TROTH_DATABASE_URL": self.state,
            "TROTH_QUEUE_URL": self.state,
            "TROTH_CONN_PLUS_APP": self.shop,
        }
        self.settings = Settings.from_env(self.env)
        self.engine = open_store(self.settings)
        self.key = create_key(self.engine, self.settings.secret_key, ["requests:write"])
        self.serve, self.base = start_serve(self.project, self.state, self.env)
        self.client = httpx.Client(headers={"Authorization": f"Bearer {self.key}"}, timeout=60)
        self.next_person = 1
        self.workers: list[subprocess.Popen[bytes]] = []

    def person(self) -> str:
        n = self.next_person
        self.next_person += 1
        return f"owner{n}@example.com"

    def start_workers(self, n: int) -> None:
        from servers import troth_command

        for i in range(n):
            self.workers.append(
                subprocess.Popen(
                    [troth_command(), "worker", str(self.project), "--name", f"bench{i}"],
                    env=self.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        time.sleep(3)  # schema check, project load, LISTEN

    def stop_workers(self) -> None:
        for p in self.workers:
            p.terminate()
        for p in self.workers:
            p.wait(60)
        self.workers = []

    def post(self, email: str) -> str:
        body = {"type": "access", "identities": {"email": email}, "verified": True}
        r = self.client.post(f"{self.base}/api/v1/requests", json=body)
        r.raise_for_status()
        return str(r.json()["id"])

    def completed(self, ids: list[str]) -> int:
        with self.engine.connect() as c:
            return int(
                c.execute(
                    sa.text(
                        "SELECT count(*) FROM dsr_request WHERE status = 'completed' "
                        "AND id = ANY(:ids)"
                    ),
                    {"ids": ids},
                ).scalar_one()
            )

    def latencies(self, ids: list[str]) -> list[float]:
        sql = sa.text(
            "SELECT subject, kind, ts FROM audit_entry WHERE subject = ANY(:s) "
            "AND kind IN ('dsr.identity_verified', 'dsr.completed')"
        )
        with self.engine.connect() as c:
            rows = c.execute(sql, {"s": [f"dsr:{i}" for i in ids]}).all()
        at: dict[tuple[str, str], datetime] = {
            (s, k): datetime.fromisoformat(ts.replace("Z", "+00:00")) for s, k, ts in rows
        }
        return [
            (
                at[(f"dsr:{i}", "dsr.completed")] - at[(f"dsr:{i}", "dsr.identity_verified")]
            ).total_seconds()
            * 1000
            for i in ids
        ]

    def phases(self, ids: list[str]) -> dict[str, list[float]]:
        """Per request, from the ledger: first entry -> approved -> running -> completed (ms)."""
        sql = sa.text(
            "SELECT subject, kind, ts FROM audit_entry WHERE subject = ANY(:s) "
            "AND kind LIKE 'dsr.%'"
        )
        with self.engine.connect() as c:
            rows = c.execute(sql, {"s": [f"dsr:{i}" for i in ids]}).all()
        first: dict[str, datetime] = {}
        at: dict[tuple[str, str], datetime] = {}
        for s, k, ts in rows:
            t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
            first[s] = min(first.get(s, t), t)
            at[(s, k)] = t
        out: dict[str, list[float]] = {"filed→approved": [], "approved→running": []}
        out["running→completed"] = []
        for i in ids:
            s = f"dsr:{i}"
            marks = [first[s], at[(s, "dsr.approved")], at[(s, "dsr.running")]]
            marks.append(at[(s, "dsr.completed")])
            for name, a, b in zip(out, marks, marks[1:], strict=False):
                out[name].append((b - a).total_seconds() * 1000)
        return out

    def throughput(self, workers: int) -> dict[str, float]:
        self.start_workers(workers)
        emails = [self.person() for _ in range(self.args.n)]
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            ids = list(pool.map(self.post, emails))
        posted = time.perf_counter()
        while self.completed(ids) < len(ids):
            time.sleep(0.05)
        took = time.perf_counter() - t0
        self.stop_workers()
        lat = self.latencies(ids)
        return {
            "workers": workers,
            "requests": len(ids),
            "seconds": took,
            "per_s": len(ids) / took,
            "post_s": posted - t0,
            "p50_ms": statistics.median(lat),
            "p95_ms": p95(lat),
            "load": (load0 + os.getloadavg()[0]) / 2,
        }

    def overhead(self) -> dict[str, object]:
        self.start_workers(1)
        project = load_project(self.project)
        env = {"TROTH_CONN_PLUS_APP": self.shop}
        queued: list[float] = []
        direct: list[float] = []
        posts: list[float] = []
        queued_ids: list[str] = []
        direct_ids: list[str] = []

        # completion is seen on a NOTIFY sent when a request's row turns completed (a trigger
        # of this bench, on both paths' rows): a poll every few milliseconds would take CPU
        # from the worker it waits for, which the direct call never shares
        listener = psycopg.connect(conninfo(self.state), autocommit=True)
        listener.execute(DONE_TRIGGER)
        listener.execute("LISTEN bench_done")

        def via_queue() -> None:
            for _ in listener.notifies(timeout=0):  # earlier changes' (the direct calls')
                pass
            t = time.perf_counter()
            rid = self.post(self.person())
            posts.append((time.perf_counter() - t) * 1000)
            while self.completed([rid]) < 1:
                for _ in listener.notifies(timeout=0.5, stop_after=1):
                    pass
            queued.append((time.perf_counter() - t) * 1000)
            queued_ids.append(rid)

        def via_api() -> None:
            t = time.perf_counter()
            res = api.access(
                project, [Identity("email", self.person())], settings=self.settings, env=env
            )
            assert res.ok
            assert res.request is not None
            direct.append((time.perf_counter() - t) * 1000)
            direct_ids.append(res.request.id)

        via_queue()  # warm both paths
        via_api()
        for kept in (queued, direct, posts, queued_ids, direct_ids):
            kept.clear()
        load0 = os.getloadavg()[0]
        for i in range(self.args.pairs):
            first, second = (via_queue, via_api) if i % 2 == 0 else (via_api, via_queue)
            first()
            second()
        self.stop_workers()
        listener.close()
        diffs = [q - d for q, d in zip(queued, direct, strict=True)]
        return {
            "queued": queued,
            "direct": direct,
            "post": posts,
            "queued_phases": self.phases(queued_ids),
            "direct_phases": self.phases(direct_ids),
            "diff_median": statistics.median(diffs),
            "load": (load0 + os.getloadavg()[0]) / 2,
        }

    def close(self) -> None:
        self.stop_workers()
        self.serve.terminate()
        self.serve.wait(30)
        self.client.close()
        self.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="access requests per throughput run")
    parser.add_argument("--pairs", type=int, default=15, help="alternating overhead pairs")
    parser.add_argument("--customers", type=int, default=5000, help="Plus demo owners")
    parser.add_argument("--only-overhead", action="store_true", help="skip the throughput runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(args, Path(tmp))
        try:
            runs = [] if args.only_overhead else [bench.throughput(1), bench.throughput(2)]
            over = bench.overhead()
        finally:
            bench.close()
    print(f"cpus {os.cpu_count()}, {args.n} access requests per run, Plus demo on PostgreSQL")
    print("| workers | requests | completed/s | verification→completion p50 | p95 | load |")
    print("|---|---|---|---|---|---|")
    for r in runs:
        print(
            f"| {r['workers']} | {r['requests']} | {r['per_s']:.1f} ({r['seconds']:.1f} s) | "
            f"{r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms | {r['load']:.1f} |"
        )
    queued, direct = over["queued"], over["direct"]
    assert isinstance(queued, list)
    assert isinstance(direct, list)
    print(
        f"\none request, one idle worker ({args.pairs} alternating pairs, load {over['load']:.1f}):"
        f" through the API and the queue {ms(queued)}; troth.dsr.api.access directly {ms(direct)};"
        f" overhead (median of pair differences) {over['diff_median']:.1f} ms"
    )
    post = over["post"]
    assert isinstance(post, list)
    print(f"  the POST alone (filed, sealed, verified, approved; HTTP): {ms(post)}")
    for path in ("queued", "direct"):
        phases = over[f"{path}_phases"]
        assert isinstance(phases, dict)
        for name, values in phases.items():
            print(f"  {path} {name} (ledger times): {ms(values)}")


if __name__ == "__main__":
    main()

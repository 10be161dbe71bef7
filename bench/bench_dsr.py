"""Benchmark of data-subject requests on PostgreSQL: troth's entry points vs hand-written SQL.

    .venv/bin/python bench/bench_dsr.py               # full: scale 1, 7 rounds (~6 min)
    .venv/bin/python bench/bench_dsr.py --quick       # scale 0.1, 5 rounds (~3 min)
    .venv/bin/python bench/bench_dsr.py --json out.json

Six tasks: access and erasure of a typical customer, of a heavy customer (20,003 rows), and of a
heavy member of one tenant (30,001 rows in a scoped table with a composite primary key, the same
e-mail in another tenant, which is asserted untouched). Each is measured through four entry
points, each paired with a hand-written baseline doing the same work (see dsr_hand.py):

    engine  plan + schema read + resolve (+ write), warm connection    vs hand SQL, warm psycopg
    api     troth.dsr.access / troth.dsr.erase (lifecycle, ledger...)  vs hand SQL (+ zip export)
    cli     `troth dsr access|erase ...` as a whole process            vs `psql -f` process
    http    POST /api/v1/requests (verified) to one `troth serve` (embedded jobs thread), until
            the request is completed (its row in the state DB polled every 1 ms)
                                                                       vs hand SQL (+ zip export)

Fair by construction: troth and baseline alternate sample by sample, the order within a pair and
of the entry points swapped every round; every round re-creates the erased subjects, then
vacuums, analyses and checkpoints (untimed). Before the rounds, one subject per task is erased by
all six paths from the same starting state and the rows are hashed: every path must leave
identical rows, and the other tenant's rows unchanged. Reported: median, min-max of each side,
and the median (min-max) of the per-round ratios, with the load average.

Data (generated once into database ``troth_bench`` or ``troth_bench_s<scale>`` with set-based
INSERT ... SELECT generate_series, reused when present): see dsr_data.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

import dsr_data as data
from dsr_hand import Hand
from troth.config import Settings
from troth.connectors.sql import SqlConnector
from troth.dsr import Identity, build_plan
from troth.dsr import access as api_access
from troth.dsr import erase as api_erase
from troth.dsr.execute import erase_store
from troth.dsr.export import CountingSink
from troth.dsr.resolve import identity_forms, resolve
from troth.dsr.run import masking_defaults, utc_now
from troth.dsr.stores import Stores
from troth.project import load_project
from troth.store import open_store
from troth.web.apikeys import create_key

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from servers import start_serve

ADMIN = os.environ.get("TROTH_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
KEY = b"bench-secret-key-0123456789abcdef"
ENTRIES = ("engine", "api", "cli", "http")
BASELINE = {"engine": "hand SQL", "api": "hand SQL", "cli": "psql -f", "http": "hand SQL"}
#: the policy's approval rules: a verified request runs at once (the request API's path)
RULES = "\nrequests:\n  approval:\n    access: automatic\n    erasure: automatic\n"
TARGETS = {
    ("access", "typical", "engine"): "≤ 10 ms",
    ("access", "typical", "api"): "≤ 3×",
    ("access", "typical", "cli"): "≤ 400 ms",
    ("access", "typical", "http"): "≤ 3×",
    ("erase", "typical", "api"): "≤ 4×",
    ("erase", "typical", "http"): "≤ 4×",
    ("access", "heavy", "api"): "≤ 1.5×",
    ("access", "heavy", "http"): "≤ 1.5×",
    ("erase", "heavy", "http"): "≤ 1.3×",
    ("erase", "heavy", "engine"): "≤ 1.5×",
    ("erase", "heavy", "api"): "≤ 1.3×",
    ("erase", "scoped", "engine"): "≤ 1.5×",
    ("erase", "scoped", "api"): "≤ 1.5×",
}


def db_dsn(scale: float) -> str:
    name = "troth_bench" if scale == 1 else f"troth_bench_s{str(scale).replace('.', '_')}"
    return ADMIN.rsplit("/", 1)[0] + "/" + name


def prepare(dsn: str, sizes: data.Sizes) -> None:
    name = dsn.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            with psycopg.connect(dsn) as c:
                ready = c.execute("SELECT to_regclass('bench_ready')").fetchone()
            if ready and ready[0]:
                print(f"reusing database {name}")
                return
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    t0 = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")  # the hand SQL's hmac()
        data.generate(c, sizes)
        c.execute("VACUUM (ANALYZE)")
    print(f"generated in {time.perf_counter() - t0:.1f} s")


# --- troth's entry points -------------------------------------------------------------------------


class Troth:
    def __init__(self, dsn: str, project: Path, home: Path) -> None:
        self.url = "postgresql+psycopg" + dsn.removeprefix("postgresql")
        self.project_dir = project
        self.proj = load_project(project)
        assert self.proj.datamap is not None
        self.datamap = self.proj.datamap.datamap
        self.defaults = masking_defaults(self.proj)
        self.connector = SqlConnector(self.url, "bench_db")
        self.env = {
            **os.environ,
            "TROTH_HOME": str(home),
            "TROTH_SECRET_KEY": KEY.decode(),
            "TROTH_CONN_BENCH_DB": self.url,
        }
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)  # the CLI as installed: byte code cached
        self.settings = Settings.from_env(self.env)
        self.out = home / "out"
        self.out.mkdir(parents=True, exist_ok=True)
        self.schema_ms: list[float] = []
        self.state = open_store(self.settings)
        self.poll = self.state.raw_connection()  # the HTTP path's completion poll
        key = create_key(self.state, self.settings.secret_key, ["requests:write", "requests:read"])
        self.serve, self.base = start_serve(project, self.settings.database_url, self.env)
        self.client = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=600)

    def _stores(self) -> Stores:
        """A request's stores: the warm connector, its schema read again (as every request does)."""
        stores = Stores(connectors={"bench_db": self.connector}, hash_key=KEY)
        t0 = time.perf_counter()
        stores.schema("bench_db")
        self.schema_ms.append((time.perf_counter() - t0) * 1000)
        return stores

    def engine_access(self, ident: Identity, scope: dict[str, Any] | None) -> int:
        plan = build_plan(self.datamap, [ident.name], "access", masking_defaults=self.defaults)
        sink = CountingSink()
        resolve(plan, self._stores(), [ident], datamap=self.datamap, scope=scope, sink=sink)
        return sink.rows

    def engine_erase(self, ident: Identity, scope: dict[str, Any] | None) -> int:
        plan = build_plan(self.datamap, [ident.name], "erase", masking_defaults=self.defaults)
        stores = self._stores()
        res = resolve(plan, stores, [ident], datamap=self.datamap, scope=scope, keys_only=True)
        results = erase_store(
            self.datamap,
            plan,
            "bench_db",
            self.connector,
            stores.schema("bench_db"),
            res.keys,
            KEY,
            forms=identity_forms(self.datamap, [ident]),
            scope=scope,
            now=utc_now(),
        )
        return sum(r.rows + r.masked_instead for r in results)

    def api_access(self, ident: Identity, scope: dict[str, str] | None) -> int:
        r = api_access(
            self.project_dir, [ident], output=self.out / "api.zip", settings=self.settings,
            env=self.env, scope=scope,
        )  # fmt: skip
        assert r.status == "completed", r.request
        return r.rows()

    def api_erase(self, ident: Identity, scope: dict[str, str] | None) -> int:
        r = api_erase(self.project_dir, [ident], settings=self.settings, env=self.env, scope=scope)
        assert r.status == "completed", r.request
        return r.rows()

    def cli(self, kind: str, ident: Identity, scope: dict[str, str] | None) -> int:
        cmd = [sys.executable, "-m", "troth", "dsr", kind, str(self.project_dir), "--json"]
        cmd += ["--email", ident.value] if ident.name == "email" else []
        cmd += ["--identity", f"{ident.name}={ident.value}"] if ident.name != "email" else []
        cmd += [a for k, v in (scope or {}).items() for a in ("--scope", f"{k}={v}")]
        cmd += ["-o", str(self.out / "cli.zip")] if kind == "access" else []
        done = subprocess.run(cmd, env=self.env, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"troth dsr {kind} exited {done.returncode}: {done.stderr[-500:]}")
        result = json.loads(done.stdout)
        assert result["status"] == "completed", result
        return sum(int(t["rows"]) for t in result["tables"])

    def http(self, kind: str, ident: Identity, scope: dict[str, str] | None) -> int:
        """A verified request POSTed to `troth serve`, run by its jobs thread; done when the
        request's row says completed (the state DB polled every 1 ms on one open SQLite
        connection, a few microseconds each: an HTTP poll would take the server's CPU from the
        job it waits for)."""
        body: dict[str, Any] = {
            "type": "access" if kind == "access" else "erasure",
            "identities": {ident.name: ident.value},
            "verified": True,
        }
        if scope:
            body["scope"] = scope
        r = self.client.post(f"{self.base}/api/v1/requests", json=body)
        if r.status_code != 201:
            raise RuntimeError(f"POST /api/v1/requests: {r.status_code} {r.text[:300]}")
        rid = r.json()["id"]
        cur = self.poll.cursor()
        while True:
            cur.execute("SELECT status, result FROM dsr_request WHERE id = ?", (rid,))
            status, result = cur.fetchone()
            self.poll.rollback()  # the next poll sees the newest commit
            if status in ("completed", "failed", "denied"):
                break
            time.sleep(0.001)
        assert status == "completed", (rid, status, result)
        return sum(int(t["rows"]) for t in json.loads(result)["tables"])

    def close(self) -> None:
        self.connector.close()
        self.client.close()
        self.serve.terminate()
        self.serve.wait(30)
        self.poll.close()
        self.state.dispose()


# --- tasks and samples ----------------------------------------------------------------------------


@dataclass
class Pair:
    troth: list[float] = field(default_factory=list)
    hand: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)  # per round: median troth / median hand


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


class Bench:
    def __init__(self, args: argparse.Namespace, dsn: str, sizes: data.Sizes, tmp: Path) -> None:
        self.args = args
        self.dsn = dsn
        self.sizes = sizes
        self.tmp = tmp
        project = tmp / "project"
        project.mkdir()
        (project / "policy.yaml").write_text(data.POLICY + RULES)
        (project / "datamap.yaml").write_text(data.DATAMAP)
        self.troth = Troth(dsn, project, tmp / "home")
        self.hand = Hand(dsn, KEY)
        self.admin = psycopg.connect(dsn, autocommit=True)
        self.results: dict[tuple[str, str, str], Pair] = {}
        self.loads: list[float] = []
        self.load_start: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.heavy_a, self.export = data.shop_subjects(sizes, data.PERSISTENT_SHOP, True)
        (self.scoped_a,) = data.member_subjects(sizes, data.PERSISTENT_MEMBERS, True)
        self.picks = 0

    # subjects of one round: (size, entry, side) -> subject
    def round_subjects(
        self, prefix: str
    ) -> tuple[dict[tuple[str, str, str], Any], list[data.ShopSubject], list[data.MemberSubject]]:
        keys = [(e, s) for e in ENTRIES for s in ("t", "h")]
        shop = data.shop_subjects(
            self.sizes,
            [(f"{prefix}typ-{e}-{s}", 10) for e, s in keys]
            + [(f"{prefix}heavy-{e}-{s}", data.HEAVY_ORDERS) for e, s in keys],
            persistent=False,
        )
        members = data.member_subjects(
            self.sizes,
            [
                (f"{prefix}scoped-{e}-{s}", data.SCOPED_EVENTS, data.ROUND_TWIN_EVENTS)
                for e, s in keys
            ],
            persistent=False,
        )
        by: dict[tuple[str, str, str], Any] = {}
        for subj in shop:
            size, entry, side = subj.label.removeprefix(prefix).split("-")
            by[(size.replace("typ", "typical"), entry, side)] = subj
        for m in members:
            _, entry, side = m.label.removeprefix(prefix).split("-")
            by[("scoped", entry, side)] = m
        return by, shop, members

    # --- one task through one entry point ---------------------------------------------------------

    def typical_customer(self) -> Identity:
        self.picks += 1
        n = self.sizes.customers
        return Identity("email", f"c{1 + (self.picks * 7919) % n}@example.com")

    def run_troth(self, kind: str, entry: str, ident: Identity, tenant: int | None) -> int:
        scope_s = {"tenant": str(tenant)} if tenant else None
        scope_i = {"tenant": tenant} if tenant else None
        if entry == "engine":
            fn = self.troth.engine_access if kind == "access" else self.troth.engine_erase
            return fn(ident, scope_i)
        if entry == "api":
            fn2 = self.troth.api_access if kind == "access" else self.troth.api_erase
            return fn2(ident, scope_s)
        if entry == "http":
            return self.troth.http(kind, ident, scope_s)
        return self.troth.cli(kind, ident, scope_s)

    def hand_fn(
        self, kind: str, entry: str, ident: Identity, tenant: int | None
    ) -> Callable[[], int]:
        part = "members" if tenant else "shop"
        if entry == "cli":
            out = self.tmp / "psql"
            out.mkdir(exist_ok=True)
            script = self.hand.psql_script(kind, part, ident.value, tenant, out)

            def run() -> int:
                self.hand.psql(script, single_transaction=kind == "erase")
                return -1

            return run
        if kind == "erase":
            return lambda: self.hand.erase(part, ident.value, tenant)
        if entry in ("api", "http"):
            zpath = self.tmp / "hand.zip"
            return lambda: self.hand.access_export(part, ident.value, zpath, tenant)
        return lambda: self.hand.access_rows(part, ident.value, tenant)

    def pair(
        self,
        kind: str,
        size: str,
        entry: str,
        troth_first: bool,
        t_ident: Identity,
        h_ident: Identity,
        tenant: int | None,
        expect: int | None,
    ) -> tuple[float, float]:
        hand = self.hand_fn(kind, entry, h_ident, tenant)

        def troth() -> int:
            return self.run_troth(kind, entry, t_ident, tenant)

        order = [("t", troth), ("h", hand)] if troth_first else [("h", hand), ("t", troth)]
        got: dict[str, tuple[float, Any]] = {side: timed(fn) for side, fn in order}
        (t_ms, t_rows), (h_ms, h_rows) = got["t"], got["h"]
        if expect is not None:
            assert t_rows == expect, (kind, size, entry, "troth", t_rows, expect)
            if h_rows != -1:
                assert h_rows == expect, (kind, size, entry, "hand", h_rows, expect)
        return t_ms, h_ms

    def record(self, key: tuple[str, str, str], ts: list[float], hs: list[float]) -> None:
        p = self.results.setdefault(key, Pair())
        p.troth += ts
        p.hand += hs
        p.ratios.append(statistics.median(ts) / statistics.median(hs))

    # --- rounds -----------------------------------------------------------------------------------

    def one_round(self, r: int) -> None:
        by, shop, members = self.round_subjects("")
        data.reset_round(self.admin, self.sizes, shop, members)
        data.settle(self.admin)
        self.loads.append(os.getloadavg()[0])
        entries = ENTRIES[r % len(ENTRIES) :] + ENTRIES[: r % len(ENTRIES)]
        tenant = data.TENANT
        for kind in ("access", "erase"):
            for size in ("typical", "heavy", "scoped"):
                for i, entry in enumerate(entries):
                    troth_first = (r + i) % 2 == 0
                    scoped = size == "scoped"
                    cheap = kind == "access" and size == "typical" and entry != "cli"
                    repeat = self.args.repeat if cheap else 1
                    ts, hs = [], []
                    for k in range(repeat):
                        first = troth_first if k % 2 == 0 else not troth_first
                        if kind == "access":
                            if size == "typical":
                                ident, expect = self.typical_customer(), 43
                            elif size == "heavy":
                                ident, expect = Identity("email", self.heavy_a.email), 20_003
                            else:
                                ident = Identity("member_email", self.scoped_a.email)
                                expect = self.scoped_a.rows
                            t, h = self.pair(
                                kind, size, entry, first, ident, ident,
                                tenant if scoped else None, expect,
                            )  # fmt: skip
                        else:
                            ts_subj, hs_subj = by[(size, entry, "t")], by[(size, entry, "h")]
                            name = "member_email" if scoped else "email"
                            t, h = self.pair(
                                kind, size, entry, first,
                                Identity(name, ts_subj.email), Identity(name, hs_subj.email),
                                tenant if scoped else None, self.erase_rows(size),
                            )  # fmt: skip
                            self.check_erased(ts_subj)
                            self.check_erased(hs_subj)
                        ts.append(t)
                        hs.append(h)
                    self.record((kind, size, entry), ts, hs)
        self.loads.append(os.getloadavg()[0])

    def erase_rows(self, size: str) -> int:
        """Rows an erasure changes: customer, 2 addresses deleted, orders and items masked; a
        member masked and its events deleted."""
        if size == "typical":
            return 1 + 2 + 10 + 30
        if size == "heavy":
            return 1 + 2 + data.HEAVY_ORDERS * 4
        return 1 + data.SCOPED_EVENTS

    def check_erased(self, subj: Any) -> None:
        c = self.admin
        if isinstance(subj, data.ShopSubject):
            row = c.execute(
                "SELECT (SELECT count(*) FROM customers WHERE id = %s AND length(email) = 64 "
                "AND phone IS NULL), (SELECT count(*) FROM addresses WHERE customer_id = %s), "
                "(SELECT count(*) FROM orders WHERE customer_id = %s AND note <> '[redacted]')",
                (subj.id, subj.id, subj.id),
            ).fetchone()
            assert row == (1, 0, 0), (subj.label, row)
            return
        row = c.execute(
            "SELECT (SELECT count(*) FROM members WHERE id = %s AND length(email) = 64), "
            "(SELECT count(*) FROM member_events WHERE member_id = %s), "
            "(SELECT count(*) FROM members WHERE id = %s AND email = %s), "
            "(SELECT count(*) FROM member_events WHERE member_id = %s AND body <> '[redacted]')",
            (subj.id, subj.id, subj.id + 1, subj.email, subj.id + 1),
        ).fetchone()
        assert row == (1, 0, 1, subj.twin_events), (subj.label, row)

    # --- the effects of every path, hashed ---------------------------------------------------------

    def verify(self) -> None:
        """Erase one subject per task by all six paths from the same state; hash the rows."""
        by, shop, members = self.round_subjects("v")
        paths: list[tuple[str, Callable[[str, Identity, int | None], Any]]] = [
            ("engine", lambda k, i, t: self.run_troth("erase", "engine", i, t)),
            ("api", lambda k, i, t: self.run_troth("erase", "api", i, t)),
            ("cli", lambda k, i, t: self.run_troth("erase", "cli", i, t)),
            ("http", lambda k, i, t: self.run_troth("erase", "http", i, t)),
            ("hand", lambda k, i, t: self.hand_fn("erase", "api", i, t)()),
            ("psql", lambda k, i, t: self.hand_fn("erase", "cli", i, t)()),
        ]
        digests: dict[str, set[str]] = {}
        for name, run in paths:
            data.reset_round(self.admin, self.sizes, shop, members)
            for size in ("typical", "heavy", "scoped"):
                subj = by[(size, "engine", "t")]
                if size == "scoped":
                    twin_before = data.member_digest(self.admin, subj.id + 1)
                    run("erase", Identity("member_email", subj.email), data.TENANT)
                    assert data.member_digest(self.admin, subj.id + 1) == twin_before, name
                    d = data.member_digest(self.admin, subj.id)
                else:
                    run("erase", Identity("email", subj.email), None)
                    d = data.shop_digest(self.admin, subj)
                digests.setdefault(size, set()).add(d)
                self.check_erased(subj)
            print(f"  verified: {name} erased the three subjects")
        for size, ds in digests.items():
            assert len(ds) == 1, f"{size}: the paths left different rows: {sorted(ds)}"
        print("  every path left byte-identical rows; the other tenant's rows are unchanged")

    def close(self) -> None:
        self.troth.close()
        self.hand.close()
        self.admin.close()


def export_rss(bench: Bench) -> tuple[float, int]:
    """Peak RSS (MB) of a process running the full access request with its zip export: the
    kernel's high-water mark of the process's own memory (``VmHWM``; ``ru_maxrss`` would count
    the bench process it was forked from)."""
    code = textwrap.dedent(f"""
        from pathlib import Path
        from troth.dsr import Identity, access
        r = access({str(bench.troth.project_dir)!r}, [Identity("email", {bench.export.email!r})],
                   output=Path({str(bench.tmp)!r}) / "export.zip")
        assert r.status == "completed", r.request
        hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
        print(int(hwm.split()[1]), r.rows())
    """)
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=bench.troth.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]) / 1024, int(out[1])


def fmt_ms(values: list[float]) -> str:
    med = statistics.median(values)
    return f"{med:,.1f} ms [{min(values):,.1f}–{max(values):,.1f}]"


def report(bench: Bench, rss: tuple[float, int], started: float) -> dict[str, Any]:
    s = bench.sizes
    rows = {
        "customers": s.customers + 2,
        "addresses": 2 * s.customers + 4,
        "orders": s.orders + data.HEAVY_ORDERS + data.EXPORT_ORDERS,
        "order_items": 3 * (s.orders + data.HEAVY_ORDERS + data.EXPORT_ORDERS),
        "tenants": data.TENANTS,
        "members": s.members + 2,
        "member_events": s.events + data.SCOPED_EVENTS + data.TWIN_EVENTS,
    }
    with psycopg.connect(bench.dsn) as c:
        settings = dict(
            c.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN ('autovacuum', "
                "'shared_buffers', 'jit', 'synchronous_commit', 'server_version')"
            ).fetchall()
        )
    print(f"\nPostgreSQL {settings.get('server_version')} at {bench.dsn.rsplit('@', 1)[1]}; "
          f"settings {({k: v for k, v in settings.items() if k != 'server_version'})}")  # fmt: skip
    print("load (rows per table, plus the round's erased subjects): "
          + ", ".join(f"{k} {v:,}" for k, v in rows.items()))  # fmt: skip
    print("the person's rows: typical customer 43 (1 + 2 addresses + 10 orders + 30 items); "
          "heavy customer 20,003; scoped member 30,001 in tenant 7 (composite key "
          f"(tenant_id, member_id, seq)), the same e-mail in tenant 8 with {data.TWIN_EVENTS:,} "
          "events (untouched)")  # fmt: skip
    loads = bench.loads
    start = ", ".join(f"{x:.2f}" for x in bench.load_start)
    print(f"load average before the bench (1, 5, 15 min): {start}; the bench itself adds ~1")
    print(f"load average (1 min) before/after each round: min {min(loads):.2f}, "
          f"median {statistics.median(loads):.2f}, max {max(loads):.2f} on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"rounds {bench.args.rounds}, typical access {bench.args.repeat} pairs per round "
          f"(engine, api); total {time.perf_counter() - started:.0f} s\n")  # fmt: skip
    head = f"{'task':<26}{'entry':<8}{'troth median [min–max]':<30}{'baseline':<10}"
    print(head + f"{'median [min–max]':<28}{'ratio [min–max]':<22}target")
    out: dict[str, Any] = {
        "rows": rows,
        "settings": settings,
        "load_start": bench.load_start,
        "loads": loads,
        "results": [],
    }
    labels = {"typical": "typical customer", "heavy": "heavy customer", "scoped": "scoped member"}
    for (kind, size, entry), p in bench.results.items():
        ratio = statistics.median(p.ratios)
        target = TARGETS.get((kind, size, entry), "")
        if target.endswith("ms"):
            ok = statistics.median(p.troth) <= float(target.split()[1])
            target += " ✔" if ok else " ✘"
        elif target:
            target += " ✔" if ratio <= float(target.split()[1].rstrip("×")) else " ✘"
        print(f"{kind + ', ' + labels[size]:<26}{entry:<8}{fmt_ms(p.troth):<30}"
              f"{BASELINE[entry]:<10}{fmt_ms(p.hand):<28}"
              f"{ratio:>5.2f}× [{min(p.ratios):.2f}–{max(p.ratios):.2f}]{'':<6}{target}")  # fmt: skip
        out["results"].append(
            {"kind": kind, "size": size, "entry": entry, "troth_ms": p.troth, "hand_ms": p.hand,
             "ratios": p.ratios, "target": target}
        )  # fmt: skip
    sch = bench.troth.schema_ms
    print(f"\nschema read per request (inside the engine figures): median "
          f"{statistics.median(sch):.1f} ms [{min(sch):.1f}–{max(sch):.1f}]")  # fmt: skip
    print(f"access export, peak RSS ({rss[1]:,} rows, troth.dsr.access in a fresh process): "
          f"{rss[0]:.1f} MB (target ≤ 150 MB)")  # fmt: skip
    out["schema_ms"] = sch
    out["export_rss_mb"] = rss[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 100k customers")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (at least 5)")
    parser.add_argument("--repeat", type=int, default=5, help="typical-access pairs per round")
    parser.add_argument("--quick", action="store_true", help="scale 0.1, 5 rounds")
    parser.add_argument("--json", type=Path, help="write every sample here")
    args = parser.parse_args()
    if args.quick:
        args.scale, args.rounds = 0.1, 5
    if args.rounds < 5:
        parser.error("--rounds must be at least 5")
    started = time.perf_counter()
    sizes = data.Sizes.at(args.scale)
    dsn = db_dsn(args.scale)
    prepare(dsn, sizes)
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(args, dsn, sizes, Path(tmp))
        try:
            bench.load_start = os.getloadavg()
            print(f"load average at start (1, 5, 15 min): {bench.load_start}")
            print("checking that every path erases the same rows:")
            bench.verify()
            for r in range(args.rounds):
                t0 = time.perf_counter()
                bench.one_round(r)
                print(f"round {r + 1}/{args.rounds}: {time.perf_counter() - t0:.0f} s, "
                      f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
            rss = export_rss(bench)
            out = report(bench, rss, started)
        finally:
            bench.close()
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

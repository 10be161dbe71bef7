"""Benchmark of the privacy centre under load (a script, not a test).

    PYTHONPATH=src .venv/bin/python bench/bench_centre.py [--clients 200] [--seconds 60]
    PYTHONPATH=src .venv/bin/python bench/bench_centre.py --only pages --generator wrk

``--generator wrk`` runs the page GETs with ``wrk`` (C; Debian package ``wrk``; script
``bench/centre_pages.lua``, ``--wrk-threads`` threads, 2 by default) instead of the Python generator, whose own CPU competes
with the server on a small machine. The codes always use the Python generator (they need each
client's CSRF cookie and token).

Starts ``troth serve examples/mydigisoft`` (``--workers N`` uvicorn processes, default 1) on a fresh
PostgreSQL state DB,
with an aiosmtpd server catching the mail, then runs two closed-loop loads of ``--clients``
keep-alive connections for ``--seconds`` each (plain asyncio streams, so the load generator is not
a client library's pool):

1. page GETs, round-robin over /privacy, /privacy/request, /privacy/policy, /privacy/preferences;
2. wrong codes: each client posts wrong codes to its own pre-issued codes (five each, with its
   CSRF cookie and token): the check alone (count the try, compare the keyed hash);
3. right codes: each client posts the right code of its own codes: the check, then the filing
   (the request through troth.dsr.requests, its ledger entries, the "received" notice by SMTP).

Prints requests/s, p50/p95/p99 latency, errors and the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "examples" / "mydigisoft"
PG_ADMIN = os.environ.get("TROTH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
KEY = "bench-centre-secret-0123456789abcdef"
PAGES = ["/privacy", "/privacy/request", "/privacy/policy", "/privacy/preferences"]
CSRF = re.compile(rb'name="csrf" value="([^"]+)"')


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def http(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, dict[bytes, bytes], bytes]:
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        if b":" in line:
            k, v = line.split(b":", 1)
            headers.setdefault(k.strip().lower(), v.strip())
    body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return status, headers, body


def get(path: str, cookie: bytes = b"") -> bytes:
    extra = b"Cookie: " + cookie + b"\r\n" if cookie else b""
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n".encode() + extra + b"\r\n"


def post(path: str, form: bytes, cookie: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(form)}\r\n".encode()
        + b"Cookie: "
        + cookie
        + b"\r\n\r\n"
        + form
    )


async def run_load(
    base_port: int, clients: int, seconds: float, make: Any
) -> tuple[list[float], int]:
    """*clients* connections each running ``make(i)`` (an async generator of requests)."""
    latencies: list[float] = []
    errors = 0
    kinds: Counter[str] = Counter()
    end = time.monotonic() + seconds

    async def one(i: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", base_port)
        try:
            async for request, ok in make(i, reader, writer):
                if time.monotonic() > end:
                    break
                t0 = time.perf_counter()
                try:
                    status, _, body = await http(reader, writer, request)
                except (OSError, asyncio.IncompleteReadError) as exc:
                    errors += 1
                    kinds[type(exc).__name__] += 1
                    reader, writer = await asyncio.open_connection("127.0.0.1", base_port)
                    continue
                latencies.append(time.perf_counter() - t0)
                if status not in ok:
                    errors += 1
                    kinds[f"HTTP {status}"] += 1
                    if os.environ.get("BENCH_DEBUG"):
                        print(request[:200], status, body[:300])
        finally:
            writer.close()

    await asyncio.gather(*(one(i) for i in range(clients)))
    if kinds:
        print(f"  errors by kind: {dict(kinds)}")
    return latencies, errors


def report(name: str, latencies: list[float], errors: int, seconds: float) -> None:
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    print(
        f"{name}: {len(latencies) / seconds:,.0f} req/s, {len(latencies):,} requests, "
        f"p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, "
        f"errors {errors}"
    )


def wrk_pages(port: int, clients: int, seconds: float, threads: int = 2) -> None:
    """The page GETs by wrk: requests/s, p50/p95/p99 and errors from its Lua summary."""
    script = Path(__file__).with_name("centre_pages.lua")
    cmd = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{int(seconds)}s", "-s", str(script)]
    out = subprocess.run(
        [*cmd, f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True
    ).stdout
    fields = {
        line.split(" ", 2)[1]: line.split(" ", 2)[2]
        for line in out.splitlines()
        if line.startswith("wrk ")
    }
    done, took = (float(x) for x in fields["requests"].split(" seconds "))
    errors = sum(int(x) for x in fields["errors"].split()[1::2])
    print(
        f"page GETs (wrk -t{threads} -c{clients}): {done / took:,.0f} req/s, "
        f"p50 {float(fields['p50']):.1f} ms, p95 {float(fields['p95']):.1f} ms, "
        f"p99 {float(fields['p99']):.1f} ms, errors {errors} ({fields['errors']})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--only", default="pages,wrong,right", help="parts to run")
    parser.add_argument("--workers", type=int, default=1, help="troth serve --workers N")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk -tN")
    parser.add_argument(
        "--generator", choices=("python", "wrk"), default="python", help="for the page GETs"
    )
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    name = f"troth_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    sink, smtp_port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    port = free_port()
    home = Path(tempfile.mkdtemp(prefix="troth-bench-centre-"))
    env = {
        **os.environ,
        "TROTH_HOME": str(home),
        "TROTH_SECRET_KEY": KEY,
        "TROTH_SMTP_HOST": "127.0.0.1",
        "TROTH_SMTP_PORT": str(smtp_port),
        "TROTH_SMTP_FROM": "privacy@shop.example.com",
    }
    troth = str(Path(sys.executable).parent / "troth")
    cmd = [troth, "serve", str(PROJECT), "--port", str(port), "--db", url]
    cmd += ["--workers", str(args.workers)]
    print(f"troth serve --workers {args.workers}")
    log = (home / "serve.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    print(f"troth serve log: {home / 'serve.log'}")
    try:
        import httpx

        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)

        async def pages(i: int, reader: Any, writer: Any) -> Any:
            n = i
            while True:
                yield get(PAGES[n % len(PAGES)]), {200}
                n += 1

        parts = set(args.only.split(","))
        if "pages" in parts and args.generator == "wrk":
            wrk_pages(port, args.clients, args.seconds, args.wrk_threads)
        elif "pages" in parts:
            lat, err = asyncio.run(run_load(port, args.clients, args.seconds, pages))
            report("page GETs", lat, err, args.seconds)

        # codes issued ahead, as the centre does (one keyed hash each), enough for the run
        from troth.centre.codes import Codes
        from troth.config import Settings
        from troth.store import open_store

        settings = Settings.from_env({"TROTH_HOME": str(home), "TROTH_SECRET_KEY": KEY})
        codes = Codes(open_store(settings.with_database(url)), settings.secret_key)

        def issue(per_client: int, tag: str) -> list[list[tuple[str, str]]]:
            out: list[list[tuple[str, str]]] = [[] for _ in range(args.clients)]
            t0 = time.perf_counter()
            for i in range(args.clients):
                for j in range(per_client):
                    who = f"bench{tag}{i}-{j}@example.com"
                    payload = {"kind": "access", "identity": ["email", who], "details": {}}
                    out[i].append(codes.issue("request", f"h:{tag}{i}-{j}", payload))
            took = time.perf_counter() - t0
            print(f"issued {args.clients * per_client:,} codes in {took:.1f} s")
            return out

        def verifying(issued: list[list[tuple[str, str]]], right: bool) -> Any:
            async def run(i: int, reader: Any, writer: Any) -> Any:
                _, headers, body = await http(reader, writer, get("/privacy/request"))
                cookie = headers[b"set-cookie"].split(b";")[0]
                token = CSRF.search(body).group(1)  # type: ignore[union-attr]
                for code_id, code in issued[i]:
                    wrong = f"{(int(code) + 1) % 10**6:06d}"
                    attempts = [code] if right else [wrong] * 5
                    for attempt in attempts:
                        form = b"csrf=" + token + b"&code=" + attempt.encode()
                        ok = {303} if right else {400}
                        yield post(f"/privacy/verify/{code_id}", form, cookie), ok

            return run

        if "wrong" in parts:
            wrong_codes = issue(max(5, int(args.seconds / 3)), "w")
            load = verifying(wrong_codes, False)
            lat, err = asyncio.run(run_load(port, args.clients, args.seconds, load))
            report("wrong codes (count the try, compare the keyed hash)", lat, err, args.seconds)
        if "right" in parts:
            right_codes = issue(max(2, int(args.seconds / 8)), "r")
            load = verifying(right_codes, True)
            lat, err = asyncio.run(run_load(port, args.clients, args.seconds, load))
            report("right codes (file the request, received notice)", lat, err, args.seconds)
        print(f"mail sent during the run: {sink.count:,}")
    finally:
        proc.terminate()
        proc.wait(10)
        controller.stop()
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""Benchmark: `troth check` on a generated policy with N categories, purposes and retention rules.

    python bench/bench_check.py [--size 2000]

Prints the time to load + validate and to run every check, in process and as the `troth check`
command (process start included). Target: <= 1 s for 2,000 of each.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from troth.policy.checks import run_checks
from troth.policy.loader import load_policy


def generate(n: int) -> str:
    cats = [f"user.behavior.generated_{i}" for i in range(n)]
    doc = {
        "troth": 1,
        "policy": {"id": "bench", "version": "1.0.0", "changes": {"notice": "prior_notice"}},
        "organisation": {
            "name": "Bench Ltd",
            "address": "1 Example Street",
            "contact": {"email": "privacy@bench.example.com"},
            "dpo": [{"email": "dpo@bench.example.com"}],
        },
        "jurisdictions": ["gdpr"],
        "taxonomy": {
            "data_categories": [{"key": k, "name": f"Generated {i}"} for i, k in enumerate(cats)]
        },
        "data_categories": [{"key": k} for k in cats],
        "purposes": [
            {
                "id": f"purpose_{i}",
                "name": f"Purpose {i}",
                "use": "essential.service.operations",
                "legal_basis": "contract",
                "categories": [cats[i], cats[(i + 1) % n]],
            }
            for i in range(n)
        ],
        "collection_points": [
            {"id": "app", "name": "App", "kind": "product_usage", "categories": cats[:50]}
        ],
        "retention": [
            {
                "id": f"rule_{i}",
                "categories": [cats[i]],
                "period": "2 years",
                "trigger": "last_activity",
            }
            for i in range(n)
        ],
        "recipients": [
            {
                "id": f"processor_{i}",
                "name": f"Processor {i}",
                "type": "processor",
                "categories": [cats[i]],
            }
            for i in range(0, n, 10)
        ],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=2000)
    args = parser.parse_args()
    text = generate(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yaml"
        path.write_text(text)
        t0 = time.perf_counter()
        doc = load_policy(path)
        t1 = time.perf_counter()
        report = run_checks(doc)
        t2 = time.perf_counter()
        cli = [sys.executable, "-m", "troth", "check", str(path), "--min-severity", "error"]
        t3 = time.perf_counter()
        proc = subprocess.run(cli, capture_output=True, text=True, check=False)
        t4 = time.perf_counter()
    print(
        f"policy: {args.size} categories, {args.size} purposes, {args.size} rules, {len(text) / 1e6:.1f} MB YAML"
    )
    print(f"load + validate : {(t1 - t0) * 1000:8.1f} ms")
    print(
        f"run all checks  : {(t2 - t1) * 1000:8.1f} ms ({report.checks_run} checks, {len(report.findings)} findings)"
    )
    print(f"in process total: {(t2 - t0) * 1000:8.1f} ms")
    print(f"`troth check`   : {(t4 - t3) * 1000:8.1f} ms (whole command, exit {proc.returncode})")


if __name__ == "__main__":
    main()

"""Conformance probes (``troth prove PATH --live URL``): exercise a promise on a running
deployment with a synthetic canary subject, and say whether it held.

- **consent withdrawal** (every consent's promises, e.g. MD-3): a canary gives the consent, a
  purpose decision allows; the canary withdraws it, and decisions must deny within a second;
- **retention** (every retention rule's promises, e.g. PL-11): the sweep's dry run against the
  live stores finds no expired row outside a hold (reads counts, changes nothing).

A canary is a fresh random identifier (``troth-canary-<hex>``) that no person has; its consent
events stay in the append-only ledger, marked by that identifier's channel ``troth-probe``.
Probes never read or change a real person's data.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from troth.policy.model import Policy

#: seconds a withdrawal may take to show in decisions
WITHDRAWAL_WITHIN = 1.0
CHANNEL = "troth-probe"


@dataclass(frozen=True)
class ProbeResult:
    probe: str
    promises: tuple[str, ...]
    passed: bool | None  # None: skipped
    reason: str
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "probe": self.probe,
            "promises": list(self.promises),
            "passed": self.passed,
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
        }


Post = Callable[[str, dict[str, Any]], dict[str, Any]]
Get = Callable[[str], dict[str, Any]]


def http_client(base: str, key: str, timeout: float = 10.0) -> tuple[Post, Get]:
    """A JSON POST and GET to ``base`` with the API key; each raises on a non-2xx answer."""
    import httpx

    client = httpx.Client(
        base_url=base.rstrip("/"),
        headers={"Authorization": f"Bearer {key}"},
        timeout=timeout,
    )

    def answer(r: httpx.Response, what: str) -> dict[str, Any]:
        if r.status_code >= 300:
            raise ProbeError(f"{what} answered {r.status_code}", r.status_code)
        out: dict[str, Any] = r.json()
        return out

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        return answer(client.post(path, json=body), f"POST {path}")

    def get(path: str) -> dict[str, Any]:
        return answer(client.get(path), f"GET {path}")

    return post, get


def http_post(base: str, key: str, timeout: float = 10.0) -> Post:
    """A JSON POST to ``base`` with the API key; raises on a non-2xx answer."""
    return http_client(base, key, timeout)[0]


class ProbeError(Exception):
    """A deployment answered a probe's call with an error."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def consent_probes(policy: Policy, post: Post) -> list[ProbeResult]:
    out = []
    for consent in policy.consents:
        if not consent.purposes:
            continue
        purpose = consent.purposes[0]
        canary = f"troth-canary-{secrets.token_hex(8)}"
        name = f"consent withdrawal: {consent.id}"
        promises = tuple(consent.promises)
        start = time.monotonic()
        try:
            post(
                "/api/v1/consent/events",
                {"subject": canary, "consent_id": consent.id, "kind": "given", "channel": CHANNEL},
            )
            if not post("/api/v1/decisions", {"subject": canary, "purpose": purpose})["allowed"]:
                out.append(ProbeResult(name, promises, False, f"{purpose} is denied after consent"))
                continue
            post(
                "/api/v1/consent/withdraw",
                {"subject": canary, "consent_id": consent.id, "channel": CHANNEL},
            )
            withdrawn = time.monotonic()
            denied = False
            while time.monotonic() - withdrawn <= WITHDRAWAL_WITHIN:
                d = post("/api/v1/decisions", {"subject": canary, "purpose": purpose})
                if not d["allowed"]:
                    denied = True
                    break
                time.sleep(0.05)
            took = time.monotonic() - withdrawn
        except (ProbeError, OSError, KeyError, ValueError) as exc:
            reason = str(exc) if isinstance(exc, ProbeError) else type(exc).__name__
            out.append(ProbeResult(name, promises, False, f"the deployment failed: {reason}"))
            continue
        if denied:
            reason = f"{purpose} denied {took * 1000:.0f} ms after the withdrawal"
        else:
            reason = f"{purpose} still allowed {WITHDRAWAL_WITHIN:.0f} s after the withdrawal"
        out.append(ProbeResult(name, promises, denied, reason, time.monotonic() - start))
    return out


def retention_probes(project: Any, key: bytes, env: Mapping[str, str] | None) -> list[ProbeResult]:
    """The sweep's dry run: expired rows outside a hold, per rule (none: the promise holds)."""
    from troth.errors import TrothError
    from troth.retention.plan import Stores, build_plan

    policy: Policy = project.policy.policy
    rules = [r for r in policy.retention if r.enforced_period is not None]
    if not rules or project.datamap is None:
        return []
    start = time.monotonic()
    stores = Stores(env)
    try:
        plan = build_plan(project, stores, key=key)
    except TrothError as exc:
        return [
            ProbeResult(f"retention: {r.id}", tuple(r.promises), None, f"skipped: {exc.one_line()}")
            for r in rules
        ]
    finally:
        stores.close()
    took = time.monotonic() - start
    out = []
    for rule in rules:
        items = [i for i in plan.items if i.binding.rule.id == rule.id]
        expired = sum(i.delete + i.anonymise for i in items)
        held = sum(i.held for i in items)
        if not items:
            out.append(
                ProbeResult(
                    f"retention: {rule.id}", tuple(rule.promises), None, "no table bound to it"
                )
            )
            continue
        passed = expired == 0
        reason = (
            f"no expired row outside a hold ({held} held)"
            if passed
            else f"{expired} expired row(s) outside a hold still stored"
        )
        out.append(ProbeResult(f"retention: {rule.id}", tuple(rule.promises), passed, reason, took))
    return out

"""The conformance probe of erasure through the request API (each ``erasure`` right, e.g. PL-12).

A canary subject with an e-mail address in the reserved ``.invalid`` domain (RFC 6761) is erased:

1. **before anything is filed**, the erasure's resolution step against the live stores
   (``TROTH_CONN_*``; reads only: the rows the canary's identity and their owned rows reach)
   must reach no row: a canary that reaches any row is not filed, and the probe fails with the
   count, so it can never erase a real person's data;
2. the erasure is filed through ``POST /api/v1/requests`` as verified (and approved by the probe
   when the policy wants a reviewer: the canary is the probe's own);
3. the probe polls ``GET /api/v1/requests/{id}`` until the workers complete it: it passes when
   the request completed before its due date, having erased nothing.

Canary rows are not inserted into the customer stores: troth has no write path into them that
is not an erasure, and writing synthetic rows into a production table is itself a change to it.
What the probe proves is that an erasure filed through the request API is accepted, run by the
deployment's workers and completed within its deadline; that rows of a matching person are
erased is shown by the request evidence of ``troth prove`` and the DSR tests.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from troth.config import Settings
from troth.policy.model import Policy
from troth.prove.disclosure_probe import canary_email
from troth.prove.probes import Get, Post, ProbeError, ProbeResult

#: seconds the probe waits for the deployment's workers to complete the canary's erasure
WAIT = 60.0
DONE = ("completed", "failed", "denied")


def erasure_probes(
    project: Any,
    settings: Settings,
    env: Mapping[str, str] | None,
    post: Post,
    get: Get,
    wait: float = WAIT,
) -> list[ProbeResult]:
    policy: Policy = project.policy.policy
    promises = tuple(p for r in policy.rights if r.right == "erasure" for p in r.promises)
    if not promises:
        return []
    name = "erasure through the request API"
    if project.datamap is None:
        return [ProbeResult(name, promises, None, "skipped: the project has no data map")]
    email = canary_email()
    reached = _dry_run(project, email, settings, env)
    if isinstance(reached, str):
        return [ProbeResult(name, promises, None, f"skipped: {reached}")]
    if reached:
        reason = f"the canary reaches {reached} row(s) in the stores: not filed"
        return [ProbeResult(name, promises, False, reason)]
    start = time.monotonic()
    try:
        info = post(
            "/api/v1/requests",
            {"type": "erasure", "identities": {"email": email}, "verified": True},
        )
        rid = str(info["id"])
        if info["status"] == "identity_verified":  # a reviewer is wanted: the canary is ours
            info = post(f"/api/v1/requests/{rid}/approve", {})
        while info["status"] not in DONE and time.monotonic() - start < wait:
            time.sleep(0.2)
            info = get(f"/api/v1/requests/{rid}")
    except (ProbeError, OSError, KeyError, TypeError, ValueError) as exc:
        reason = str(exc) if isinstance(exc, ProbeError) else type(exc).__name__
        return [ProbeResult(name, promises, False, f"the deployment failed: {reason}")]
    took = time.monotonic() - start
    return [ProbeResult(name, promises, *_verdict(info, wait, took), took)]


def _verdict(info: Mapping[str, Any], wait: float, took: float) -> tuple[bool, str]:
    status = info["status"]
    if status not in DONE:
        return False, f"not completed {wait:.0f} s after filing (status {status}): no worker ran it"
    if status != "completed":
        return False, f"the canary's erasure ended {status}: {info.get('reason') or 'no reason'}"
    rows = int((info.get("result") or {}).get("rows", 0))
    if rows:
        return False, f"the canary's erasure changed {rows} row(s)"
    done, due = _at(info["updated_at"]), _at(info["due_at"])
    if done > due:
        return False, f"completed at {info['updated_at']}, after its due date {info['due_at']}"
    return True, f"completed {took:.1f} s after filing, due by {info['due_at']}; no row reached"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).replace(tzinfo=None)


def _dry_run(
    project: Any, email: str, settings: Settings, env: Mapping[str, str] | None
) -> int | str:
    """Rows the canary's identity reaches in the stores (the erasure's resolution step, reads
    only), or why the stores could not be read."""
    from troth.dsr.identity import Identity
    from troth.dsr.resolve import resolve
    from troth.dsr.run import Run
    from troth.errors import TrothError

    try:
        run = Run(project, [Identity("email", email)], "erase", settings, None, "probe", env, None)
        try:
            run.ping()
            res = resolve(
                run.plan,
                run.stores,
                run.identities,
                datamap=run.datamap,
                scope=run.typed_scope(),
                keys_only=True,
            )
        finally:
            run.stores.close()
    except TrothError as exc:
        return exc.one_line()
    return sum(res.counts.values())

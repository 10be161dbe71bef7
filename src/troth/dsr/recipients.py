"""The Art. 19 notices of a request run (:mod:`troth.sharing.notices`): planned before its first
write (refused when a recipient cannot be told), queued before it is marked completed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from troth.dsr.run import Run
from troth.sharing.notices import PlannedNotice, plan_notices, queue_notices


def plan_for_run(run: Run, kind: str) -> list[PlannedNotice]:
    return plan_notices(
        run.project.policy.policy,
        run.datamap,
        run.engine,
        run.settings.secret_key,
        run.identities,
        kind,
    )


def queue_for_run(
    run: Run,
    request_id: str,
    kind: str,
    planned: Sequence[PlannedNotice],
    actor: str,
    fields: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Queue the Art. 19 notices before the request is marked completed (a resumed request
    queues each once)."""
    key = run.settings.secret_key
    queue_notices(run.engine, key, request_id, kind, planned, run.identities, fields=fields,
                  actor=actor)  # fmt: skip
    return [p.to_dict() for p in planned]

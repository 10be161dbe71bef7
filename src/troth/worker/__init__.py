"""troth's workers: the jobs (:mod:`.jobs`), the embedded default of ``troth serve``
(:mod:`.embedded`) and ``troth worker`` on the Procrastinate task queue (:mod:`.engine`).

State changes write their jobs to the transactional outbox (:mod:`troth.store.outbox`) in the
same transaction; a relay hands them to the engine. See docs/architecture.md.
"""

from __future__ import annotations

from troth.worker.jobs import Context, JobCall, RetryLater, jobs_for, run_request, sweep_retention

__all__ = ["Context", "JobCall", "RetryLater", "jobs_for", "run_request", "sweep_retention"]

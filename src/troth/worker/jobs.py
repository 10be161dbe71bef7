"""The jobs troth's workers run, the same in every mode (embedded thread or task engine).

Every job is idempotent: it reads the request's state first and does nothing when there is
nothing left to do, so a job delivered twice (at-least-once) has one effect. An erasure that died
half-way resumes where it stopped (:func:`troth.dsr.api.erase` keeps per-store progress).

:func:`jobs_for` turns an outbox message (:mod:`troth.store.outbox`) into the jobs it asks for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from troth.config import Settings
from troth.dsr import api
from troth.dsr.requests import Kind, Requests, Status
from troth.dsr.sealed import is_sealed, unseal
from troth.project import Project, load_project
from troth.store import open_store
from troth.store.outbox import Message
from troth.worker import requester, team, webhooks

log = logging.getLogger("troth.worker")


class RetryLater(Exception):
    """The job failed for a reason that passes (a store is down): run it again after a while."""


@dataclass
class Context:
    """What jobs need: the project, troth's settings and state DB (one per worker process)."""

    project_path: Path
    settings: Settings
    engine: Engine = field(init=False)
    _project: Project | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.engine = open_store(self.settings)

    @property
    def project(self) -> Project:
        if self._project is None:
            self._project = load_project(self.project_path)
        return self._project

    def requests(self, actor: str = "worker") -> Requests:
        return Requests(self.engine, self.settings.secret_key, actor=actor)


@dataclass(frozen=True)
class JobCall:
    """One job to run: its name, its arguments (ids only), and the lock that serialises it."""

    name: str
    args: dict[str, Any]
    lock: str | None = None


#: statuses in which a queued request is run (failed: only when the failure was retryable)
RUNNABLE = (Status.approved, Status.running, Status.failed)


def run_request(ctx: Context, request_id: str, force: bool = False) -> str:
    """Run an approved request filed for the workers; returns its status afterwards.

    Does nothing for a request that ended, waits for approval, or was not filed for the workers
    (no sealed identities: an operator runs it with ``troth dsr``); a failure that does not pass
    by itself runs again only when the team asked (*force*). Raises :class:`RetryLater` when a
    store is down."""
    info = ctx.requests().get(request_id)
    status = Status(info.status)
    refused = status == Status.failed and not info.retryable and not force
    if status not in RUNNABLE or refused:
        return status.value
    sealed = unseal(ctx.engine, ctx.settings.secret_key, request_id)
    if sealed is None:
        return status.value
    common: dict[str, Any] = {
        "settings": ctx.settings,
        "actor": "worker",
        "scope": sealed.scope or None,
    }
    kind = Kind(info.kind)
    if kind == Kind.access:
        result = api.access(ctx.project, sealed.identities, filed=info, **common)
    elif kind == Kind.erasure:
        result = api.erase(ctx.project, sealed.identities, filed=info, **common)
    elif kind == Kind.restriction:
        result = api.restrict(ctx.project, sealed.identities, **common)
    else:  # rectification carries new values: filed and run by an operator (troth dsr rectify)
        return status.value
    if result.request is not None and result.request.id != request_id:
        log.warning("request %s ran as %s (an older open twin)", request_id, result.request.id)
    if result.error is not None and result.error.retryable:
        raise RetryLater(result.error.one_line())
    return result.status


def sweep_retention(ctx: Context, now: datetime | None = None) -> list[str]:
    """Sweep the retention rules due now (from each rule's schedule and last run in the state
    DB); returns the rule ids swept. Serialised cluster-wide by the engine's lock."""
    from troth.retention.schedule import Scheduler, last_runs, start_scheduler

    base = start_scheduler(ctx.settings, ctx.project_path)
    clock: Callable[[], datetime] = (lambda: now) if now is not None else base.clock
    sched = Scheduler(base.policy, base.run, clock, last_runs=last_runs(ctx.engine))
    return sched.run_pending()


def deadline_tick(ctx: Context, now: datetime | None = None) -> int:
    """Send the deadline reminders and overdue alerts due now (each once); returns how many."""
    from troth.dsr.deadlines import due_notices, send_notices
    from troth.store.outbox import now as utc_now

    at = now or utc_now()
    reminders = ctx.project.policy.policy.requests.reminders
    return send_notices(ctx.engine, due_notices(ctx.engine, reminders, at), at)


def jobs_for(
    bind: Engine | Connection, msg: Message, *, hooked: Callable[[str], bool] | None = None
) -> list[JobCall]:
    """The jobs an outbox message asks for (none for a change nobody acts on), read from the
    state DB *bind* (a connection: inside the transaction that writes the message). *hooked*
    tells whether a topic has webhook endpoints (a relay reads them once per batch); default:
    read."""
    calls: list[JobCall] = []
    has_hooks = hooked or (lambda topic: webhooks.has_endpoints(bind, topic))
    if has_hooks(msg.topic):  # first: a hook is not held up by a run
        args = {"event_id": msg.id, "topic": msg.topic, "payload": msg.payload}
        calls.append(JobCall("deliver_webhooks", args, lock=f"webhook:{msg.id}"))
    if msg.topic == "dsr.changed":
        request_id = str(msg.payload["request_id"])
        status = str(msg.payload.get("status"))
        approved = status == Status.approved.value
        if approved and is_sealed(bind, request_id):
            calls.append(JobCall("run_request", {"request_id": request_id}, lock=request_id))
        if status in requester.NOTICES and requester.filed_at_centre(bind, request_id):
            args = {"request_id": request_id, "status": status}
            calls.append(JobCall("notify_requester", args, lock=f"notice:{request_id}"))
    if msg.topic == "recipient.notice":
        notice_id = str(msg.payload["notice_id"])
        calls.append(JobCall("notify_recipient", {"notice_id": notice_id}, lock=f"out:{notice_id}"))
    if msg.topic == "dsr.deadline" and team.team_address() is not None:
        keys = ("request_id", "notice", "type", "due_at", "days_left")
        args = {k: msg.payload[k] for k in keys}
        calls.append(JobCall("notify_team", args, lock=f"team:{args['request_id']}"))
    if msg.topic == "dsr.retry":
        request_id = str(msg.payload["request_id"])
        args = {"request_id": request_id, "force": True}
        calls.append(JobCall("run_request", args, lock=request_id))
    return calls


def deliver_webhooks(ctx: Context, event_id: int, topic: str, payload: dict[str, Any]) -> int:
    """Post the event to its endpoints; raises :class:`RetryLater` while some are pending."""
    left = webhooks.deliver(ctx.engine, ctx.settings.secret_key, event_id, topic, payload)
    if left:
        raise RetryLater(f"{left} webhook deliveries of event {event_id} are pending")
    return 0


def notify_recipient(ctx: Context, notice_id: str) -> str:
    """Send an outbound notice (Art. 19, a consent withdrawal); raises :class:`RetryLater`
    while an attempt failed and attempts are left."""
    import os

    from troth.sharing.channels import deliver_notice

    project = ctx.project
    datamap = project.datamap.datamap if project.datamap else None
    status = deliver_notice(
        ctx.engine, ctx.settings.secret_key, project.policy.policy, datamap, notice_id, os.environ
    )
    if status == "pending":
        raise RetryLater(f"notice {notice_id}: the attempt failed, it is retried")
    return status


#: job name -> function(ctx, **args)
JOBS: dict[str, Callable[..., Any]] = {
    "run_request": run_request,
    "deliver_webhooks": deliver_webhooks,
    "notify_requester": requester.notify_requester,
    "notify_recipient": notify_recipient,
    "notify_team": team.notify_team,
}

"""Deadline reminders and overdue alerts by mail to the privacy team.

A tick of :func:`troth.worker.jobs.deadline_tick` records each reminder or alert once and writes
its ``dsr.deadline`` outbox row (a webhook). When ``TROTH_TEAM_EMAIL`` names the team's address,
that row also asks for :func:`notify_team`, which mails the notice through the e-mail notifier
(``TROTH_NOTIFY_EMAIL``, SMTP by default) and records ``notice.sent`` in the ledger (the request
id and the notice, never an address). A notice already recorded is not mailed again, so a job
delivered twice (at-least-once) sends one mail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from troth.audit import Ledger
from troth.errors import NotifyError
from troth.notify.base import Message, notifier_for
from troth.notify.notices import Notices
from troth.store import connect

if TYPE_CHECKING:
    from troth.worker.jobs import Context

#: the environment variable of the team's address
TEAM_ENV = "TROTH_TEAM_EMAIL"
NOTICE = "team_deadline"
_AUDIT = sa.table("audit_entry", sa.column("kind"), sa.column("subject"), sa.column("data"))


def team_address(env: Mapping[str, str] | None = None) -> str | None:
    """The team's address for deadline mail, or None (webhooks only)."""
    value = (env if env is not None else os.environ).get(TEAM_ENV, "").strip()
    return value or None


def deadline_key(notice: str, due_at: str) -> str:
    """The notice's identity: ``before:7 days@2026-06-07`` (an extension re-arms it)."""
    return f"{notice}@{due_at[:10]}"


def _mailed(engine: sa.Engine, request_id: str, key: str) -> bool:
    stmt = sa.select(_AUDIT.c.data).where(
        _AUDIT.c.kind == "notice.sent", _AUDIT.c.subject == f"dsr:{request_id}"
    )
    with connect(engine) as conn:
        return any(json.loads(d).get("deadline") == key for (d,) in conn.execute(stmt))


def notify_team(
    ctx: Context, request_id: str, notice: str, type: str, due_at: str, days_left: int
) -> str:
    """Mail one reminder (*notice* ``before:...``) or overdue alert (``overdue``) to the team;
    returns what was done."""
    to = team_address()
    if to is None:
        return "no team address"
    key = deadline_key(notice, due_at)
    if _mailed(ctx.engine, request_id, key):
        return "already sent"
    project = ctx.project
    policy = project.policy.policy
    base = os.environ.get("TROTH_PUBLIC_URL") or os.environ.get("TROTH_SERVE_URL") or ""
    context: dict[str, Any] = {
        "organisation": policy.organisation.name,
        "request_id": request_id,
        "kind_label": type,
        "due": due_at[:10],
        "days_left": days_left,
        "overdue": notice == "overdue",
        "console_url": f"{base.rstrip('/')}/admin" if base else "",
    }
    notices = Notices(project.policy.path.parent, policy.policy.language)
    subject, body = notices.render(NOTICE, context)
    try:
        notifier_for("email", dict(os.environ)).send(Message(to=to, subject=subject, text=body))
    except NotifyError as exc:  # the mail server is away: the engine tries again later
        from troth.worker.jobs import RetryLater

        raise RetryLater(exc.one_line()) from None
    data = {"notice": NOTICE, "deadline": key, "channel": "email", "request_id": request_id}
    Ledger(ctx.engine).append("notice.sent", data, actor="worker", subject=f"dsr:{request_id}")
    return "sent"

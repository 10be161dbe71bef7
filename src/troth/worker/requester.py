"""Tell the person who filed a request through the privacy centre how it ended.

When a request filed at ``/privacy`` completes or is denied, the outbox message of that change
asks for :func:`notify_requester`: an access copy is stored encrypted behind a single-use link
and the "completed" notice carries it; another request gets its "completed" notice; a denial its
"denied" notice with the reason. A notice already sent for that request is not sent again
(delivery is at least once; the ledger's ``notice.sent`` entries say what went out).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import sqlalchemy as sa

from troth.dsr.requests import Kind, Status
from troth.errors import ConfigError
from troth.store import connect
from troth.store.db import reading

if TYPE_CHECKING:
    from troth.worker.jobs import Context

_CENTRE = sa.table("centre_request", sa.column("request_id"), sa.column("contact"))
_AUDIT = sa.table("audit_entry", sa.column("kind"), sa.column("subject"), sa.column("data"))
#: the notice each final status sends
NOTICES = {Status.completed.value: "completed", Status.denied.value: "denied"}


def filed_at_centre(engine: sa.Engine | sa.Connection, request_id: str) -> bool:
    """Whether the request was filed through the privacy centre and its contact is kept."""
    with reading(engine) as conn:
        row = conn.execute(
            sa.select(_CENTRE.c.contact).where(_CENTRE.c.request_id == request_id)
        ).first()
    return row is not None and row[0] is not None


def _sent(engine: sa.Engine, request_id: str, notice: str) -> bool:
    stmt = sa.select(_AUDIT.c.data).where(
        _AUDIT.c.kind == "notice.sent", _AUDIT.c.subject == f"dsr:{request_id}"
    )
    with connect(engine) as conn:
        return any(json.loads(d).get("notice") == notice for (d,) in conn.execute(stmt))


def notify_requester(ctx: Context, request_id: str, status: str) -> str:
    """Send the notice of the request's final ``status``; returns what was done."""
    from troth.centre.downloads import Downloads
    from troth.centre.service import Centre

    notice = NOTICES.get(status)
    if notice is None or not filed_at_centre(ctx.engine, request_id):
        return "nothing to send"
    if _sent(ctx.engine, request_id, notice):
        return "already sent"
    base_url = os.environ.get("TROTH_PUBLIC_URL") or os.environ.get("TROTH_SERVE_URL") or ""
    if not base_url:
        raise ConfigError(
            "the notice to the requester needs the privacy centre's public address for its links",
            where="TROTH_PUBLIC_URL",
            fix="set TROTH_PUBLIC_URL (e.g. https://privacy.example.com) for troth worker",
        )
    project = ctx.project
    centre = Centre(
        ctx.engine,
        project.policy.policy,
        project.datamap.datamap if project.datamap else None,
        secret=ctx.settings.secret_key,
        env=dict(os.environ),
        project_dir=project.policy.path.parent,
        base_url=base_url,
    )
    info = centre.requests.get(request_id)
    export = ctx.settings.home / "exports" / f"{request_id}.zip"
    if notice == "completed" and info.kind == Kind.access.value and export.is_file():
        Downloads(centre, ctx.settings.home / "centre").publish(request_id, export)
        return "access copy published"
    centre.notify(request_id, notice, reason=info.reason)
    return f"{notice} notice sent"

"""Deadline reminders and overdue alerts of open requests, each sent once.

:func:`due_notices` finds, in one query over the open requests near or past their due date, the
reminders the policy asks for (``requests.reminders``: durations before the due date) and the
overdue alert that are due now and not yet sent; :func:`send_notices` records each in
``dsr_deadline_notice`` and writes its outbox row (``dsr.deadline``, sent as a webhook) in the same
transaction, so a notice is sent once even when two workers tick together (the second insert
conflicts and rolls back).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from troth.dsr import models as _dsr_models  # noqa: F401  (dsr_request, which its key refers to)
from troth.errors import StoreError
from troth.policy.duration import Duration
from troth.store import outbox
from troth.store.db import connect
from troth.store.models import Base

#: statuses in which the team still owes the person an answer
WAITING = ("received", "identity_verified", "approved", "running", "failed", "paused")


class DeadlineNotice(Base):
    """One reminder or overdue alert sent for a request."""

    __tablename__ = "dsr_deadline_notice"

    request_id: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("dsr_request.id", ondelete="CASCADE"), primary_key=True
    )
    #: ``before:7 days`` or ``overdue``, with the due date it was for (an extension re-arms)
    notice: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    sent_at: Mapped[str] = mapped_column(sa.String(32))


TABLE: sa.Table = DeadlineNotice.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Notice:
    request_id: str
    kind: str
    notice: str  # "before:7 days" or "overdue"
    due_at: str

    @property
    def key(self) -> str:
        return f"{self.notice}@{self.due_at[:10]}"


def due_notices(engine: Engine, reminders: Sequence[Duration], now: datetime) -> list[Notice]:
    """Notices due at *now* that were not sent (for the request's current due date)."""
    from troth.dsr.models import DsrRequest

    # an upper bound of the furthest reminder (months of 31 days); exact times are checked below
    furthest = now + timedelta(days=max((r.approx_days + 2 for r in reminders), default=0))
    req: sa.Table = DsrRequest.__table__  # type: ignore[assignment]
    stmt = sa.select(req.c.id, req.c.kind, req.c.due_at).where(
        req.c.status.in_(WAITING), req.c.due_at <= furthest.isoformat()
    )
    with connect(engine) as conn:
        rows = conn.execute(stmt).all()
        ids = [r.id for r in rows]
        sent: set[tuple[str, str]] = set()
        for part in range(0, len(ids), 500):
            chunk = ids[part : part + 500]
            sent |= {
                (r.request_id, r.notice)
                for r in conn.execute(
                    sa.select(TABLE.c.request_id, TABLE.c.notice).where(
                        TABLE.c.request_id.in_(chunk)
                    )
                )
            }
    out: list[Notice] = []
    for r in rows:
        due = datetime.fromisoformat(r.due_at)
        if due <= now:
            wanted = ["overdue"]
        else:  # only the nearest reminder whose time has come: no burst of stale ones
            passed = [d for d in reminders if d.before(due) <= now]
            wanted = [f"before:{max(passed, key=lambda d: d.before(due))}"] if passed else []
        for w in wanted:
            n = Notice(r.id, r.kind, w, r.due_at)
            if (r.id, n.key) not in sent:
                out.append(n)
    return out


def send_notices(engine: Engine, notices: Sequence[Notice], now: datetime) -> int:
    """Record each notice and its outbox row together; returns how many were new."""
    sent = 0
    for n in notices:
        try:
            with connect(engine) as conn, conn.begin():
                conn.execute(
                    sa.insert(TABLE).values(
                        request_id=n.request_id, notice=n.key, sent_at=now.isoformat()
                    )
                )
                days = (datetime.fromisoformat(n.due_at) - now).total_seconds() / 86400
                payload = {
                    "request_id": n.request_id,
                    "type": n.kind,
                    "notice": n.notice,
                    "due_at": n.due_at,
                    "days_left": int(days // 1),
                }
                outbox.emit(conn, "dsr.deadline", payload)
            sent += 1
        except StoreError as exc:  # another worker sent it first: the primary key says so
            if isinstance(exc.__cause__, sa.exc.IntegrityError):
                continue
            raise
    return sent

"""The request clock: pause while waiting for the person, resume, extend once (GDPR Art. 12(3)).

**Pause** (``received`` or ``identity_verified`` → ``paused``): the team waits for the person
(identity documents, a clarification). Whether the clock stops depends on the jurisdiction whose
due date the request carries: the UK GDPR stops it (the ICO's "stop the clock" when clarification
is needed, resumed when it arrives); elsewhere the clock runs on and the due date stays. On
**resume** the request returns to the status it was paused from and, where the clock stopped, its
due date moves later by the whole days it was paused.

**Extend**: once per request, before its due date, with a reason, by the jurisdiction's rule:
GDPR and UK GDPR two further months, CCPA 45 further days, PIPEDA 30 further days; LGPD and
PDPA-TH allow none here (refused). Each change is audited with its reason and the old and new due
dates, and writes its outbox row (webhooks) in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from troth.dsr.models import DsrRequest
from troth.dsr.requests import RequestInfo, Requests, Status, add_months, changed, now
from troth.errors import RequestError, RequestNotFoundError, RequestStateError

#: (months, days) a jurisdiction lets the controller add, once
EXTENSION: dict[str, tuple[int, int]] = {
    "gdpr": (2, 0),
    "uk_gdpr": (2, 0),
    "ccpa": (0, 45),
    "pipeda": (0, 30),
}
#: extension when the request names no jurisdiction (troth's default due date is GDPR's month)
DEFAULT_EXTENSION = (2, 0)
#: jurisdictions whose clock stops while the request waits for the person
CLOCK_STOPS = frozenset({"uk_gdpr"})


def _reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not text or len(text) > 500 or any(not ch.isprintable() for ch in text):
        raise RequestError(
            "a reason is needed (printable text, at most 500 characters)",
            where="reason",
            fix="say why, e.g. 'waiting for a copy of the ID'",
        )
    return text


def pause(requests: Requests, request_id: str, reason: str) -> RequestInfo:
    """Pause a request that waits for the person."""
    text = _reason(reason)

    current = requests.get(request_id).status

    def edit(row: DsrRequest) -> None:
        row.paused_from = current
        row.paused_at = now().isoformat()

    return requests.transition(
        request_id, Status.paused, reason=text, data={"paused_from": current}, edit=edit
    )


def resume(requests: Requests, request_id: str) -> RequestInfo:
    """Resume a paused request; its due date moves by the days paused where the clock stopped."""
    info = requests.get(request_id)
    if info.status != Status.paused or info.paused_at is None:
        raise RequestStateError(
            f"request {request_id} is not paused ({info.status})",
            where="request lifecycle",
            fix="only a paused request resumes",
        )
    stops = info.jurisdiction in CLOCK_STOPS
    days = (now() - datetime.fromisoformat(info.paused_at)).days if stops else 0
    due = datetime.fromisoformat(info.due_at) + timedelta(days=days)

    def edit(row: DsrRequest) -> None:
        row.due_at = due.isoformat()
        row.paused_at = None
        row.paused_from = None

    # the status it resumes to is read under the transaction's lock
    with Session(requests.engine) as s:
        row = s.get(DsrRequest, request_id)
        to = Status(row.paused_from or Status.received) if row else Status.received
    data = {"due_at": due.isoformat(), "paused_days": days, "clock_stopped": stops}
    return requests.transition(request_id, to, data=data, edit=edit)


def extend(requests: Requests, request_id: str, reason: str) -> RequestInfo:
    """Extend the due date once, by the jurisdiction's rule, before it passes."""
    text = _reason(reason)
    jurisdiction = requests.get(request_id).jurisdiction
    if jurisdiction is not None and jurisdiction not in EXTENSION:
        raise RequestError(
            f"{jurisdiction} allows no extension of a request's due date",
            where=f"request {request_id}",
            fix="answer by the due date, or deny with a reason",
        )
    months, days = EXTENSION.get(jurisdiction or "", DEFAULT_EXTENSION)
    with requests.ledger.transaction() as tx, Session(bind=tx.conn) as s:
        row = s.get(DsrRequest, request_id)
        if row is None:
            raise RequestNotFoundError(f"no request {request_id!r}", where="troth state DB")
        if row.status in (Status.completed, Status.denied):
            raise RequestStateError(
                f"request {request_id} has ended ({row.status})", where="request lifecycle"
            )
        if row.extended_at is not None:
            raise RequestStateError(
                f"request {request_id} was extended already ({row.extended_at})",
                where="request lifecycle",
                fix="a due date is extended once",
            )
        old = datetime.fromisoformat(row.due_at)
        at = now()
        if at > old:
            raise RequestStateError(
                f"request {request_id} is overdue (due {row.due_at}): too late to extend",
                where="request lifecycle",
                fix="extend before the due date, and tell the person why",
            )
        new = add_months(old, months) + timedelta(days=days)
        row.due_at = new.isoformat()
        row.extended_at = at.isoformat()
        row.updated_at = at.isoformat()
        s.flush()
        info = RequestInfo.from_row(row)
        data = {"reason": text, "from_due": old.isoformat(), "due_at": row.due_at}
        tx.append_many([requests._entry(info, data)._replace(kind="dsr.extended")])
        changed(tx.conn, info, info.status, event="extended")
    return info

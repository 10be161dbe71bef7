"""One request: its timeline from the ledger, its plan with dry-run counts and holds, and the
team's actions (verify identity, approve, deny with a reason, extend, re-run), each through the
request lifecycle (:mod:`troth.dsr.requests`), so the workers run what is approved.

Actions are audited with the signed-in user as the actor (``user:<id>``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from troth.audit import Ledger
from troth.audit.entry import Entry
from troth.audit.ledger import COLUMNS
from troth.console.preview import preview
from troth.console.roles import Perm, allowed
from troth.dsr import clock
from troth.dsr.filing import requeue, verify_identity
from troth.dsr.queue import with_days_left
from troth.dsr.requests import RequestInfo, Requests, Status
from troth.errors import RequestError, RequestNotFoundError, TrothError
from troth.store.db import connect
from troth.web.admin.context import PATH, AdminWeb, Form, Refused, Review, View, Web

router = APIRouter(prefix=PATH, include_in_schema=False)

#: reasons a request is denied; the person's notice carries the text
DENY_REASONS = {
    "identity": "We could not verify your identity with the details given.",
    "unfounded": "The request is manifestly unfounded or excessive (Art. 12(5) GDPR).",
    "repeat": "We answered the same request recently and nothing has changed since.",
    "legal": "A legal obligation requires us to keep this data.",
    "other": "",
}
MAX_REASON = 500
#: what ``?done=`` may say after an action
DONE = frozenset({"verified", "approved", "denied", "extended", "queued", "paused", "resumed"})


def timeline(web: AdminWeb, request_id: str) -> list[Entry]:
    """The ledger's entries about the request, oldest first."""
    stmt = sa.text(
        f"SELECT {COLUMNS} FROM audit_entry WHERE subject = :subject ORDER BY seq"
    ).bindparams(subject=f"dsr:{request_id}")
    with connect(web.engine) as conn:
        return [Entry.from_row(tuple(r)) for r in conn.execute(stmt)]


def _get(web: AdminWeb, request_id: str) -> RequestInfo | None:
    if len(request_id) != 32 or not all(c in "0123456789abcdef" for c in request_id):
        return None
    try:
        return Requests(web.engine, web.settings.secret_key).get(request_id)
    except RequestNotFoundError:
        return None


def _view(
    web: AdminWeb, request_id: str, can_review: bool, counts: bool = False, actor: str = ""
) -> dict[str, Any] | None:
    info = _get(web, request_id)
    if info is None:
        return None
    shown = preview(web.project, web.settings, web.engine, info, counts=can_review and counts)
    if shown.counts and actor:  # the team looked at how much is held about the person
        Ledger(web.engine).append(
            "dsr.dry_run",
            {"request_id": info.id, "tables": len(shown.counts)},
            actor=actor,
            subject=f"dsr:{info.id}",
        )
    return {
        "counted": can_review and counts,
        "info": with_days_left(info),
        "entries": timeline(web, request_id),
        "preview": shown,
        "reasons": DENY_REASONS,
        "needs_reviewer": web.policy.requests.needs_reviewer(info.kind),
        "Status": Status,
    }


@router.get("/requests/{request_id}")
async def request_page(
    request: Request,
    web: Web,
    actor: View,
    request_id: str,
    done: str = "",
    counts: str = "",
) -> HTMLResponse:
    """The plan; with ``?counts=1`` the dry run's counts too. The dry run reads the person's rows
    (and runs an erasure's statements in rolled-back transactions), so it runs when asked, and
    only for roles that act on requests."""
    can_review = allowed(actor.role, Perm.review)
    asked = counts in ("1", "true", "yes")
    context = await run_in_threadpool(_view, web, request_id, can_review, asked, actor.audit)
    if context is None:
        return web.page(request, "notfound.html", status=404, title="Not found")
    # only troth's own words: a crafted link cannot put text on the page
    context.update({"done": done if done in DONE else "", "error": ""})
    return web.page(request, "request.html", context, title=f"Request {request_id[:8]}")


async def _act(
    request: Request,
    web: AdminWeb,
    request_id: str,
    action: Callable[[Requests], object],
    done: str,
) -> Response:
    if _get(web, request_id) is None:
        raise Refused(404, "no such request")
    requests = Requests(web.engine, web.settings.secret_key, actor=request.state.actor.audit)
    target = f"{PATH}/requests/{request_id}"
    try:
        await run_in_threadpool(action, requests)
    except TrothError as exc:
        context = await run_in_threadpool(_view, web, request_id, True)
        assert context is not None
        context.update({"done": "", "error": exc.one_line()[:600]})
        return web.page(request, "request.html", context, status=409, title="Refused")
    return web.back(request, target, done)


@router.post("/requests/{request_id}/verify")
async def verify(request: Request, web: Web, _a: Review, _f: Form, request_id: str) -> Response:
    def act(r: Requests) -> object:
        return verify_identity(r, web.project, request_id)

    return await _act(request, web, request_id, act, "verified")


@router.post("/requests/{request_id}/approve")
async def approve(request: Request, web: Web, _a: Review, _f: Form, request_id: str) -> Response:
    def act(r: Requests) -> object:
        return r.transition(request_id, Status.approved, data={"rule": "reviewer"})

    return await _act(request, web, request_id, act, "approved")


def deny_reason(form: Any) -> str:
    """The template's text, and the reviewer's own words after it (or alone for "other")."""
    template = DENY_REASONS.get(str(form.get("template") or ""), "")
    note = " ".join(str(form.get("note") or "").split())
    text = f"{template} {note}".strip()
    if not text or len(text) > MAX_REASON or any(not ch.isprintable() for ch in text):
        raise RequestError(
            "a denial needs a reason (printable text, at most 500 characters)",
            where="reason",
            fix="pick a reason, or write one under 'other'",
        )
    return text


@router.post("/requests/{request_id}/deny")
async def deny(request: Request, web: Web, _a: Review, form: Form, request_id: str) -> Response:
    def act(r: Requests) -> object:
        return r.transition(request_id, Status.denied, reason=deny_reason(form))

    return await _act(request, web, request_id, act, "denied")


@router.post("/requests/{request_id}/extend")
async def extend(request: Request, web: Web, _a: Review, form: Form, request_id: str) -> Response:
    def act(r: Requests) -> object:
        return clock.extend(r, request_id, str(form.get("reason") or "")[:MAX_REASON])

    return await _act(request, web, request_id, act, "extended")


@router.post("/requests/{request_id}/retry")
async def retry(request: Request, web: Web, _a: Review, _f: Form, request_id: str) -> Response:
    def act(r: Requests) -> object:
        return requeue(r, request_id)

    return await _act(request, web, request_id, act, "queued")


@router.post("/requests/{request_id}/pause")
async def pause(request: Request, web: Web, _a: Review, form: Form, request_id: str) -> Response:
    """Waiting for the person (documents, clarification): the clock stops where the
    jurisdiction lets it (:mod:`troth.dsr.clock`)."""

    def act(r: Requests) -> object:
        return clock.pause(r, request_id, str(form.get("reason") or "")[:MAX_REASON])

    return await _act(request, web, request_id, act, "paused")


@router.post("/requests/{request_id}/resume")
async def resume(request: Request, web: Web, _a: Review, _f: Form, request_id: str) -> Response:
    def act(r: Requests) -> object:
        return clock.resume(r, request_id)

    return await _act(request, web, request_id, act, "resumed")

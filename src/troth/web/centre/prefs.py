"""The preference centre (a verified person's consents) and one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from troth.centre.codes import Outcome
from troth.centre.service import SESSION_SECONDS, Ask, RateLimitedError
from troth.centre.unsubscribe import read_unsubscribe, unsubscribe_identifier
from troth.consent.events import fold
from troth.consent.ledger import UnknownSubjectError
from troth.consent.subjects import SubjectRef
from troth.dsr.identity import Identity
from troth.errors import NotifyError, RequestError
from troth.web.app import user_agent
from troth.web.centre.context import CentreWeb, centre_web
from troth.web.centre.pages import client_ip, log, outcome_error, refused, verify_page
from troth.web.centre.security import SESSION_COOKIE, harden

router = APIRouter(prefix="/privacy", include_in_schema=False)
Web = Annotated[CentreWeb, Depends(centre_web)]


def consents_of(web: CentreWeb, subject: str) -> list[dict[str, Any]]:
    ledger = web.centre.consents
    assert ledger is not None
    ref = SubjectRef(subject)
    try:
        history = ledger.history(ref)
    except UnknownSubjectError:  # nothing recorded yet
        history = []
    state = fold(history)
    out = []
    for consent in web.policy.consents:
        st = state.get(consent.id)
        out.append(
            {
                "consent": consent,
                "given": bool(st and st.given),
                "state": st.kind.value if st else "never asked",
                "history": [e for e in history if e.consent_id == consent.id],
            }
        )
    return out


@router.get("/preferences")
async def preferences(request: Request, web: Web, done: str = "") -> HTMLResponse:
    subject = web.guard.subject(request)
    if subject is None:
        return web.page(
            request, "prefs_login.html", {"error": None}, title="Your preferences", cached=True
        )
    return web.page(
        request,
        "prefs.html",
        {"consents": await run_in_threadpool(consents_of, web, subject), "done": done},
        title="Your preferences",
    )


@router.post("/preferences")
async def preferences_change(request: Request, web: Web) -> Response:
    form = await request.form()
    if not web.guard.csrf_ok(request, str(form.get("csrf") or "")):
        return refused(web, request)
    subject = web.guard.subject(request)
    consent_id = str(form.get("consent") or "")
    action = str(form.get("action") or "")
    if subject is None:
        return RedirectResponse("/privacy/preferences", status_code=303)
    if consent_id not in {c.id for c in web.policy.consents} or action not in ("give", "withdraw"):
        return web.page(request, "notfound.html", status=404, title="Not found")
    await run_in_threadpool(
        web.centre.set_consent,
        subject,
        consent_id,
        give=action == "give",
        user_agent=user_agent(request),
        ip=client_ip(request),
        identifier=web.guard.identifier(request),  # a withdrawal is pushed to the services
    )
    done = "given" if action == "give" else "withdrawn"
    return RedirectResponse(f"/privacy/preferences?done={done}", status_code=303)


@router.post("/preferences/sign-in")
async def sign_in(request: Request, web: Web) -> Response:
    form = await request.form()
    if not web.guard.csrf_ok(request, str(form.get("csrf") or "")):
        return refused(web, request)
    try:
        ask = Ask("preferences", Identity("email", str(form.get("identity") or "")))
        code_id = await run_in_threadpool(web.centre.start, ask, ip=client_ip(request))
    except RateLimitedError:
        return web.page(request, "limited.html", status=429, title="Too many attempts")
    except NotifyError as exc:
        log.error("privacy centre: a code could not be sent (%s)", type(exc).__name__)
        return web.page(request, "unavailable.html", status=503, title="Try again later")
    except RequestError as exc:
        return web.page(
            request,
            "prefs_login.html",
            {"error": web.gettext(exc.message)},
            status=400,
            title="Your preferences",
        )
    return RedirectResponse(f"/privacy/preferences/verify/{code_id}", status_code=303)


@router.get("/preferences/verify/{code_id}")
def prefs_verify_form(request: Request, web: Web, code_id: str) -> HTMLResponse:
    return verify_page(web, request, code_id, action="preferences/verify")


@router.post("/preferences/verify/{code_id}")
async def prefs_verify(request: Request, web: Web, code_id: str) -> Response:
    form = await request.form()
    if not web.guard.csrf_ok(request, str(form.get("csrf") or "")):
        return refused(web, request)
    code = str(form.get("code") or "")[:20]
    result = await run_in_threadpool(web.centre.verify, code_id, code, "preferences")
    if result.outcome is not Outcome.ok or result.subject is None:
        return verify_page(
            web,
            request,
            code_id,
            error=outcome_error(web, result),
            status=400,
            action="preferences/verify",
        )
    response = RedirectResponse("/privacy/preferences", status_code=303)
    web.guard.sign_in(request, response, result.subject, SESSION_SECONDS, result.identifier)
    harden(request, response)
    return response


@router.post("/preferences/sign-out")
async def sign_out(request: Request, web: Web) -> Response:
    form = await request.form()
    if not web.guard.csrf_ok(request, str(form.get("csrf") or "")):
        return refused(web, request)
    response = RedirectResponse("/privacy", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/privacy")
    return response


@router.get("/unsubscribe/{token}")
def unsubscribe_page(request: Request, web: Web, token: str) -> HTMLResponse:
    found = read_unsubscribe(web.centre.secret, token)
    if found is None or found[1] not in {c.id for c in web.policy.consents}:
        return web.page(request, "notfound.html", status=404, title="Not found")
    consent = next(c for c in web.policy.consents if c.id == found[1])
    return web.page(
        request,
        "unsubscribe.html",
        {"token": token, "consent": consent, "done": False},
        title="Unsubscribe",
    )


@router.post("/unsubscribe/{token}")
def unsubscribe(request: Request, web: Web, token: str) -> HTMLResponse:
    """RFC 8058 one-click: the token is the authority (a mail client posts without a session)."""
    found = read_unsubscribe(web.centre.secret, token)
    if found is None or found[1] not in {c.id for c in web.policy.consents}:
        return web.page(request, "notfound.html", status=404, title="Not found")
    subject, consent_id = found
    identifier = unsubscribe_identifier(web.centre.secret, token)  # for the mailing service
    web.centre.set_consent(
        subject, consent_id, give=False, user_agent=user_agent(request), identifier=identifier
    )
    consent = next(c for c in web.policy.consents if c.id == consent_id)
    return web.page(
        request,
        "unsubscribe.html",
        {"token": token, "consent": consent, "done": True},
        title="Unsubscribed",
    )

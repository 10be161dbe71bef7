"""Browser side: cookie banner config and assets, the banner's consent posts, GPC, a demo page.

Browser posts are CSRF-safe (:mod:`troth.web.origins`): ``Sec-Fetch-Site: same-origin`` or an
``Origin`` in the allow-list, and a JSON body (a cross-site form cannot send it without a CORS
preflight). The visitor is a random first-party pseudonym that troth signs (cookie ``troth_vid``,
``Secure`` over HTTPS); the ledger stores its keyed hash. A visitor id troth did not issue is
replaced by a new one.
"""

from __future__ import annotations

from datetime import date
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from troth.consent.banner import banner_config, choices_to_events
from troth.consent.subjects import issue_visitor, read_visitor
from troth.web.app import Svc, user_agent
from troth.web.origins import check_browser_post

router = APIRouter(tags=["browser"])
STATIC = files("troth.consent") / "static"
VISITOR_COOKIE = "troth_vid"


class BrowserChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy_version: str = Field(max_length=40)
    choices: dict[Annotated[str, Field(max_length=20)], bool] = Field(max_length=8)
    gpc: bool = False


@router.get("/consent/banner-config", summary="Cookie banner configuration from the policy")
def config(svc: Svc, sec_gpc: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    out = banner_config(svc.policy)
    out["request_gpc"] = sec_gpc == "1"
    return out


def browser_post(request: Request, svc: Svc) -> None:
    """Refuse cross-site posts before the body is even validated."""
    check_browser_post(request, svc.allowed_origins)


@router.post(
    "/consent/browser",
    summary="Record a cookie banner decision (same-origin or an allowed origin only)",
    dependencies=[Depends(browser_post)],
)
def browser_choice(
    body: BrowserChoice,
    request: Request,
    response: Response,
    svc: Svc,
    sec_gpc: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    key = svc.settings.secret_key
    cookie = request.cookies.get(VISITOR_COOKIE, "")
    subject = read_visitor(key, cookie)
    if subject is None:
        cookie, subject = issue_visitor(key)
    response.set_cookie(
        VISITOR_COOKIE,
        cookie,
        max_age=400 * 86400,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
        path="/",
    )
    gpc = body.gpc or sec_gpc == "1"
    previous = svc.ledger.state_or_empty(subject)
    events, effective = choices_to_events(
        svc.policy,
        subject,
        body.choices,
        body.policy_version,
        gpc=gpc,
        previous=previous,
        user_agent=user_agent(request),
        ip=request.client.host if request.client else None,
    )
    stored = svc.ledger.record_many(events, actor="cookie-banner")
    return {
        "subject": svc.ledger.subject_ref(subject),
        "recorded": len(stored),
        "choices": effective,
        "gpc": gpc,
    }


@router.get("/.well-known/gpc.json", include_in_schema=False)
def gpc_json(svc: Svc) -> dict[str, Any]:
    effective = svc.policy.policy.effective or date.today()
    return {"gpc": True, "lastUpdate": effective.isoformat()}


@router.get("/static/troth-consent.js", include_in_schema=False)
def banner_js() -> Response:
    text = (STATIC / "troth-consent.js").read_text()
    return Response(text, media_type="text/javascript", headers={"Cache-Control": "max-age=300"})


@router.get("/static/troth-consent.css", include_in_schema=False)
def banner_css() -> Response:
    text = (STATIC / "troth-consent.css").read_text()
    return Response(text, media_type="text/css", headers={"Cache-Control": "max-age=300"})


DEMO = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>troth cookie banner demo</title>
<link rel="stylesheet" href="/static/troth-consent.css"></head>
<body><main><h1>Demo shop</h1>
<p>A page with scripts that wait for consent.</p>
<button type="button" data-troth-open>Cookie settings</button>
<p id="gpc-state"></p></main>
<script type="text/plain" data-category="preferences">
  window.prefsLoaded = true; document.cookie = "ps_theme=dark; path=/";</script>
<script type="text/plain" data-category="analytics">
  window.analyticsLoaded = true; document.cookie = "ps_stats=1; path=/";</script>
<script type="text/plain" data-category="marketing">
  window.marketingLoaded = true; document.cookie = "ps_ads=1; path=/";</script>
<script src="/static/troth-consent.js" data-config="/consent/banner-config"></script>
</body></html>
"""


@router.get("/consent/demo", include_in_schema=False, response_class=HTMLResponse)
def demo() -> str:
    return DEMO

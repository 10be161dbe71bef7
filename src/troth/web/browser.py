"""Browser side: cookie banner config and assets, the banner's consent posts, GPC, a demo page.

Browser posts are CSRF-safe: the ``Origin`` (or ``Sec-Fetch-Site``) must be this site or an allowed
origin, and the body must be JSON (a cross-site form cannot send it without a CORS preflight).
The visitor is a random first-party id (cookie ``troth_vid``); the ledger stores its keyed hash.
"""

from __future__ import annotations

import secrets
from datetime import date
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from troth.consent.banner import banner_config, choices_to_events
from troth.errors import ConsentError
from troth.web.apikeys import AuthError
from troth.web.app import Svc

router = APIRouter(tags=["browser"])
STATIC = files("troth.consent") / "static"
VISITOR_COOKIE = "troth_vid"


class BrowserChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy_version: str = Field(max_length=40)
    choices: dict[Annotated[str, Field(max_length=20)], bool] = Field(max_length=8)
    gpc: bool = False


def same_origin(request: Request, allowed: frozenset[str]) -> None:
    origin = request.headers.get("origin")
    if origin:
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if origin.rstrip("/") not in allowed | {own}:
            raise AuthError("cross-site request refused", forbidden=True)
    elif request.headers.get("sec-fetch-site") not in {"same-origin", "none"}:
        raise AuthError("browser posts need an Origin header", forbidden=True)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ConsentError("browser posts must be application/json", where="Content-Type")


@router.get("/consent/banner-config", summary="Cookie banner configuration from the policy")
def config(svc: Svc, sec_gpc: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    out = banner_config(svc.policy)
    out["request_gpc"] = sec_gpc == "1"
    return out


@router.post("/consent/browser", summary="Record a cookie banner decision (same-origin only)")
def browser_choice(
    body: BrowserChoice,
    request: Request,
    response: Response,
    svc: Svc,
    sec_gpc: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    same_origin(request, svc.allowed_origins)
    vid = request.cookies.get(VISITOR_COOKIE, "")
    if not (16 <= len(vid) <= 64 and vid.replace("-", "").replace("_", "").isalnum()):
        vid = secrets.token_urlsafe(18)
    response.set_cookie(
        VISITOR_COOKIE, vid, max_age=400 * 86400, httponly=True, samesite="lax", path="/"
    )
    subject = f"visitor:{vid}"
    gpc = body.gpc or sec_gpc == "1"
    previous = svc.ledger.state_or_empty(subject)
    events, effective = choices_to_events(
        svc.policy,
        subject,
        body.choices,
        body.policy_version,
        gpc=gpc,
        previous=previous,
        user_agent=(request.headers.get("user-agent") or "")[:400] or None,
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

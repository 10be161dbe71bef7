"""What the centre's routes share: the flow, the guard, the templates (one per app)."""

from __future__ import annotations

import asyncio
import gettext
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from troth.centre.downloads import Downloads
from troth.centre.service import KIND_LABELS, Centre
from troth.policy.loader import PolicyDocument
from troth.policy.model import Policy
from troth.policy.render.labels import RIGHT, legal_basis
from troth.web.centre.fastpages import CachedPage
from troth.web.centre.security import CSRF_COOKIE, SESSION_COOKIE, Guard, harden, set_cookie

STATIC = files("troth.web.centre") / "static"
#: troth's own catalogues (``<lang>/LC_MESSAGES/troth.mo``); English is the source language
LOCALE = Path(__file__).parent / "locale"
DOMAIN = "troth"
TRUE = {"1", "true", "yes", "on"}
FILING_THREADS = 4
#: where a cached page's CSRF token goes (HTML-safe, never a real token: those are base64url)
CSRF_SLOT = "@@troth-csrf@@"
T = TypeVar("T")


@dataclass
class CentreWeb:
    centre: Centre
    guard: Guard
    templates: Environment
    policy: Policy
    document: PolicyDocument
    messages: gettext.NullTranslations
    downloads: Downloads
    #: the project's ``centre/`` folder: ``brand.css`` and ``logo.svg``/``logo.png`` if present
    brand_dir: Path
    #: a few threads that file requests (ledger writes, notices), apart from the shared pool, so
    #: that checking a code or serving a page never waits behind a filing
    _cache: dict[tuple[str, str, str], str] = field(default_factory=dict)
    #: cached pages a plain GET of the path gets (answered by :class:`CachedPages`, no routing)
    fast: dict[str, CachedPage] = field(default_factory=dict)
    filing_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(FILING_THREADS, thread_name_prefix="centre")
    )

    def gettext(self, message: str) -> str:
        return self.messages.gettext(message)

    async def filing(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.filing_pool, fn, *args)

    @property
    def brand_css(self) -> Path | None:
        path = self.brand_dir / "brand.css"
        return path if path.is_file() else None

    @property
    def logo(self) -> Path | None:
        for name in ("logo.svg", "logo.png"):
            if (self.brand_dir / name).is_file():
                return self.brand_dir / name
        return None

    def page(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        *,
        status: int = 200,
        title: str = "",
        cached: bool = False,
    ) -> HTMLResponse:
        """Render template *name*. A *cached* page depends on nothing but its name, title and
        path: it is rendered once per process, and only its CSRF token is filled in per call.
        The route of a *cached* page must give that page for every plain GET of its path (no
        query, no session cookie): later ones are answered by :class:`CachedPages`."""
        token, fresh = self.guard.csrf(request)
        path = request.url.path
        key = (name, title, path)
        html = self._cache.get(key) if cached else None
        if html is None:
            html = self._render(name, title, path, CSRF_SLOT if cached else token, context)
            if cached:
                self._cache[key] = html
        if cached:
            plain = not request.url.query and SESSION_COOKIE not in request.cookies
            if plain and request.method == "GET" and path not in self.fast:
                parts = tuple(part.encode() for part in html.split(CSRF_SLOT))
                self.fast[path] = CachedPage(parts, status)
            html = html.replace(CSRF_SLOT, token)
        response = HTMLResponse(html, status_code=status)
        if fresh:
            set_cookie(request, response, CSRF_COOKIE, fresh, max_age=None)
        harden(request, response)
        return response

    def _render(
        self, name: str, title: str, path: str, token: str, context: dict[str, Any] | None
    ) -> str:
        return self.templates.get_template(name).render(
            org=self.policy.organisation,
            policy=self.policy,
            title=self.gettext(title),
            csrf=token,
            path=path,
            kind_labels=KIND_LABELS,
            brand_css=self.brand_css is not None,
            logo=self.logo is not None,
            **(context or {}),
        )


async def centre_web(request: Request) -> CentreWeb:  # async: no thread hop to read state
    web: CentreWeb = request.app.state.centre
    return web


def translations(project_dir: Path, language: str) -> gettext.NullTranslations:
    """The centre's messages in *language*: the project's catalogue
    (``<project>/locale/<lang>/LC_MESSAGES/troth.mo``), then troth's own, then English."""
    shipped = gettext.translation(DOMAIN, str(LOCALE), languages=[language], fallback=True)
    own = gettext.translation(
        DOMAIN, str(project_dir / "locale"), languages=[language], fallback=True
    )
    if own is not shipped:
        own.add_fallback(shipped)
    return own


def _templates(messages: gettext.NullTranslations) -> Environment:
    env = Environment(
        loader=PackageLoader("troth.web.centre", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(messages, newstyle=True)  # type: ignore[attr-defined]
    env.globals["right_label"] = lambda kind: RIGHT.get(str(kind), str(kind))
    env.globals["basis_label"] = legal_basis
    env.globals["today"] = date.today
    return env


def install(
    app: FastAPI, document: PolicyDocument, folder: Path, centre_args: dict[str, Any]
) -> None:
    """Add the privacy centre to *app* (routes and shared state); access copies in *folder*."""
    from troth.web.centre import download, pages, prefs

    env = dict(os.environ)
    policy = document.policy
    centre = Centre(
        policy=policy,
        env=env,
        manual_erasure=(env.get("TROTH_CENTRE_MANUAL_ERASURE") or "").lower() in TRUE,
        base_url=env.get("TROTH_PUBLIC_URL") or "",
        **centre_args,
    )
    messages = translations(document.path.parent, policy.policy.language)
    app.state.centre = CentreWeb(
        centre=centre,
        guard=Guard(centre.secret),
        templates=_templates(messages),
        messages=messages,
        policy=policy,
        document=document,
        downloads=Downloads(centre, folder),
        brand_dir=document.path.parent / "centre",
    )
    app.include_router(pages.router)
    app.include_router(prefs.router)
    app.include_router(download.router)

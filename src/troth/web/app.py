"""The FastAPI application of ``troth serve`` (app factory; no global state).

>>> app = create_app(Settings.from_env(), "examples/mydigisoft")
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from sqlalchemy.engine import Engine
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from troth import __version__
from troth.config import Settings
from troth.consent.decide import Decider
from troth.consent.events import TimeWindow
from troth.consent.ledger import ConsentLedger
from troth.consent.push import WithdrawalPushes
from troth.consent.receipts import receipt_key
from troth.errors import ConfigError
from troth.policy.model import Policy
from troth.project import Project, load_project
from troth.store import open_store
from troth.web import errors
from troth.web.apikeys import KeyInfo, check_key
from troth.web.origins import BrowserCORS, check_origins

#: seconds a checked API key is trusted before it is read again (revocation delay)
KEY_CACHE_SECONDS = 10.0


@dataclass
class Services:
    """What the routes use; one per app."""

    settings: Settings
    engine: Engine
    policy: Policy
    ledger: ConsentLedger
    decider: Decider
    receipt_key: bytes
    allowed_origins: frozenset[str]
    #: the project the app serves (its data map checks requests filed through the API)
    project: Project | None = None
    _keys: dict[tuple[str, str], tuple[KeyInfo, float]] = field(default_factory=dict)

    def authorise(self, key: str | None, scope: str) -> KeyInfo:
        now = time.monotonic()
        cached = self._keys.get((key or "", scope))
        if cached and cached[1] > now:
            return cached[0]
        info = check_key(self.engine, self.settings.secret_key, key, scope)
        self._keys[(key or "", scope)] = (info, now + KEY_CACHE_SECONDS)
        return info


def create_app(
    settings: Settings,
    project: Path | str,
    *,
    receipt_signing_key: bytes | None = None,
    allowed_origins: tuple[str, ...] = (),
    trusted_proxies: tuple[str, ...] = (),
    max_body: int = 64 * 1024,
) -> FastAPI:
    """The troth web app for the policy in *project*, with state in ``settings.database_url``.

    *allowed_origins*: sites (``https://shop.example``) whose pages may post banner choices (CORS
    for the browser routes). *trusted_proxies*: addresses of reverse proxies whose
    ``X-Forwarded-Proto`` and ``X-Forwarded-For`` are believed (TLS ends at the proxy).
    """
    origins = check_origins(allowed_origins)
    loaded = load_project(project)
    policy = loaded.policy.policy
    engine = open_store(settings)
    window = TimeWindow(future=settings.consent_max_future, past=settings.consent_max_past)
    datamap = loaded.datamap.datamap if loaded.datamap else None
    pushes = WithdrawalPushes(datamap, settings.secret_key)  # withdrawals leave troth too
    ledger = ConsentLedger(engine, policy, key=settings.secret_key, window=window, pushes=pushes)
    services = Services(
        settings=settings,
        engine=engine,
        policy=policy,
        ledger=ledger,
        decider=Decider(ledger),
        receipt_key=receipt_signing_key or receipt_key(settings.secret_key),
        allowed_origins=origins,
        project=loaded,
    )
    app = FastAPI(
        title="troth",
        version=__version__,
        description="Consent ledger and purpose decisions of a troth policy.",
    )
    app.state.services = services
    app.state.project = Path(project)
    errors.install(app)
    from troth.web.centre.fastpages import CachedPages

    app.add_middleware(CachedPages)  # innermost: after the proxy headers and the body limit
    app.add_middleware(errors.BodyLimit, limit=max_body)
    if origins:
        app.add_middleware(BrowserCORS, origins=origins)
    if trusted_proxies:  # outermost: the scheme and client are fixed before anything runs
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(trusted_proxies))

    from troth.web import browser, consent_api
    from troth.web.api import disclosures
    from troth.web.api import requests as requests_api

    app.include_router(consent_api.router)
    app.include_router(browser.router)
    app.include_router(disclosures.router)
    app.include_router(requests_api.router)

    from troth.web import centre

    centre.install(
        app,
        loaded.policy,
        settings.home / "centre",
        {
            "engine": engine,
            "datamap": loaded.datamap.datamap if loaded.datamap else None,
            "secret": settings.secret_key,
            "project_dir": loaded.policy.path.parent,
            "consents": ledger,
        },
    )

    from troth.web import admin

    admin.install(app, settings, loaded, engine)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "policy": policy.policy.id, "version": policy.policy.version}

    return app


#: the environment variables ``troth serve`` sets for :func:`app_from_env` (one value a line)
SERVE_ENV = {
    "project": "TROTH_SERVE_PROJECT",
    "origins": "TROTH_SERVE_ALLOW_ORIGINS",
    "proxies": "TROTH_SERVE_TRUSTED_PROXIES",
}


def app_from_env() -> FastAPI:
    """The app ``troth serve`` serves, from its environment (the factory each worker imports):
    the project in ``TROTH_SERVE_PROJECT``, the settings from ``TROTH_*`` as everywhere."""
    env = os.environ
    project = env.get(SERVE_ENV["project"])
    if not project:
        raise ConfigError(
            "no project to serve", where=SERVE_ENV["project"], fix="start it with troth serve PATH"
        )
    receipt = env.get("TROTH_RECEIPT_KEY")
    return create_app(
        Settings.from_env(),
        project,
        receipt_signing_key=receipt.encode() if receipt else None,
        allowed_origins=tuple(env.get(SERVE_ENV["origins"], "").split()),
        trusted_proxies=tuple(env.get(SERVE_ENV["proxies"], "").split()),
    )


def user_agent(request: Request) -> str | None:
    """The client's user agent as proof of the consent screen (printable text, 400 chars)."""
    text = "".join(ch for ch in request.headers.get("user-agent", "") if ch.isprintable())
    return text[:400] or None


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


Svc = Annotated[Services, Depends(services)]


def bearer(
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return x_api_key


def require(scope: str) -> Any:
    def dep(svc: Svc, key: Annotated[str | None, Depends(bearer)]) -> KeyInfo:
        return svc.authorise(key, scope)

    return Depends(dep)

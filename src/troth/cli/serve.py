"""``troth serve PATH`` and ``troth apikey create|list|revoke``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from troth.cli._console import console
from troth.config import Settings
from troth.errors import ConfigError

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.engine import Engine

    from troth.worker.embedded import EmbeddedWorker

#: what each worker process of ``troth serve --workers N`` imports
APP_FACTORY = "troth.cli.serve:served_app"

apikey_app = typer.Typer(help="API keys of troth serve (server-to-server calls).")

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="State database URL (default: TROTH_DATABASE_URL or TROTH_HOME)."),
]


def _open_store(settings: Settings) -> Engine:
    from troth.store import open_store  # SQLAlchemy: only for the commands that use it

    return open_store(settings)


def _anchors_in_background(enabled: bool) -> None:
    from troth.audit.ledger import anchor_in_background as switch

    switch(enabled)


def _settings(db: str | None) -> Settings:
    settings = Settings.from_env()
    if db:
        settings = settings.with_database(db)
    return settings


def serve(
    path: Annotated[Path, typer.Argument(help="Project folder or policy.yaml.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    db: DbOption = None,
    allow_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-origin",
            help="Origin (https://shop.example) of a site whose pages may post banner choices "
            "(CORS); troth's own pages need none.",
        ),
    ] = None,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-proxy",
            help="Address or network of a reverse proxy whose X-Forwarded-Proto/-For are "
            "believed (e.g. 127.0.0.1).",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes (PostgreSQL or MariaDB state only); this one runs the jobs.",
        ),
    ] = 1,
) -> None:
    """Serve the consent API, the cookie banner and its assets (FastAPI + uvicorn)."""
    import uvicorn

    from troth.web.app import SERVE_ENV

    settings = _settings(db)
    if workers > 1 and settings.database_url.startswith("sqlite"):
        raise ConfigError(
            f"--workers {workers} needs PostgreSQL or MariaDB state; SQLite takes one writer",
            where="--workers",
            fix="use --workers 1, or --db postgresql+psycopg://... (or TROTH_DATABASE_URL)",
        )
    # the app factory reads what to serve from the environment (each worker process builds one)
    os.environ.update(
        {
            "TROTH_DATABASE_URL": settings.database_url,
            SERVE_ENV["project"]: str(path),
            SERVE_ENV["origins"]: "\n".join(allow_origin or ()),
            SERVE_ENV["proxies"]: "\n".join(trusted_proxy or ()),
        }
    )
    # links in the notices the embedded jobs send: TROTH_PUBLIC_URL, else this server's address
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    os.environ.setdefault("TROTH_SERVE_URL", f"http://{local}:{port}")
    # forwarded headers are handled by the app (only from --trusted-proxy), not by uvicorn
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        "proxy_headers": False,
    }
    # built here (a bad project fails before anything starts), and served by this process alone
    app = served_app()
    # the jobs and the retention scheduler run in this process only; with --workers N it is
    # uvicorn's supervisor, and the N worker processes only serve
    jobs = _embedded_jobs(path, settings)
    try:
        if workers == 1:
            uvicorn.run(app, **options)
        else:
            app.state.services.engine.dispose()  # the workers open their own
            uvicorn.run(APP_FACTORY, factory=True, workers=workers, **options)
    finally:
        if jobs is not None:
            jobs.stop()
        _anchors_in_background(False)  # the anchors still queued are written


def served_app() -> FastAPI:
    """The app of a ``troth serve`` process: its ledger anchors are written in the background
    (a response does not wait for the anchor's fsync; see
    :func:`troth.audit.ledger.anchor_in_background`)."""
    from troth.web.app import app_from_env

    _anchors_in_background(True)
    return app_from_env()


def _embedded_jobs(path: Path, settings: Settings) -> EmbeddedWorker | None:
    """With no task queue configured, this process runs the jobs and the retention scheduler."""
    from troth.cli.worker import queue_url
    from troth.worker.embedded import EmbeddedWorker
    from troth.worker.jobs import Context

    queue = queue_url(None, settings)
    if queue is not None:  # `troth worker` processes run them
        from troth.worker.direct import install

        install(settings.database_url, queue)  # the queue in the state DB: no relay hop
        return None
    jobs = EmbeddedWorker(Context(path, settings))
    jobs.start()
    return jobs


@apikey_app.command("create")
def create(
    scope: Annotated[
        list[str],
        typer.Option("--scope", help="consent:read, consent:write, disclosure:write or admin."),
    ],
    label: Annotated[str, typer.Option(help="What the key is for.")] = "",
    db: DbOption = None,
) -> None:
    """Create a key and print it once (troth keeps only its HMAC)."""
    from troth.web.apikeys import create_key

    settings = _settings(db)
    key = create_key(_open_store(settings), settings.secret_key, scope, label)
    console.out(key, highlight=False)


@apikey_app.command("list")
def list_cmd(db: DbOption = None) -> None:
    """List keys (ids, scopes, state), never the keys themselves."""
    from troth.web.apikeys import list_keys

    for k in list_keys(_open_store(_settings(db))):
        state = f"revoked {k.revoked_at}" if k.revoked_at else "active"
        console.out(f"{k.id}  {' '.join(sorted(k.scopes))}  {state}  {k.label}", highlight=False)


@apikey_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="Key id.")], db: DbOption = None) -> None:
    """Revoke a key by id."""
    from troth.web.apikeys import revoke_key

    revoke_key(_open_store(_settings(db)), key_id)
    console.out(f"revoked {key_id}", highlight=False)

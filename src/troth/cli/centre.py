"""``troth centre upkeep PATH``: the privacy centre keeps its own retention promises."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from troth.cli._console import console
from troth.config import Settings

app = typer.Typer(help="The privacy centre for people (served by troth serve).")


@app.command("upkeep")
def upkeep(
    path: Annotated[Path, typer.Argument(help="Project folder or policy.yaml.")],
    keep_days: Annotated[
        int | None,
        typer.Option(
            "--keep-days",
            min=0,
            help="Days contact data is kept after a request closes, at most the policy's "
            "requests.contact_retention (the default).",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Change nothing; exit 1 if closed requests hold contact data past the "
            "policy's requests.contact_retention.",
        ),
    ] = False,
    db: Annotated[str | None, typer.Option("--db", help="troth state database URL.")] = None,
) -> None:
    """Forget the contact data of requests closed longer ago than the policy's
    requests.contact_retention (or --keep-days), delete expired codes and access copies whose
    link expired (each with ledger evidence). Run it daily."""
    from datetime import UTC, datetime

    from troth.centre.downloads import Downloads
    from troth.centre.service import Centre
    from troth.errors import ConfigError
    from troth.project import load_project
    from troth.store import open_store

    settings = Settings.from_env()
    if db:
        settings = settings.with_database(db)
    project = load_project(path)
    promised = project.policy.policy.requests.contact_retention
    now = datetime.now(UTC)
    if keep_days is not None and now - timedelta(days=keep_days) < promised.before(now):
        raise ConfigError(
            f"--keep-days {keep_days} keeps contact data longer than the policy promises "
            f"(requests.contact_retention: {promised})",
            where="--keep-days",
            fix=f"use at most {promised} or change the policy",
        )
    centre = Centre(
        open_store(settings),
        project.policy.policy,
        project.datamap.datamap if project.datamap else None,
        secret=settings.secret_key,
        env=dict(os.environ),
    )
    if check:
        overdue = centre.contacts_overdue(now=now)
        console.out(
            f"{overdue} closed requests hold contact data past {promised} "
            "(requests.contact_retention)",
            highlight=False,
        )
        if overdue:
            raise typer.Exit(1)
        return
    keep = timedelta(days=keep_days) if keep_days is not None else None
    purged = centre.purge_contacts(keep, now=now)
    expired = Downloads(centre, settings.home / "centre").expire()
    console.out(
        f"{purged} requests' contact data purged, {expired} expired access copies deleted",
        highlight=False,
    )

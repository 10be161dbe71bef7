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
        int,
        typer.Option(
            "--keep-days", min=0, help="Days contact data is kept after a request closes."
        ),
    ] = 30,
    db: Annotated[str | None, typer.Option("--db", help="troth state database URL.")] = None,
) -> None:
    """Forget the contact data of requests closed more than --keep-days ago, delete expired codes
    and access copies whose link expired (each with ledger evidence). Run it daily."""
    from troth.centre.downloads import Downloads
    from troth.centre.service import Centre
    from troth.project import load_project
    from troth.store import open_store

    settings = Settings.from_env()
    if db:
        settings = settings.with_database(db)
    project = load_project(path)
    centre = Centre(
        open_store(settings),
        project.policy.policy,
        project.datamap.datamap if project.datamap else None,
        secret=settings.secret_key,
        env=dict(os.environ),
    )
    purged = centre.purge_contacts(timedelta(days=keep_days))
    expired = Downloads(centre, settings.home / "centre").expire()
    console.out(
        f"{purged} requests' contact data purged, {expired} expired access copies deleted",
        highlight=False,
    )

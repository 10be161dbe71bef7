"""``troth notices PATH``: send the notices of a published policy change before it takes effect."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from troth.cli._console import console

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from troth.config import Settings


def send(path: Path, engine: Engine, settings: Settings, version: str | None, by: str) -> None:
    """Plan and send the notices of the version; print the counts (no address)."""
    from troth.policy.change_notices import plan_notices, send_notices
    from troth.project import load_project

    project = load_project(path)
    plan = plan_notices(project, engine, settings.secret_key, version=version)
    run = send_notices(project, engine, settings.secret_key, plan, actor=by)
    console.out(
        f"notices of {run.policy_id} {run.version} (effective {run.effective}): "
        f"{run.ask_again} asked again, {run.tell} told, {run.already_sent} sent before, "
        f"{run.unreachable} consent holder(s) with no address in the stores",
        highlight=False,
    )


def notices(
    path: Annotated[Path, typer.Argument(help="Project folder (policy.yaml + datamap.yaml).")],
    version: Annotated[
        str | None, typer.Option("--version", help="A published version (default: the newest).")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Who sends (a role or user id).")] = "cli",
    db: Annotated[str | None, typer.Option("--db", help="troth state database URL.")] = None,
) -> None:
    """Send the notices of a published policy change to whom it concerns, before it applies."""
    from troth.config import Settings
    from troth.store import open_store

    settings = Settings.from_env()
    settings = settings.with_database(db) if db else settings
    send(path, open_store(settings), settings, version, by)

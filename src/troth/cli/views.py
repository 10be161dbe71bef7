"""``troth views plan|apply|drop PATH``: purpose-bound SQL views in the mapped databases."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from troth.cli._console import console
from troth.config import Settings
from troth.connectors.names import resolve_connection
from troth.errors import DataMapError
from troth.project import load_project

if TYPE_CHECKING:
    from troth.datamap.model import DataMap
    from troth.policy.model import Policy

# SQLAlchemy, the consent ledger and the view builders are imported inside the commands.

app = typer.Typer(help="Purpose-bound views: only a purpose's fields and people.")

PathArg = Annotated[Path, typer.Argument(help="Project folder (policy.yaml + datamap.yaml).")]
UrlOpt = Annotated[
    str | None, typer.Option("--url", help="Target database URL (default: the named connection).")
]
DbOpt = Annotated[str | None, typer.Option("--db", help="troth state database URL.")]
DatasetOpt = Annotated[str | None, typer.Option("--dataset", help="Only this dataset.")]


def _load(path: Path) -> tuple[Policy, DataMap]:
    project = load_project(path)
    if project.datamap is None:
        raise DataMapError("the project has no datamap.yaml", where=str(path))
    return project.policy.policy, project.datamap.datamap


def _targets(datamap: DataMap, url: str | None, dataset: str | None) -> list[tuple[str, str]]:
    out = []
    for ds in datamap.datasets():
        if dataset and ds.name != dataset:
            continue
        out.append((ds.name, url or resolve_connection(ds.connection)))
    return out


@app.command("plan")
def plan(
    path: PathArg,
    dialect: Annotated[str, typer.Option(help="postgresql, mysql or sqlite.")] = "postgresql",
    dataset: DatasetOpt = None,
    sql: Annotated[bool, typer.Option("--sql", help="Print the SQL too.")] = False,
) -> None:
    """Print the views each purpose would get (dry run; touches no database)."""
    policy, datamap = _load(path)
    from troth.consent.views import plan_views

    for p in plan_views(policy, datamap, dialect, dataset=dataset):
        console.out(p.line(), highlight=False)
        if sql:
            console.out(f"  {p.sql}", highlight=False)


@app.command("apply")
def apply(path: PathArg, url: UrlOpt = None, db: DbOpt = None, dataset: DatasetOpt = None) -> None:
    """Create the views and sync troth_consent_state from the consent ledger."""
    policy, datamap = _load(path)
    settings = Settings.from_env()
    import sqlalchemy as sa

    from troth.connectors.sql import _with_driver
    from troth.consent.ledger import ConsentLedger
    from troth.consent.views import apply_views, plan_views, sync_state
    from troth.store import open_store

    ledger = ConsentLedger(open_store(db or settings.database_url), policy, key=settings.secret_key)
    for name, target in _targets(datamap, url, dataset):
        engine = sa.create_engine(_with_driver(target))
        plans = plan_views(policy, datamap, engine.dialect.name, dataset=name)
        with engine.begin() as conn:
            apply_views(conn, plans)
            counts = sync_state(conn, ledger, datamap, dataset=name)
        summary = ", ".join(f"{k}: {v}" for k, v in counts.items())
        console.out(f"{name}: {len(plans)} views; allowed rows {summary}", highlight=False)


@app.command("drop")
def drop(path: PathArg, url: UrlOpt = None, dataset: DatasetOpt = None) -> None:
    """Drop the views and troth_consent_state."""
    import sqlalchemy as sa

    from troth.connectors.sql import _with_driver
    from troth.consent.views import drop_views, plan_views

    policy, datamap = _load(path)
    for name, target in _targets(datamap, url, dataset):
        engine = sa.create_engine(_with_driver(target))
        plans = plan_views(policy, datamap, engine.dialect.name, dataset=name)
        with engine.begin() as conn:
            drop_views(conn, plans)
        console.out(f"{name}: dropped {len(plans)} views", highlight=False)

"""``troth breach open|update|notify|list|draft``: the breach register and its 72-hour clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from troth.cli._console import console
from troth.config import Settings
from troth.errors import ConfigError, DataMapError

if TYPE_CHECKING:
    from troth.breach.register import Breaches, BreachInfo, Risk

app = typer.Typer(
    help="Personal data breaches: the register, the 72-hour clock, notices.", no_args_is_help=True
)
PathArg = Annotated[Path, typer.Argument(help="Project folder (policy.yaml + datamap.yaml).")]
IdArg = Annotated[str, typer.Argument(help="The breach's id.")]
DbOpt = Annotated[str | None, typer.Option("--db", help="troth state database URL.")]
ByOpt = Annotated[str, typer.Option("--by", help="Who records it (a role or user id).")]


def _register(db: str | None, by: str = "cli") -> Breaches:
    from troth.breach.register import Breaches
    from troth.store import open_store

    settings = Settings.from_env()
    return Breaches(open_store(settings.with_database(db) if db else settings), actor=by)


def _when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{option} {value!r} is not a date and time", where=option,
            fix="write it as YYYY-MM-DDTHH:MM (UTC unless an offset is given)",
        ) from None  # fmt: skip
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _line(b: BreachInfo) -> str:
    now = datetime.now(UTC)
    if b.authority_notified_at:
        clock = f"authority notified {b.authority_notified_at}" + (" (late)" if b.late() else "")
    elif not b.authority_due():
        clock = "no notification needed (risk unlikely)"
    elif b.overdue(now):
        clock = f"OVERDUE by {-b.hours_left(now):.0f} h"
    else:
        clock = f"{b.hours_left(now):.0f} h left to notify the authority"
    people = sum(b.people.values())
    return f"{b.id}  {b.status:<9} risk {b.risk.value:<8} {people} people  {clock}"


@app.command("open")
def open_cmd(
    path: PathArg,
    table: Annotated[
        list[str], typer.Option("--table", help="An exposed table, dataset.table (repeat).")
    ],
    description: Annotated[str, typer.Option(help="What happened (no personal data).")],
    detected: Annotated[
        str | None, typer.Option(help="When the company became aware (default: now).")
    ] = None,
    nature: Annotated[
        list[str] | None,
        typer.Option(help="confidentiality, integrity, availability (repeat)."),
    ] = None,
    risk: Annotated[str, typer.Option(help="unknown, unlikely, risk or high.")] = "unknown",
    db: DbOpt = None,
    by: ByOpt = "cli",
) -> None:
    """Record a breach; count the people and records its tables hold, in the stores."""
    import sqlalchemy as sa

    from troth.connectors.names import resolve_connection
    from troth.connectors.sql import _with_driver
    from troth.project import load_project

    project = load_project(path)
    if project.datamap is None:
        raise DataMapError("the project has no datamap.yaml", where=str(path))
    datamap = project.datamap.datamap
    names = {t.split(".", 1)[0] for t in table}
    engines = {
        ds.name: sa.create_engine(_with_driver(resolve_connection(ds.connection)))
        for ds in datamap.datasets()
        if ds.name in names
    }
    try:
        info = _register(db, by).open(
            datamap,
            engines,
            tables=table,
            detected_at=_when(detected, "--detected") or datetime.now(UTC),
            description=description,
            nature=nature or ["confidentiality"],
            risk=_risk(risk),
        )
    finally:
        for engine in engines.values():
            engine.dispose()
    console.out(_line(info), highlight=False)
    for t, n in sorted(info.people.items()):
        console.out(f"  {n} people in {t}", highlight=False)
    console.out(f"  notify the authority by {info.deadline.isoformat()}", highlight=False)


def _risk(value: str) -> Risk:
    from troth.breach.register import Risk

    try:
        return Risk(value)
    except ValueError:
        raise ConfigError(
            f"unknown risk {value!r}",
            where="--risk",
            fix=f"use: {', '.join(r.value for r in Risk)}",
        ) from None


@app.command("update")
def update(
    breach_id: IdArg,
    risk: Annotated[str | None, typer.Option(help="unknown, unlikely, risk or high.")] = None,
    contained: Annotated[bool, typer.Option("--contained", help="It is contained.")] = False,
    close: Annotated[bool, typer.Option("--close", help="Close it.")] = False,
    db: DbOpt = None,
    by: ByOpt = "cli",
) -> None:
    """Assess the risk, mark the breach contained or closed."""
    info = _register(db, by).update(
        breach_id, risk=_risk(risk) if risk else None, contained=contained, close=close
    )
    console.out(_line(info), highlight=False)


@app.command("notify")
def notify(
    breach_id: IdArg,
    whom: Annotated[str, typer.Argument(help="authority or people")],
    at: Annotated[str | None, typer.Option(help="When (default: now).")] = None,
    db: DbOpt = None,
    by: ByOpt = "cli",
) -> None:
    """Record that the authority or the people were notified."""
    if whom not in ("authority", "people"):
        raise ConfigError(f"cannot notify {whom!r}", where="WHOM", fix="use authority or people")
    info = _register(db, by).notify(
        breach_id, "authority" if whom == "authority" else "people", at=_when(at, "--at")
    )
    console.out(_line(info), highlight=False)


@app.command("list")
def list_cmd(
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Every breach with its clock: hours left, overdue, or when the authority was told."""
    breaches = _register(db).list()
    if as_json:
        typer.echo(json.dumps([b.to_dict() for b in breaches], indent=2))
        return
    for b in breaches:
        console.out(_line(b), highlight=False)
    if not breaches:
        console.out("no breach recorded")


@app.command("draft")
def draft(
    path: PathArg,
    breach_id: IdArg,
    whom: Annotated[str, typer.Argument(help="authority or people")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write it here.")] = None,
    db: DbOpt = None,
) -> None:
    """Draft the notice to the authority (Art. 33(3)) or to the people (Art. 34(2))."""
    from troth.breach.notices import authority_notice, people_notice
    from troth.project import load_project

    if whom not in ("authority", "people"):
        raise ConfigError(f"no notice for {whom!r}", where="WHOM", fix="use authority or people")
    policy = load_project(path).policy.policy
    info = _register(db).get(breach_id)
    text = authority_notice(policy, info) if whom == "authority" else people_notice(policy, info)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, "utf-8")

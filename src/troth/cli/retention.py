"""``troth retention ...``: plan and run retention sweeps, manage person (litigation) holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from troth.cli._console import console, err_console
from troth.config import Settings
from troth.retention import DEFAULT_BATCH_SIZE

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from troth.retention.bind import Binding
    from troth.retention.sweep import RunReport, SweepResult

# The planner, the sweeper, the holds and the state DB pull in SQLAlchemy: imported inside the
# commands, so that other commands start fast.

app = typer.Typer(
    help="Retention: plan and run sweeps, legal holds on people.", no_args_is_help=True
)
hold_app = typer.Typer(help="Person (litigation) holds: rows kept whatever the rules say.")
app.add_typer(hold_app, name="hold")

PathArg = Annotated[Path, typer.Argument(help="project folder or policy.yaml")]
RuleOpt = Annotated[list[str] | None, typer.Option("--rule", help="only this rule (repeatable)")]
DbOpt = Annotated[str | None, typer.Option("--db", help="state database URL")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def _state(db: str | None) -> tuple[Engine, Settings]:
    from troth.store import open_store

    settings = Settings.from_env()
    return open_store(db or settings), settings


@app.command("plan")
def plan_cmd(
    path: PathArg, rule: RuleOpt = None, db: DbOpt = None, as_json: JsonOpt = False
) -> None:
    """Per rule and table: the SQL and the rows it would delete, anonymise, hold. No writes."""
    from troth.project import load_project
    from troth.retention.holds import active_person_holds
    from troth.retention.plan import build_plan, open_stores

    project = load_project(path)
    engine, settings = _state(db)
    with open_stores() as stores:
        plan = build_plan(
            project, stores, key=settings.secret_key, rules=rule, person=active_person_holds(engine)
        )
    if as_json:
        console.out(json.dumps(plan.as_dict(), indent=2), highlight=False)
        return
    table = Table("rule", "table", "action", "timestamp", "cutoff", "delete", "anonymise", "held")
    for item in plan.items:
        b = item.binding
        table.add_row(
            b.rule.id,
            f"{b.dataset}.{b.table}",
            b.action.value,
            str(b.timestamp),
            item.cutoff.isoformat(sep=" "),
            str(item.delete),
            str(item.anonymise),
            str(item.held),
        )
    console.print(table)
    for item in plan.items:
        console.print(f"\n[bold]{item.binding.name}[/]")
        for note in item.notes:
            console.print(f"  - {escape(note)}", soft_wrap=True)
        for kept in item.kept:
            console.print(
                f"  - kept by {escape(kept['hold'])} ({escape(kept['source'])}): "
                f"{kept['rows']} row(s)",
                soft_wrap=True,
            )
        for name, sql in item.sql.items():
            console.print(f"  {name}: {escape(sql)}", soft_wrap=True)
    for u in plan.unbound:
        fix = f"; fix: {u.fix}" if u.fix else ""
        console.print(
            f"[yellow]not enforced:[/] {u.rule.id} on {u.dataset}.{u.table.name}: "
            f"{escape(u.reason + fix)}",
            soft_wrap=True,
        )


@app.command("run")
def run_cmd(
    path: PathArg,
    rule: RuleOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count only, change nothing")] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="rows per batch (one short transaction)")
    ] = DEFAULT_BATCH_SIZE,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Sweep: delete or anonymise expired rows in batches; evidence goes to the audit ledger."""
    from troth.project import load_project
    from troth.retention.plan import open_stores
    from troth.retention.sweep import Sweeper

    project = load_project(path)
    engine, settings = _state(db)
    with (
        open_stores() as stores,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
            disable=as_json,
        ) as progress,
    ):
        tasks: dict[str, TaskID] = {}

        def start(b: Binding, r: SweepResult) -> None:
            tasks[b.name] = progress.add_task(b.name, total=max(r.expected, 1))

        def batch(b: Binding, r: SweepResult) -> None:
            progress.update(tasks[b.name], completed=r.deleted + r.anonymised)

        report = Sweeper(
            project,
            stores,
            engine,
            key=settings.secret_key,
            rules=rule,
            batch_size=batch_size,
            dry_run=dry_run,
            on_start=start,
            on_batch=batch,
        ).run()
    _print_report(report, as_json)
    if report.error is not None:
        err_console.print(f"[bold red]error:[/] {escape(report.error.one_line())}", soft_wrap=True)
        if report.status == "interrupted":
            err_console.print("the run stopped cleanly; run it again to finish")
        raise typer.Exit(report.exit_code)


def _print_report(report: RunReport, as_json: bool) -> None:
    if as_json:
        console.out(json.dumps(report.as_dict(), indent=2), highlight=False)
        return
    table = Table(
        "rule",
        "table",
        "action",
        "cutoff",
        "deleted",
        "anonymised",
        "held",
        "batches",
        "longest ms",
        "status",
        title=f"retention run {report.run_id or '(dry run)'}: {report.status}",
    )
    for r in report.results:
        table.add_row(
            r.rule_id,
            f"{r.dataset}.{r.table}",
            r.action,
            r.cutoff,
            str(r.deleted),
            str(r.anonymised),
            str(r.held),
            str(r.batches),
            f"{r.longest_batch_ms:.1f}",
            r.status,
        )
    console.print(table)


@hold_app.command("add")
def hold_add(
    reason: Annotated[str, typer.Option("--reason", help="why (no personal data)")],
    basis: Annotated[str, typer.Option("--basis", help="legal basis")] = "legal_obligation",
    law: Annotated[str | None, typer.Option("--law", help="the law or case")] = None,
    identity: Annotated[
        str | None, typer.Option("--identity", help="identity name, e.g. email")
    ] = None,
    value: Annotated[
        str | None, typer.Option("--value", help="the identity value (stored as a keyed hash)")
    ] = None,
    table: Annotated[
        str | None, typer.Option("--table", help="dataset.table of a row hold")
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", help="primary key of the held row (a composite key: a,b in order)"),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Hold a person's rows (by identity) or one row (by key): counted, never touched."""
    from troth.retention.holds import add_hold

    engine, settings = _state(db)
    hold = add_hold(
        engine,
        settings.secret_key,
        basis=basis,
        reason=reason,
        law=law,
        identity=identity,
        value=value,
        table=table,
        key=key,
    )
    console.out(f"hold {hold.id} added ({hold.kind} {hold.target})", highlight=False)


@hold_app.command("remove")
def hold_remove(hold_id: Annotated[int, typer.Argument(help="hold id")], db: DbOpt = None) -> None:
    """Lift a hold (it stays in the ledger and in state as released)."""
    from troth.retention.holds import release_hold

    engine, _ = _state(db)
    release_hold(engine, hold_id)
    console.out(f"hold {hold_id} released", highlight=False)


@hold_app.command("list")
def hold_list(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Active person holds."""
    from troth.retention.holds import list_holds

    engine, _ = _state(db)
    holds = list_holds(engine)
    if as_json:
        console.out(json.dumps([h.__dict__ for h in holds], indent=2), highlight=False)
        return
    table = Table("id", "kind", "target", "basis", "law", "reason", "since")
    for h in holds:
        table.add_row(str(h.id), h.kind, h.target, h.basis, h.law or "", h.reason, h.created_at)
    console.print(table)

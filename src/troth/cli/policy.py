"""``troth check``: run the policy checks, for people and for CI."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from troth.cli._console import console, err_console
from troth.policy.checks import CHECKS, Finding, Report, Severity, run_checks
from troth.project import Project, load_project


class Format(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


_STYLE = {Severity.error: "bold red", Severity.warning: "yellow", Severity.info: "cyan"}


def check(
    path: Annotated[Path, typer.Argument(help="policy.yaml, or a folder that holds one")],
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="text, json or sarif (code scanning)")
    ] = Format.text,
    select: Annotated[
        list[str] | None, typer.Option("--select", help="run only these check ids")
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", help="skip these check ids")
    ] = None,
    min_severity: Annotated[
        Severity, typer.Option("--min-severity", help="hide findings below this severity")
    ] = Severity.info,
    strict: Annotated[bool, typer.Option("--strict", help="warnings fail too")] = False,
    live: Annotated[
        bool,
        typer.Option("--live", help="also check the map against the stores and their data"),
    ] = False,
    actions: Annotated[
        bool, typer.Option("--actions", help="list what erasure does to every personal field")
    ] = False,
) -> None:
    """Check a policy against itself and the law's basic rules; exit 1 on errors.

    When the folder also holds datamap.yaml, the data map checks run too; with --live, the map is
    compared with the live stores and the walks requests take are measured on their data.
    """
    project = load_project(path)
    doc, datamap = project.policy, project.datamap
    report = run_checks(doc, select=select, ignore=ignore or (), datamap=datamap)
    if live and datamap is not None:
        from troth.datamap.live import live_issues

        extra = [Finding.of(cid, Severity.error, i) for cid, i in live_issues(datamap)]
        report = Report(findings=[*report.findings, *extra], checks_run=report.checks_run + 1)
    if actions and datamap is not None:
        _print_actions(project)
    shown = [f for f in report.findings if f.severity.rank <= min_severity.rank]
    if fmt is Format.json:
        typer.echo(
            json.dumps(
                {
                    "policy": str(doc.path),
                    "version": doc.policy.policy.version,
                    "datamap": str(datamap.path) if datamap else None,
                    "checks_run": report.checks_run,
                    "summary": {s.value: report.count(s) for s in Severity},
                    "findings": [f.as_dict() for f in shown],
                },
                indent=2,
            )
        )
    elif fmt is Format.sarif:
        from troth.policy.sarif import to_sarif

        typer.echo(json.dumps(to_sarif(shown, str(doc.path)), indent=2))
    else:
        _print_text(report, shown, str(doc.path))
    failing = report.errors + (report.count(Severity.warning) if strict else 0)
    if failing:
        raise typer.Exit(1)


def _print_actions(project: Project) -> None:
    """The effective erasure action of every personal field (to stderr: stdout stays the
    report, JSON for CI)."""
    from troth.datamap.erasure import field_actions, policy_erasure_defaults

    assert project.datamap is not None
    defaults = policy_erasure_defaults(project.policy.policy.data_categories)
    table = Table("field", "erasure", "from", box=None, title="Erasure of personal fields")
    for ds, t in project.datamap.datamap.tables():
        for a in field_actions(t, defaults):
            source = a.source.split(":")[0] or "-"
            table.add_row(f"{ds.name}.{t.name}.{a.address}", a.describe(), source)
    err_console.print(table)


def _print_text(report: Report, shown: list[Finding], path: str) -> None:
    for f in shown:
        style = _STYLE[f.severity]
        promises = f" [dim]({', '.join(f.promises)})[/]" if f.promises else ""
        console.print(
            f"[{style}]{f.severity.value:<7}[/] {escape(f.where)}  [bold]{f.check}[/]{promises}\n"
            f"        {escape(f.message)}"
            + (f"\n        [dim]fix: {escape(f.fix)}[/]" if f.fix else ""),
            soft_wrap=True,
        )
    n_err, n_warn, n_info = (report.count(s) for s in Severity)
    counts = f"{n_err} error{'s' * (n_err != 1)}, {n_warn} warning{'s' * (n_warn != 1)}, "
    counts += f"{n_info} note{'s' * (n_info != 1)}"
    console.print(f"{counts} from {report.checks_run} checks on {escape(path)}")


def list_checks() -> None:
    """List every registered check with its severity."""
    table = Table("id", "severity", "what it finds", box=None)
    for check_id, chk in CHECKS.items():
        table.add_row(check_id, chk.severity.value, chk.title)
    console.print(table)


def schema(
    name: Annotated[str, typer.Argument(help="policy or datamap")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write it here.")] = None,
) -> None:
    """Print the JSON Schema of policy.yaml or datamap.yaml (for editors and CI)."""
    from troth.schemas import text

    body = text(name)
    if output is None:
        typer.echo(body, nl=False)
    else:
        output.write_text(body, "utf-8")

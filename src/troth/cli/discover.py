"""``troth discover PROJECT``: classify what the mapped stores really hold, report the drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from troth.cli._console import console, err_console
from troth.errors import ConfigError, TrothError

REPORT_FILE = "discovery-report.json"
PROPOSALS_FILE = "discovery-proposals.yaml"


def discover(
    path: Annotated[Path, typer.Argument(help="project folder or policy.yaml (with datamap.yaml)")],
    sample_size: Annotated[
        int, typer.Option("--sample-size", min=1, help="rows sampled per table")
    ] = 500,
    strata: Annotated[
        int, typer.Option("--strata", min=1, help="slices of an integer key the sample spans")
    ] = 10,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate", min=0.0, max=1.0, help="random share of rows, for tables without an int key"
        ),
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="read every row (streamed)")] = False,
    budget: Annotated[
        float | None, typer.Option("--budget", min=0.0, help="seconds; later tables are skipped")
    ] = None,
    report: Annotated[Path, typer.Option("--report", help="the JSON report to write")] = Path(
        REPORT_FILE
    ),
    proposals: Annotated[
        Path, typer.Option("--proposals", help="the proposed map additions (YAML) to write")
    ] = Path(PROPOSALS_FILE),
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Sample every mapped store, classify its columns, and report personal data the map does not
    declare; proposals are written as map fragments marked `guess: true`, never applied."""
    from troth.connectors.names import open_connection
    from troth.discovery.discover import discover as run
    from troth.discovery.sample import Sampling
    from troth.project import load_project

    project = load_project(path)
    if project.datamap is None:
        raise ConfigError(
            "no datamap.yaml beside the policy",
            where=str(project.policy.path),
            fix="write one (`troth datamap introspect`) and run discover again",
        )
    dm = project.datamap
    sampling = Sampling(size=sample_size, strata=strata, rate=rate, full=full)
    conns = {}
    try:
        for ds in dm.datamap.datasets():
            if ds.connection not in conns:
                conns[ds.connection] = open_connection(ds.connection)

        def progress(table: str, i: int, n: int) -> None:
            err_console.print(f"[dim][{i + 1}/{n}][/] {escape(table)}", highlight=False)

        result = run(
            dm.datamap,
            conns,
            sampling,
            budget=budget,
            restricted=project.policy.policy.restricted_sources,
            progress=None if as_json else progress,
        )
    finally:
        for c in conns.values():
            c.close()
    body = result.as_dict()
    try:
        report.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        proposals.write_text(
            "# Proposed by `troth discover`: review each field, copy it into datamap.yaml and\n"
            "# remove `guess: true` once checked. Nothing here has been applied.\n"
            + yaml.safe_dump(result.proposals(), sort_keys=False, allow_unicode=True, width=100),
            encoding="utf-8",
        )
    except OSError as exc:
        raise TrothError(f"cannot write the report ({exc.strerror})", where=str(report)) from None
    if as_json:
        typer.echo(json.dumps(body, indent=2))
        return
    table = Table("drift", "where", "what", box=None)
    for d in result.drift:
        where = f"{d.dataset}.{d.table}" + (f".{d.column}" if d.column else "")
        table.add_row(d.kind.value, escape(where), escape(d.message))
    if result.drift:
        console.print(table)
    rows = sum(t.rows for t in result.tables)
    console.print(
        f"{len(result.tables)} tables, {rows} rows read in {result.seconds:.1f} s; "
        f"{len(result.drift)} drift finding(s)"
        + (f"; {len(result.skipped)} table(s) skipped (time budget)" if result.skipped else ""),
        highlight=False,
    )
    err_console.print(f"wrote {report} and {proposals}", highlight=False)

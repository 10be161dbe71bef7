"""``troth demo``: the reference deployments end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from troth.cli._console import console


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for the results")] = Path(
        "out/demo"
    ),
    db: Annotated[
        str | None, typer.Option("--db", help="state DB URL (default: a SQLite file in --out)")
    ] = None,
) -> None:
    """Check and render both example policies, record every step, verify the audit chain."""
    from troth.demo import run_demo  # SQLAlchemy and the renderers: only when asked

    with console.status("starting") as status:
        result = run_demo(out, db_url=db, progress=status.update)
    table = Table("example", "version", "promises", "errors", "warn.", "notes", "access", "erased")
    table.columns[0].no_wrap = True
    for ex in result.examples:
        table.add_row(
            ex.name,
            ex.version,
            str(ex.promises),
            f"[red]{ex.errors}[/]" if ex.errors else "0",
            str(ex.warnings),
            str(ex.notes),
            str(ex.access_rows),
            str(ex.erased_rows),
        )
    console.print(table)
    console.print(
        f"access/erased: rows of one fictional person. Policy text, Art. 30 record and the "
        f"access export are in {escape(str(result.out))}/"
    )
    for ex in result.examples:
        sw = ex.swept
        console.print(
            f"retention sweep of the {ex.name} store (assumed periods): {sw.get('deleted', 0)} "
            f"deleted, {sw.get('anonymised', 0)} anonymised, {sw.get('held', 0)} kept by holds",
            highlight=False,
        )
    console.print(
        "The errors are real gaps of the published policies; see them with "
        "[bold]troth check examples/<name>[/]."
    )
    v = result.verified
    style = "green" if v.ok else "bold red"
    console.print(f"audit ledger: [{style}]{escape(v.line())}[/]")
    if not v.ok:
        raise typer.Exit(1)

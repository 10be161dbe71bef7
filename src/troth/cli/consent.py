"""``troth consent import PATH --csv FILE``: consents the company already holds, into the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from troth.cli._console import console
from troth.config import Settings

app = typer.Typer(help="The consent ledger: import existing opt-ins.")


@app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="Project folder or policy.yaml.")],
    csv_file: Annotated[
        Path,
        typer.Option(
            "--csv", help="CSV with subject, consent, state, time (and source, notice_version)."
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(help="Where the consents were collected, for rows without a source column."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row; record nothing.")
    ] = False,
    db: Annotated[str | None, typer.Option("--db", help="troth state database URL.")] = None,
) -> None:
    """Record each row with its original time and source (channel ``import``); a file imported
    twice records nothing new."""
    from troth.consent.events import TimeWindow
    from troth.consent.importer import import_csv
    from troth.consent.ledger import ConsentLedger
    from troth.project import load_project
    from troth.store import open_store

    settings = Settings.from_env()
    if db:
        settings = settings.with_database(db)
    policy = load_project(path).policy.policy
    window = TimeWindow(future=settings.consent_max_future, past=settings.consent_max_past)
    ledger = ConsentLedger(open_store(settings), policy, key=settings.secret_key, window=window)
    result = import_csv(ledger, csv_file, source=source, dry_run=dry_run)
    if result.dry_run:
        console.out(f"{result.rows} rows are valid; nothing recorded (dry run)", highlight=False)
    else:
        console.out(
            f"{result.rows} rows read, {result.recorded} events recorded "
            f"(file sha256 {result.file_sha256[:16]}...)",
            highlight=False,
        )

"""``troth consent import PATH --csv FILE``: consents the company already holds, into the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from troth.cli._console import console
from troth.config import Settings

app = typer.Typer(help="The consent ledger: import existing opt-ins.")


@app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="Project folder or policy.yaml.")],
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv", help="CSV with subject, consent, state, time (and source, notice_version)."
        ),
    ] = None,
    from_store: Annotated[
        str | None,
        typer.Option("--from-store", help="A SQL store of the data map holding opt-ins."),
    ] = None,
    table: Annotated[
        str | None, typer.Option("--table", help="With --from-store: the table.")
    ] = None,
    column: Annotated[
        str | None, typer.Option("--column", help="With --from-store: the yes/no opt-in column.")
    ] = None,
    subject_column: Annotated[
        str | None,
        typer.Option("--subject-column", help="With --from-store: the person's identifier."),
    ] = None,
    at_column: Annotated[
        str | None,
        typer.Option("--at-column", help="With --from-store: when the person opted in."),
    ] = None,
    consent: Annotated[
        str | None,
        typer.Option("--consent", help="With --from-store: the policy's consent id."),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="Where the consents were collected, for rows without a source column."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row; record nothing.")
    ] = False,
    db: Annotated[str | None, typer.Option("--db", help="troth state database URL.")] = None,
) -> None:
    """Record each row with its original time and source (channel ``import``), from a CSV file
    or from an opt-in column of a SQL store the data map declares; an import replayed records
    nothing new."""
    from troth.consent.events import TimeWindow
    from troth.consent.importer import import_csv
    from troth.consent.ledger import ConsentLedger
    from troth.errors import ConfigError
    from troth.project import load_project
    from troth.store import open_store

    if (csv_file is None) == (from_store is None):
        raise ConfigError(
            "say where the consents are: --csv FILE or --from-store STORE (one of them)",
            where="troth consent import",
        )
    store_options = (table, column, subject_column, at_column, consent)
    if from_store is not None and None in store_options:
        raise ConfigError(
            "--from-store needs --table, --column, --subject-column, --at-column and --consent",
            where="--from-store",
        )
    settings = Settings.from_env()
    if db:
        settings = settings.with_database(db)
    project = load_project(path)
    policy = project.policy.policy
    window = TimeWindow(future=settings.consent_max_future, past=settings.consent_max_past)
    ledger = ConsentLedger(open_store(settings), policy, key=settings.secret_key, window=window)
    if from_store is not None:
        _import_from_store(
            ledger,
            project,
            from_store,
            (table, column, subject_column, at_column, consent),
            source=source,
            dry_run=dry_run,
        )
        return
    assert csv_file is not None
    result = import_csv(ledger, csv_file, source=source, dry_run=dry_run)
    if result.dry_run:
        console.out(f"{result.rows} rows are valid; nothing recorded (dry run)", highlight=False)
    else:
        console.out(
            f"{result.rows} rows read, {result.recorded} events recorded "
            f"(file sha256 {result.file_sha256[:16]}...)",
            highlight=False,
        )


def _import_from_store(
    ledger: Any,
    project: Any,
    store: str,
    names: tuple[str | None, ...],
    *,
    source: str | None,
    dry_run: bool,
) -> None:
    from troth.connectors.names import open_connection
    from troth.connectors.sql import SqlConnector
    from troth.consent.store_import import OptInColumn, OptInReader, connection_of, import_store
    from troth.errors import ConfigError

    table, column, subject_column, at_column, consent = (str(n) for n in names)
    if project.datamap is None:
        raise ConfigError("the project has no datamap.yaml", where="--from-store")
    spec = OptInColumn(store, table, column, subject_column, at_column)
    connector = open_connection(connection_of(project.datamap.datamap, spec))
    if not isinstance(connector, SqlConnector):
        raise ConfigError(
            f"store {store!r} is not a SQL store", where="--from-store", fix="use --csv"
        )
    try:
        reader = OptInReader(connector.engine, spec, consent, source)
        result = import_store(ledger, reader, dry_run=dry_run)
    finally:
        connector.close()
    if result.dry_run:
        console.out(
            f"{result.rows} opted-in rows are valid; nothing recorded (dry run)", highlight=False
        )
    else:
        console.out(
            f"{result.rows} opted-in rows read from {spec.where}, {result.recorded} events "
            "recorded",
            highlight=False,
        )

"""``troth audit ...``: verify, export and inspect the audit ledger."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from troth.cli._console import console
from troth.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from troth.audit import Head

# The ledger and the store pull in SQLAlchemy: imported inside the commands, so that other
# commands start fast.

app = typer.Typer(help="The tamper-evident audit ledger.", no_args_is_help=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="State database URL (default: TROTH_DATABASE_URL or TROTH_HOME)."),
]


def _engine(db: str | None) -> Engine:
    from troth.store import open_store

    return open_store(db if db else Settings.from_env())


@app.command("verify")
def verify_cmd(
    db: DbOption = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Verify a JSONL export instead of the database.")
    ] = None,
    anchor: Annotated[
        str | None, typer.Option("--anchor", help="SEQ:HASH published earlier (troth audit head).")
    ] = None,
    anchor_file: Annotated[
        bool,
        typer.Option(
            "--anchor-file/--no-anchor-file",
            help="Check against the anchor troth keeps in TROTH_HOME (default: on).",
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check the whole chain, the head, the anchors and that every audited row has its entry;
    exit 1 naming the first bad entry (or the finding) when the ledger was altered."""
    from troth.audit import parse_anchor, verify, verify_file

    pinned: Head | None = parse_anchor(anchor) if anchor else None
    if file:
        result = verify_file(file, anchor=pinned)
    else:
        result = verify(_engine(db), anchor=pinned, use_anchor_file=anchor_file)
    if as_json:
        console.out(json.dumps(result.to_dict()), highlight=False)
        raise typer.Exit(0 if result.ok else 1)
    result.raise_if_tampered()
    console.out(result.line(), highlight=False)


@app.command("export")
def export_cmd(
    db: DbOption = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Write every entry as JSONL, one entry per line, in seq order."""
    from troth.audit import export

    engine = _engine(db)
    if output:
        export(engine, output)
        return
    try:
        export(engine, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:  # `troth audit export | head`: the reader had enough
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


@app.command("upgrade")
def upgrade_cmd(db: DbOption = None) -> None:
    """Re-chain a ledger written by troth 0.1 (unkeyed SHA-256) with the keyed MAC, once.

    The old chain is verified first; a ledger that does not verify is left as it is (exit 1).
    """
    from troth.audit.upkeep import upgrade_ledger

    done = upgrade_ledger(_engine(db))
    if done.legacy:
        console.out(
            f"upgraded: {done.legacy} entries re-chained with the MAC, head {done.head.anchor()}",
            highlight=False,
        )
    else:
        console.out(f"nothing to upgrade: head {done.head.anchor()}", highlight=False)


@app.command("anchor")
def anchor_cmd(
    db: DbOption = None,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="Move the anchor to the current head, after a restore from a backup "
            "(only when the ledger verifies without the anchor).",
        ),
    ] = False,
) -> None:
    """Show the anchor troth keeps for this database outside it (TROTH_LEDGER_ANCHOR)."""
    from troth.audit import LedgerConfig
    from troth.audit.upkeep import reset_anchor

    engine = _engine(db)
    cfg = LedgerConfig.of(engine)
    if reset:
        old, head = reset_anchor(engine)
        before = f"{old.seq}:{old.hash}" if old else "none"
        console.out(f"anchor reset: {before} -> {head.anchor()}", highlight=False)
        return
    recorded, problem = cfg.anchors.read(cfg.db)
    if problem:
        from troth.errors import LedgerTamperedError

        raise LedgerTamperedError(problem, where=str(cfg.anchors.path))
    if recorded is None:
        console.out(f"no anchor for this database in {cfg.anchors.path}", highlight=False)
        return
    text = f"{recorded.seq}:{recorded.hash}  {recorded.ts}  {cfg.anchors.path}"
    console.out(text, highlight=False)


@app.command("head")
def head_cmd(db: DbOption = None) -> None:
    """Print SEQ:HASH of the last entry: publish it, and pass it to verify --anchor later."""
    from troth.audit import Ledger

    console.out(Ledger(_engine(db)).head().anchor(), highlight=False)


@app.command("tail")
def tail_cmd(
    db: DbOption = None,
    n: Annotated[int, typer.Option("-n", min=1, help="How many entries.")] = 20,
) -> None:
    """Show the last entries."""
    from troth.audit import Ledger

    table = Table("seq", "ts", "kind", "actor", "subject", "data", "hash", box=None)
    for e in Ledger(_engine(db)).tail(n):
        table.add_row(str(e.seq), e.ts, e.kind, e.actor, e.subject or "", e.data_json, e.hash[:12])
    console.print(table)

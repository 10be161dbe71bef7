"""``troth datamap ...``: introspect a store, import/export Fides datasets, check a map."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer
import yaml

from troth.cli._console import console, err_console
from troth.connectors import connect, open_connection
from troth.datamap.checks import dangling_references, undeclared_categories, unreachable_tables
from troth.datamap.fides import from_fides, to_fides
from troth.datamap.introspect import Proposal, propose
from troth.datamap.live import live_issues
from troth.datamap.loader import DataMapDocument, load_datamap, resolve_datamap_path
from troth.datamap.walk_checks import (
    erasure_problems,
    hold_anchors,
    other_subject_walks,
    scope_columns,
)
from troth.datamap.yamlout import dump_datamap
from troth.errors import TrothError
from troth.policy.checks import CHECKS, Finding, Issue, Report, Severity, run_checks
from troth.policy.loader import POLICY_FILE, load_policy
from troth.policy.taxonomy import Taxonomy
from troth.policy.yamlsrc import read_yaml

app = typer.Typer(
    help="The data map: stores, tables, fields and how they link to a person.", no_args_is_help=True
)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise TrothError(f"cannot write the file ({exc.strerror})", where=str(output)) from None
    err_console.print(f"wrote {output}")


@app.command()
def introspect(
    source: Annotated[str, typer.Argument(help="a connection name, or a URL (schema only)")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="file to write")] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="dataset name")] = None,
    connection: Annotated[
        str | None, typer.Option("--connection", help="connection name to write in the map")
    ] = None,
    system: Annotated[str | None, typer.Option("--system", help="system name")] = None,
    sample: Annotated[
        int,
        typer.Option(
            "--sample",
            min=0,
            help="also classify this many sampled rows per table (0: schema only, no row read)",
        ),
    ] = 0,
) -> None:
    """Read a live schema (and, with --sample, a sample of rows) and write a skeleton data map
    with guesses marked."""
    if "://" in source or source.startswith("sqlite:"):
        conn = connect(source)
        name = connection or _name_from_url(source)
    else:
        conn = open_connection(source)
        name = connection or source
    try:
        schema = conn.introspect()
        proposal = propose(schema, dataset=dataset or name, connection=name, system=system)
        if sample:
            from troth.connectors.sql import SqlConnector
            from troth.discovery.enrich import enrich_proposal
            from troth.discovery.sample import Sampling

            if isinstance(conn, SqlConnector):
                changed = enrich_proposal(
                    proposal.datamap, schema, conn, Sampling(size=sample, strata=10)
                )
                err_console.print(
                    f"{len(changed)} field(s) completed from sampled values", markup=False
                )
    finally:
        conn.close()
    _write(dump_datamap(proposal.datamap), output)
    _summary(proposal)


def _summary(proposal: Proposal) -> None:
    """What was proposed, per table, on stderr (the map itself goes to stdout or the file)."""
    from rich.markup import escape
    from rich.table import Table

    table = Table("table", "role", "personal", "references", "scope", "retention", box=None)
    guesses = 0
    for _, t in proposal.datamap.tables():
        kinds: dict[str, int] = {}
        for f in t.fields:
            guesses += f.guess
            for r in f.references:
                kinds[r.kind.value] = kinds.get(r.kind.value, 0) + 1
        personal = [f.name for f in t.fields if f.is_personal()]
        ids = [f"{f.name} ({f.identity})" for f in t.fields if f.identity]
        table.add_row(
            escape(t.name),
            proposal.shape.role(t.name).value,
            str(len(personal)) + (f": identities {', '.join(ids)}" if ids else ""),
            ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "-",
            escape(", ".join(f"{k}: {v}" for k, v in t.scope.items())) or "-",
            escape(", ".join(f.name for f in t.retention_fields())) or "-",
        )
    err_console.print(table)
    err_console.print(
        f"{guesses} fields marked `guess: true` (why: each table's description and each "
        "reference's note): review them, then remove the marks",
        markup=False,
    )


def _name_from_url(url: str) -> str:
    tail = url.rsplit("/", 1)[-1].split("?", 1)[0].rsplit(".", 1)[0].lower()
    name = re.sub(r"[^a-z0-9_]", "_", tail).strip("_") or "store"
    return name if name[0].isalpha() else f"db_{name}"


@app.command("import-fides")
def import_fides(
    file: Annotated[Path, typer.Argument(help="a Fides dataset YAML file")],
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    system: Annotated[str | None, typer.Option("--system", help="system name")] = None,
) -> None:
    """Convert a Fides dataset file into a troth data map."""
    data, smap = read_yaml(file)
    _write(dump_datamap(from_fides(data, smap, system=system)), output)


@app.command("export-fides")
def export_fides(
    datamap: Annotated[Path, typer.Argument(help="datamap.yaml, or a folder that holds one")],
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """Write a data map as a Fides dataset file."""
    dm = load_datamap(datamap, _policy_taxonomy(datamap))
    _write(yaml.safe_dump(to_fides(dm.datamap), sort_keys=False, allow_unicode=True), output)


@app.command("migrate")
def migrate(
    path: Annotated[Path, typer.Argument(help="datamap.yaml, or a folder that holds one")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the changes only")] = False,
) -> None:
    """Rewrite reference `direction` as `kind` (in place, comments kept); review each change."""
    from troth.datamap.migrate import migrate_text

    file = resolve_datamap_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise TrothError(f"cannot read the file ({exc.strerror})", where=str(file)) from None
    new, changes = migrate_text(text)
    for c in changes:
        console.print(f"{file}:{c.line}: {c.before}  ->  {c.after}", soft_wrap=True)
    if not changes:
        err_console.print(f"{file}: nothing to migrate")
        return
    if not dry_run:
        _write(new, file)
    err_console.print(
        "review each reference: `owns` follows from the referenced row to this one; use "
        "`link` for a many-to-many row, `same_person` for a one-to-one, and `refers` for a "
        "tenant, an employee or any other row that is not the person's"
    )


@app.command("check")
def check_map(
    path: Annotated[Path, typer.Argument(help="datamap.yaml, or a folder that holds one")],
    live: Annotated[bool, typer.Option("--live", help="compare with the live schemas")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """Check a data map (against the policy beside it, if any; with --live, the stores)."""
    file = resolve_datamap_path(path)
    policy_file = file.parent / POLICY_FILE
    if policy_file.is_file():
        doc = load_policy(policy_file)
        dm = load_datamap(file, doc.taxonomy, check_categories=False)
        map_ids = [i for i in CHECKS.names() if i.startswith("map.")]
        findings = run_checks(doc, select=map_ids, datamap=dm).findings
    else:
        dm = load_datamap(file, check_categories=False)
        findings = [
            _finding(check_id, i)
            for check_id, issues in (
                ("map.undeclared-category", undeclared_categories(dm)),
                ("map.dangling-reference", dangling_references(dm)),
                ("map.unreachable-table", unreachable_tables(dm)),
                ("map.no-erasure-action", erasure_problems(dm, {})),
                ("map.walk-other-subject", other_subject_walks(dm)),
                ("map.scope-column", scope_columns(dm)),
                ("map.hold-anchor", hold_anchors(dm)),
            )
            for i in issues
        ]
    if live:
        findings += live_findings(dm)
    report = Report(findings=findings, checks_run=0)
    if as_json:
        typer.echo(
            json.dumps(
                {"datamap": str(file), "findings": [f.as_dict() for f in findings]}, indent=2
            )
        )
    else:
        for f in findings:
            console.print(
                f"{f.severity.value:<7} {f.where}  {f.check}\n        {f.message}"
                + (f"\n        fix: {f.fix}" if f.fix else ""),
                markup=False,
                soft_wrap=True,
            )
        console.print(
            f"{report.errors} errors, {report.count(Severity.warning)} warnings in {file}",
            markup=False,
        )
    if report.errors:
        raise typer.Exit(1)


def live_findings(dm: DataMapDocument) -> list[Finding]:
    """The live checks: the map against the stores' schemas, and the walks on their data."""
    return [_finding(cid, i) for cid, i in live_issues(dm)]


def _finding(check_id: str, issue: Issue) -> Finding:
    return Finding.of(check_id, Severity.error, issue)


def _policy_taxonomy(path: Path) -> Taxonomy | None:
    policy_file = resolve_datamap_path(path).parent / POLICY_FILE
    return load_policy(policy_file).taxonomy if policy_file.is_file() else None

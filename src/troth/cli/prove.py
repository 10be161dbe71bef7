"""``troth prove PATH``, ``troth verify-proof FOLDER`` and ``troth attest PATH CONTROL``."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from troth.cli._console import console, err_console
from troth.config import Settings
from troth.errors import ConfigError, PolicyError

PathArg = Annotated[Path, typer.Argument(help="Project folder (policy.yaml + datamap.yaml).")]
DbOpt = Annotated[str | None, typer.Option("--db", help="troth state database URL.")]


def _settings(db: str | None) -> Settings:
    settings = Settings.from_env()
    return settings.with_database(db) if db else settings


def _day(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        day = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{option} {value!r} is not a date", where=option, fix="write it as YYYY-MM-DD"
        ) from None
    return day if day.tzinfo else day.replace(tzinfo=UTC)


def prove(
    path: PathArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the report.")] = Path(
        "proof"
    ),
    since: Annotated[
        str | None, typer.Option(help="Start of the period (default: a year ago).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="End of the period (default: now).")] = None,
    live: Annotated[
        str | None,
        typer.Option(help="Base URL of the running troth serve: run the conformance probes."),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="TROTH_API_KEY",
            help="API key for --live (consent:read/write, disclosure:write, requests:read/write).",
        ),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Evidence per promise: report.html, report.json and a signed manifest; exit 1 if broken."""
    from troth.prove import prove

    result = prove(
        path,
        output=output,
        settings=_settings(db),
        since=_day(since, "--since"),
        until=_day(until, "--until"),
        live=live,
        api_key=api_key,
    )
    for probe in result.probes:
        state = "skipped" if probe.passed is None else "passed" if probe.passed else "FAILED"
        console.out(f"probe {state:<7} {probe.probe}: {probe.reason}", highlight=False)
    for p in result.promises:
        console.out(f"{p.id:<8} {p.status.value:<13} {p.reason}", highlight=False)
    counts = ", ".join(f"{n} {s}" for s, n in result.summary.items())
    console.out(f"{counts}; report in {output}", highlight=False)
    if result.summary["broken"]:
        raise typer.Exit(1)


def verify_proof(
    folder: Annotated[Path, typer.Argument(help="A folder written by `troth prove`.")],
    db: DbOpt = None,
) -> None:
    """Check a proof's signature, its files, and the ledger head it was signed over."""
    from troth.prove import verify_proof as verify

    problems = verify(folder, settings=_settings(db))
    for problem in problems:
        err_console.print(f"[bold red]not verified:[/] {problem}", highlight=False)
    if problems:
        raise typer.Exit(1)
    console.out(f"ok: {folder} is the report signed, over a ledger that still holds its head")


def attest(
    path: PathArg,
    control: Annotated[str, typer.Argument(help="A security measure's id in the policy.")],
    evidence: Annotated[
        str, typer.Option("--evidence", help="A file (its SHA-256 is recorded) or a URL.")
    ],
    by: Annotated[str, typer.Option("--by", help="Who attests (a role or user id).")],
    db: DbOpt = None,
) -> None:
    """Record that a security control was carried out, as the audit event the policy names."""
    from troth.audit import Ledger
    from troth.project import load_project
    from troth.store import open_store

    policy = load_project(path).policy.policy
    measure = next((m for m in policy.security if m.id == control), None)
    if measure is None:
        valid = ", ".join(m.id for m in policy.security) or "none declared"
        raise PolicyError(f"no security measure {control!r}", where="security", fix=f"use: {valid}")
    if measure.evidence is None:
        raise PolicyError(
            f"security measure {control!r} declares no evidence",
            where=f"security.{control}",
            fix="add `evidence: {kind: security.<name>, every: 7 days}` to it",
        )
    data: dict[str, str] = {"control": control}
    if evidence.startswith(("https://", "http://")):
        data["url"] = evidence
    else:
        file = Path(evidence)
        if not file.is_file():
            raise ConfigError(
                f"evidence file {evidence!r} not found",
                where="--evidence",
                fix="give a file or URL",
            )
        data["sha256"] = hashlib.sha256(file.read_bytes()).hexdigest()
    entry = Ledger(open_store(_settings(db))).append(measure.evidence.kind, data, actor=by)
    console.out(f"attested {control} as {measure.evidence.kind} (ledger entry {entry.seq})")

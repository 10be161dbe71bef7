"""``troth dsr ...``: plan and run data-subject requests (access, erase, rectify, restrict)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from troth.cli._console import console, err_console
from troth.cli.lean import identities as _ids
from troth.cli.lean import scope_of as _scope
from troth.cli.lean import settings_for as _settings
from troth.errors import RequestError

if TYPE_CHECKING:
    from troth.dsr.api import DsrResult
    from troth.dsr.plan import Plan, Step

# The DSR API (identities hash through the audit package, the state DB, the connectors) pulls in
# SQLAlchemy: imported inside the commands, so that other commands start fast.

app = typer.Typer(
    help="Data-subject requests: plan, access, erase, rectify, restrict, status.",
    no_args_is_help=True,
)

PathArg = Annotated[Path, typer.Argument(help="project folder (policy.yaml + datamap.yaml)")]
Emails = Annotated[list[str] | None, typer.Option("--email", help="e-mail address")]
Phones = Annotated[list[str] | None, typer.Option("--phone", help="phone number")]
UserIds = Annotated[list[str] | None, typer.Option("--user-id", help="user id")]
Customs = Annotated[
    list[str] | None, typer.Option("--identity", help="custom identity as name=value")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
ScopeOpt = Annotated[
    list[str] | None,
    typer.Option("--scope", help="the request's scope as name=value (a tenant: tenant=42)"),
]
DbOpt = Annotated[str | None, typer.Option("--db", help="state database URL")]
ActorOpt = Annotated[str, typer.Option("--actor", help="who runs the request (an id)")]


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[Step, int], None] | None]:
    if not enabled:
        yield None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("resolving", total=None)

        def on_step(step: Step, rows: int) -> None:
            bar.update(task, description=f"{step.table}: {rows} rows")

        yield on_step


def _print_plan(plan: Plan) -> None:
    steps = Table("#", "table", "looked up by", "scope", "yields", "SQL", title="Steps", box=None)
    for s in plan.steps:
        steps.add_row(
            str(s.index + 1),
            str(s.table),
            "\n".join(f"{lk.column} ← {lk.describe()}" for lk in s.lookups),
            ", ".join(f"{name}: {col}" for name, col in s.scope),
            ", ".join(s.yields),
            "\n".join(s.sql),
        )
    console.print(steps)
    if plan.scopes:
        console.print(f"scoped by: {', '.join(plan.scopes)} (give --scope NAME=VALUE)")
    if plan.cyclic:
        console.print("cyclic: steps repeat with new values until nothing new is found")
    if plan.mentions:
        mentions = Table("table", "where", "identity", "masked with", title="Mentions", box=None)
        for m in plan.mentions:
            mentions.add_row(str(m.table), m.where, m.identity, m.strategy)
        console.print(mentions)
    if plan.actions:
        acts = Table(
            "order",
            "table",
            "action",
            "fields",
            "kept (why, until)",
            "referred by",
            "SQL",
            title="Erasure",
        )
        for i, a in enumerate(plan.actions, start=1):
            fields = [f"{f}: {m}" for f, m in a.masks]
            fields += [f"{f}:{'.'.join(p)}{'[]' * arr}: {m}" for f, p, arr, m in a.json_masks]
            acts.add_row(
                str(i),
                str(a.table),
                a.action,
                "\n".join(fields),
                "\n".join(f"{k.field}: {k.reason}, {k.until or 'until removed'}" for k in a.kept),
                "\n".join(f"{r.table}.{','.join(r.columns)}" for r in a.referrers),
                a.sql or "",
            )
        console.print(acts)
        console.print(
            "rows that others still refer to are masked instead of deleted; the store's own "
            "foreign keys are added to the referrers at run time"
        )


def _print_result(result: DsrResult, as_json: bool) -> None:
    if as_json:
        console.out(json.dumps(result.to_dict(), default=str), highlight=False)
    else:
        table = Table("table", "action", "rows", "fields", "kept (why)", box=None)
        for t in result.tables:
            kept = "\n".join(f"{k['field']}: {k['reason']}" for k in t.get("kept", []))
            if t.get("kept_rows"):
                kept = f"{t['kept_rows']} rows kept\n{kept}"
            table.add_row(
                t["table"], t["action"], str(t["rows"]), ", ".join(t.get("fields", [])), kept
            )
        console.print(table)
        req = result.request
        if req is not None:
            console.print(f"request {req.id}: {req.status} (due {req.due_at[:10]})")
            if req.reason:
                console.print(f"reason: {req.reason}" + (" (retryable)" if req.retryable else ""))
        else:
            console.print("dry run: nothing was changed and no request was recorded")
        if result.export:
            console.print(f"export: {result.export}")
        verb = "would be told" if result.dry_run else "told (queued for the workers)"
        for n in result.notices:  # Art. 19: the recipients that received the person's data
            console.print(
                f"recipient {n['recipient']} {verb} by {n['channel']} "
                f"({n['disclosures']} disclosures)"
            )
    if not result.ok:
        raise typer.Exit(result.exit_code)


@app.command("plan")
def plan_cmd(
    path: PathArg,
    email: Emails = None,
    phone: Phones = None,
    user_id: UserIds = None,
    identity: Customs = None,
    kind: Annotated[str, typer.Option("--type", help="access or erase")] = "access",
    as_json: JsonOpt = False,
) -> None:
    """Print the steps, their order and their SQL, without touching any data."""
    from troth.dsr import api

    if kind not in ("access", "erase"):
        raise RequestError(f"unknown plan type {kind!r}", where="--type", fix="access or erase")
    names = [i.name for i in _ids(email, phone, user_id, identity)]
    plan = api.plan_request(path, names, "erase" if kind == "erase" else "access")
    others = api.plan_other_stores(path, names)
    if as_json:
        out = plan.to_dict()
        if others:
            out["other_stores"] = others
        console.out(json.dumps(out, indent=2), highlight=False)
    else:
        _print_plan(plan)
        _print_others(others)


def _print_others(others: list[dict[str, Any]]) -> None:
    if not others:
        return
    table = Table("table", "kind", "found by", "erasure", "fields", "reached",
                  title="Other stores", box=None)  # fmt: skip
    for o in others:
        table.add_row(o["table"], o["kind"], o["found_by"], o["erase"], "\n".join(o["fields"]),
                      "yes" if o["reached"] else "no (identity not given)")  # fmt: skip
    console.print(table)


@app.command("access")
def access_cmd(
    path: PathArg,
    email: Emails = None,
    phone: Phones = None,
    user_id: UserIds = None,
    identity: Customs = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="zip to write")] = None,
    scope: ScopeOpt = None,
    db: DbOpt = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Export everything held about the person: a zip of JSON, CSV and an HTML summary."""
    from troth.dsr import api

    ids = _ids(email, phone, user_id, identity)
    with _progress(not as_json) as on_step:
        result = api.access(
            path,
            ids,
            output=output,
            settings=_settings(db),
            actor=actor,
            progress=on_step,
            scope=_scope(scope),
        )
    _print_result(result, as_json)


@app.command("erase")
def erase_cmd(
    path: PathArg,
    email: Emails = None,
    phone: Phones = None,
    user_id: UserIds = None,
    identity: Customs = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count, change nothing")] = False,
    scope: ScopeOpt = None,
    db: DbOpt = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Erase the person's data (re-run the same command to resume one that stopped)."""
    from troth.dsr import api

    ids = _ids(email, phone, user_id, identity)
    with _progress(not as_json) as on_step:
        result = api.erase(
            path,
            ids,
            dry_run=dry_run,
            settings=_settings(db),
            actor=actor,
            progress=on_step,
            scope=_scope(scope),
        )
    _print_result(result, as_json)


@app.command("rectify")
def rectify_cmd(
    path: PathArg,
    set_: Annotated[list[str], typer.Option("--set", help="table.field=new value (repeatable)")],
    email: Emails = None,
    phone: Phones = None,
    user_id: UserIds = None,
    identity: Customs = None,
    scope: ScopeOpt = None,
    db: DbOpt = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Set new values for named fields of the person's rows."""
    from troth.dsr import api

    changes: dict[str, Any] = {}
    for item in set_:
        address, sep, value = item.partition("=")
        if not sep:
            raise RequestError("--set takes table.field=value", where="--set")
        changes[address.strip()] = value
    ids = _ids(email, phone, user_id, identity)
    result = api.rectify(
        path, ids, changes, settings=_settings(db), actor=actor, scope=_scope(scope)
    )
    _print_result(result, as_json)


@app.command("restrict")
def restrict_cmd(
    path: PathArg,
    email: Emails = None,
    phone: Phones = None,
    user_id: UserIds = None,
    identity: Customs = None,
    scope: ScopeOpt = None,
    db: DbOpt = None,
    actor: ActorOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Mark the person restricted: purpose checks then refuse processing their data."""
    from troth.dsr import api

    ids = _ids(email, phone, user_id, identity)
    result = api.restrict(path, ids, settings=_settings(db), actor=actor, scope=_scope(scope))
    _print_result(result, as_json)


@app.command("status")
def status_cmd(
    request_id: Annotated[str | None, typer.Argument(help="a request id")] = None,
    db: DbOpt = None,
    limit: Annotated[int, typer.Option("-n", min=1, help="how many requests")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Show one request, or the latest ones, with status and due date."""
    from troth.dsr import api

    infos = api.status(request_id, settings=_settings(db), limit=limit)
    if as_json:
        console.out(json.dumps([i.to_dict() for i in infos], default=str), highlight=False)
        return
    table = Table("id", "type", "status", "received", "due", "reason", box=None)
    for i in infos:
        reason = (i.reason or "") + (" (retryable)" if i.retryable else "")
        table.add_row(i.id, i.kind, i.status, i.received_at[:19], i.due_at[:10], reason)
    console.print(table)

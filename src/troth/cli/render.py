"""``troth render`` and ``troth diff``: the readable policy, the Art. 30 record, policy changes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from troth.errors import TrothError
from troth.policy.loader import PolicyDocument, load_policy
from troth.policy.render import (
    Change,
    diff_policies,
    render_html,
    render_markdown,
    render_record_csv,
    render_record_html,
)


class RenderFormat(StrEnum):
    markdown = "markdown"
    html = "html"
    record_csv = "record-csv"
    record_html = "record-html"
    all = "all"


class DiffFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


class RenderError(TrothError):
    """A render or diff command was asked for something it cannot do."""


#: format -> (renderer, file name used when writing into a folder)
RENDERERS: dict[RenderFormat, tuple[Callable[[PolicyDocument], str], str]] = {
    RenderFormat.markdown: (render_markdown, "policy.md"),
    RenderFormat.html: (render_html, "policy.html"),
    RenderFormat.record_csv: (render_record_csv, "record.csv"),
    RenderFormat.record_html: (render_record_html, "record.html"),
}


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise RenderError(
            f"cannot write the file ({exc.strerror})", where=str(path), fix="choose another -o path"
        ) from None
    typer.echo(f"wrote {path}")


def render(
    path: Annotated[Path, typer.Argument(help="A policy.yaml, or a folder that contains one.")],
    fmt: Annotated[
        RenderFormat,
        typer.Option("--format", "-f", help="What to render; 'all' writes four files into -o."),
    ] = RenderFormat.markdown,
    out: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File (or folder) to write; default: stdout."),
    ] = None,
) -> None:
    """Render the human-readable policy or the GDPR Art. 30 record of processing."""
    doc = load_policy(path)
    if fmt is RenderFormat.all:
        if out is None:
            raise RenderError(
                "--format all writes four files and needs a folder",
                fix="add -o FOLDER (for example -o build/policy)",
            )
        if out.exists() and not out.is_dir():
            raise RenderError("--format all needs a folder, not a file", where=str(out))
        for renderer, name in RENDERERS.values():
            _write(out / name, renderer(doc))
        return
    renderer, name = RENDERERS[fmt]
    text = renderer(doc)
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        _write(out / name if out.is_dir() else out, text)


def format_changes(changes: list[Change], fmt: DiffFormat, old: str, new: str) -> str:
    """The changes as plain lines, a Markdown changelog section, or JSON."""
    if fmt is DiffFormat.json:
        data = {"old": old, "new": new, "changes": [c.as_dict() for c in changes]}
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt is DiffFormat.markdown:
        lines = [f"## Changes from version {old} to {new}", ""]
        if not changes:
            lines.append("No changes.")
        for kind in ("added", "changed", "removed"):
            group = [c for c in changes if c.kind == kind]
            if group:
                lines += [f"### {kind.capitalize()}", ""]
                lines += [f"- {c.text}" for c in group]
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"
    if not changes:
        return f"No changes between version {old} and {new}.\n"
    sign = {"added": "+", "removed": "-", "changed": "~"}
    return "".join(f"{sign[c.kind]} {c.section}/{c.element}: {c.text}\n" for c in changes)


def diff(
    old: Annotated[
        str, typer.Argument(help="The earlier policy.yaml (or its folder), or a version with -p.")
    ],
    new: Annotated[
        str, typer.Argument(help="The later policy.yaml (or its folder), or a version with -p.")
    ],
    fmt: Annotated[
        DiffFormat, typer.Option("--format", "-f", help="text, markdown (changelog) or json.")
    ] = DiffFormat.text,
    published: Annotated[
        Path | None,
        typer.Option("--published", "-p", help="OLD and NEW are versions this project published."),
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="troth state database URL.")] = None,
) -> None:
    """Say what changed between two versions of a policy, in changelog sentences."""
    from troth.policy.impact import impact

    if published is not None:
        old_doc, new_doc = _published_docs(published, old, new, db)
    else:
        old_doc, new_doc = load_policy(old), load_policy(new)
    changes = diff_policies(old_doc, new_doc)
    a, b = old_doc.policy.policy.version, new_doc.policy.policy.version
    text = format_changes(changes, fmt, a, b)
    effects = impact(old_doc.policy, new_doc.policy)
    if fmt is DiffFormat.json:
        data = json.loads(text)
        data["impact"] = [i.as_dict() for i in effects]
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        for i in effects:
            who = f"holders of consent {i.consent}" if i.action == "ask_again" else "everyone"
            verb = "ask again" if i.action == "ask_again" else "tell"
            text += f"{verb}: {who} ({i.element}: {i.reason})\n"
    sys.stdout.write(text)
    sys.stdout.flush()


def _published_docs(
    project: Path, old: str, new: str, db: str | None
) -> tuple[PolicyDocument, PolicyDocument]:
    from troth.config import Settings
    from troth.policy.loader import resolve_policy_path
    from troth.policy.versions import published_source
    from troth.store import open_store

    settings = Settings.from_env()
    engine = open_store(settings.with_database(db) if db else settings)
    file = resolve_policy_path(project)
    policy_id = load_policy(file).policy.policy.id
    return (
        load_policy(file, text=published_source(engine, policy_id, old)),
        load_policy(file, text=published_source(engine, policy_id, new)),
    )


def publish(
    path: Annotated[Path, typer.Argument(help="policy.yaml, or the folder that holds it.")],
    history: Annotated[
        bool, typer.Option("--history", help="List the published versions instead.")
    ] = False,
    by: Annotated[str, typer.Option("--by", help="Who publishes (a role or user id).")] = "cli",
    db: Annotated[str | None, typer.Option("--db", help="troth state database URL.")] = None,
    notify: Annotated[
        bool,
        typer.Option("--notify", help="Then send the notices of the change (`troth notices`)."),
    ] = False,
) -> None:
    """Archive this version of the policy and say whom the change concerns (PL-14)."""
    from troth.config import Settings
    from troth.policy import versions
    from troth.store import open_store

    settings = Settings.from_env()
    engine = open_store(settings.with_database(db) if db else settings)
    if history:
        policy_id = load_policy(path).policy.policy.id
        for v in versions.history(engine, policy_id):
            asks = sum(1 for i in v.impact if i.action == "ask_again")
            tells = sum(1 for i in v.impact if i.action == "tell")
            sys.stdout.write(
                f"{v.version}  published {v.published_at}  effective {v.effective or '-'}  "
                f"sha256 {v.sha256[:16]}  ask again {asks}, tell {tells}\n"
            )
        return
    if notify:  # a notice must precede the change: refuse before publishing
        from troth.policy.change_notices import check_effective

        check_effective(load_policy(path).policy)
    done = versions.publish(engine, path, actor=by)
    if not done.new:
        sys.stdout.write(f"version {done.version} is already published (same text)\n")
        if notify:
            _notify(path, engine, settings.with_database(db) if db else settings, by)
        return
    sys.stdout.write(
        f"published {done.policy_id} {done.version} (sha256 {done.sha256[:16]}, effective "
        f"{done.effective or 'not stated'})\n"
    )
    for i in done.impact:
        who = f"holders of consent {i.consent}" if i.action == "ask_again" else "everyone"
        verb = "ask again" if i.action == "ask_again" else "tell"
        sys.stdout.write(f"  {verb}: {who} ({i.element}: {i.reason})\n")
    if notify:
        _notify(path, engine, settings.with_database(db) if db else settings, by)


def _notify(path: Path, engine: Any, settings: Any, by: str) -> None:
    from troth.cli.notices import send

    sys.stdout.flush()
    send(path if path.is_dir() else path.parent, engine, settings, None, by)

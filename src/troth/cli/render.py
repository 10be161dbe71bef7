"""``troth render`` and ``troth diff``: the readable policy, the Art. 30 record, policy changes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

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
    old: Annotated[Path, typer.Argument(help="The earlier policy.yaml (or its folder).")],
    new: Annotated[Path, typer.Argument(help="The later policy.yaml (or its folder).")],
    fmt: Annotated[
        DiffFormat, typer.Option("--format", "-f", help="text, markdown (changelog) or json.")
    ] = DiffFormat.text,
) -> None:
    """Say what changed between two versions of a policy, in changelog sentences."""
    old_doc, new_doc = load_policy(old), load_policy(new)
    changes = diff_policies(old_doc, new_doc)
    text = format_changes(
        changes, fmt, old_doc.policy.policy.version, new_doc.policy.policy.version
    )
    sys.stdout.write(text)
    sys.stdout.flush()

"""Render the policy as Markdown."""

from __future__ import annotations

from troth.policy.loader import PolicyDocument
from troth.policy.render.document import Document, Item, Items, Note, Para, Section, Table
from troth.policy.render.sections import build_document

APPENDIX_ID = "promises"


def marks(promises: list[str]) -> str:
    """`` [MD-3] [MD-4]`` or an empty string."""
    return "".join(f" [{p}]" for p in promises)


def _esc(text: str) -> str:
    """Keep text on one line and away from Markdown table syntax."""
    return " ".join(text.split()).replace("|", "\\|")


def _note(note: Note) -> str:
    return f"*{note.label}:* {_esc(note.text)}"


def _item(it: Item, bullet: bool) -> list[str]:
    head = f"**{_esc(it.title)}**" + (": " if it.text else "") if it.title else ""
    line = f"{head}{_esc(it.text)}{marks(it.promises)}"
    out = [f"- {line}" if bullet else line]
    pad = "  " if bullet else ""
    out += [f"{pad}- {_esc(d)}" for d in it.details]
    out += [f"{pad}- {_note(n)}" for n in it.notes]
    return out


def _table(t: Table) -> list[str]:
    headers = [*t.headers, "Promises"]
    out = [f"*{_esc(t.caption)}*", "", "| " + " | ".join(headers) + " |"]
    out.append("|" + "---|" * len(headers))
    for r in t.rows:
        cells = [_esc(c) for c in r.cells] + [marks(r.promises).strip() or "–"]
        out.append("| " + " | ".join(cells) + " |")
    if t.notes:
        out.append("")
        out += [f"- {_esc(label)}: {_note(n)}" for label, n in t.notes]
    return out


def _section(sec: Section) -> list[str]:
    out = [f'<a id="{sec.id}"></a>', "", f"{'#' * sec.level} {sec.title}", ""]
    for block in sec.blocks:
        if isinstance(block, Para):
            out += _item(block.item, bullet=False)
        elif isinstance(block, Items):
            for it in block.items:
                out += _item(it, bullet=True)
        else:
            out += _table(block)
        out.append("")
    for sub in sec.subsections:
        out += _section(sub)
    return out


def document_markdown(d: Document) -> str:
    out = [f"# {d.title}", ""]
    out += [f"**{k}:** {_esc(v)}  " for k, v in d.facts]
    out += ["", "## Contents", ""]
    out += [f"- [{s.title}](#{s.id})" for s in d.sections]
    out += [f"- [Promises in this policy](#{APPENDIX_ID})", ""]
    for sec in d.sections:
        out += _section(sec)
    out += [f'<a id="{APPENDIX_ID}"></a>', "", "## Promises in this policy", ""]
    out.append(
        "Each promise of the published policy, and where this document encodes it "
        "(marked like [ID] next to the text)."
    )
    out.append("")
    for e in d.promises:
        where = ", ".join(f"[{s.title}](#{s.id})" for s in e.locations) or "not encoded yet"
        text = _esc(e.text) if e.declared else "*(referenced but not declared in `promises`)*"
        out.append(f"- **{e.id}**: {text}")
        if e.quote:
            out.append(f"  - Published text: “{_esc(e.quote)}”")
        out.append(f"  - Encoded in: {where}")
    return "\n".join(out).rstrip() + "\n"


def render_markdown(doc: PolicyDocument) -> str:
    """The human-readable privacy policy as Markdown."""
    return document_markdown(build_document(doc))

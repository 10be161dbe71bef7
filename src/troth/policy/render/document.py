"""The renderer-neutral document: sections of items and tables, each carrying its promise ids.

Markdown and HTML are both produced from this one structure, so the two cannot say different
things, and the promise appendix is computed from where the promises actually ended up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from troth.policy.loader import PolicyDocument
from troth.policy.render.labels import humanise

ASSUMED = "Not stated in the published policy"


@dataclass
class Note:
    """A labelled note: ``assumption`` (troth assumed it) or ``note`` (the author's remark)."""

    kind: str
    text: str

    @property
    def label(self) -> str:
        return ASSUMED if self.kind == "assumption" else "Note"


@dataclass
class Item:
    """One statement: an optional bold title, text, sub-points, promise ids and notes."""

    text: str
    title: str | None = None
    details: list[str] = field(default_factory=list)
    promises: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


@dataclass
class Para:
    item: Item


@dataclass
class Items:
    items: list[Item]


@dataclass
class Row:
    cells: list[str]
    promises: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


@dataclass
class Table:
    caption: str
    headers: list[str]
    rows: list[Row]

    @property
    def notes(self) -> list[tuple[str, Note]]:
        """Notes of the rows, labelled with the row's first cell, shown under the table."""
        return [(row.cells[0], n) for row in self.rows for n in row.notes]


Block = Para | Items | Table


@dataclass
class Section:
    id: str
    title: str
    level: int = 2
    blocks: list[Block] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)

    def add(self, block: Block) -> Section:
        self.blocks.append(block)
        return self

    def para(self, text: str, *, promises: list[str] | None = None) -> Section:
        return self.add(Para(Item(text, promises=list(promises or []))))

    def own_promises(self) -> list[str]:
        out: list[str] = []
        for block in self.blocks:
            if isinstance(block, Para):
                out += block.item.promises
            elif isinstance(block, Items):
                out += [p for i in block.items for p in i.promises]
            else:
                out += [p for r in block.rows for p in r.promises]
        return list(dict.fromkeys(out))

    def walk(self) -> list[Section]:
        out = [self]
        for sub in self.subsections:
            out += sub.walk()
        return out


@dataclass
class PromiseEntry:
    id: str
    text: str
    quote: str | None
    declared: bool
    locations: list[Section]


@dataclass
class Document:
    title: str
    lang: str
    facts: list[tuple[str, str]]
    sections: list[Section]
    promises: list[PromiseEntry]


def notes_of(element: Any) -> list[Note]:
    """The element's assumptions (labelled as such) and its note."""
    notes = [
        Note("assumption", f"{humanise(k)}: {why}")
        for k, why in (getattr(element, "assumptions", None) or {}).items()
    ]
    if getattr(element, "note", None):
        notes.append(Note("note", str(element.note)))
    return notes


def item(
    element: Any, text: str, *, title: str | None = None, details: list[str] | None = None
) -> Item:
    """An :class:`Item` carrying the element's promises, assumptions and note."""
    return Item(
        text=text,
        title=title,
        details=list(details or []),
        promises=list(getattr(element, "promises", None) or []),
        notes=notes_of(element),
    )


def row(element: Any, cells: list[str]) -> Row:
    return Row(
        cells=cells,
        promises=list(getattr(element, "promises", None) or []),
        notes=notes_of(element),
    )


def promise_index(doc: PolicyDocument, sections: list[Section]) -> list[PromiseEntry]:
    """Every declared promise (and any referenced but undeclared one) with where it is encoded."""
    where: dict[str, list[Section]] = {}
    for top in sections:
        for sec in top.walk():
            for pid in sec.own_promises():
                where.setdefault(pid, []).append(sec)
    entries = [
        PromiseEntry(p.id, p.text, p.quote, True, where.get(p.id, [])) for p in doc.policy.promises
    ]
    declared = {p.id for p in doc.policy.promises}
    for pid in sorted(set(where) - declared):
        entries.append(PromiseEntry(pid, "", None, False, where[pid]))
    return entries

"""Migrate a data map from reference ``direction`` (the Fides meaning) to reference ``kind``.

The rewrite is textual, line by line, so comments and layout survive:

``direction: from``  -> ``kind: owns``    (the referenced row's person owns this row)
``direction: to``    -> ``kind: refers``  (troth never walks from a row to the row it references)
no direction         -> ``kind: refers``  (it walked both ways; now it is not followed at all)

Each change is reported with its line, so a person can review it: a reference that pointed at a
many-to-many link table may be a ``link``, a one-to-one may be ``same_person``, and an ``owns`` into
a hub table (a tenant, an employee) must become ``refers``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIRECTION = re.compile(r"\bdirection:\s*(?P<q>[\"']?)(?P<dir>from|to)(?P=q)")
_FIELD_ONLY = re.compile(r"(\{\s*field:\s*[^,}]+)(\s*\})")
_BLOCK_FIELD = re.compile(r"^(?P<indent>\s*)-\s+field:\s*\S+\s*$")
_NEW = {"from": "owns", "to": "refers"}


@dataclass(frozen=True)
class Change:
    line: int
    before: str
    after: str


def migrate_text(text: str) -> tuple[str, list[Change]]:
    """The migrated text and the changes made (1-based line numbers)."""
    lines = text.splitlines(keepends=True)
    changes: list[Change] = []
    in_refs = False
    refs_indent = -1
    out: list[str] = []
    for n, line in enumerate(lines, start=1):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if stripped.startswith("references:"):
            in_refs, refs_indent = True, indent
        elif in_refs and stripped and indent <= refs_indent and not stripped.startswith("-"):
            in_refs = False
        new = line
        if _DIRECTION.search(line):
            new = _DIRECTION.sub(lambda m: f"kind: {_NEW[m['dir']]}", line)
        elif "field:" in line and ("references:" in line or in_refs) and "kind:" not in line:
            if _FIELD_ONLY.search(line):
                new = _FIELD_ONLY.sub(r"\1, kind: refers\2", line, count=1)
            elif (m := _BLOCK_FIELD.match(line.rstrip("\n"))) and not _next_has_kind(lines, n):
                pad = " " * (len(m["indent"]) + 2)
                new = line + f"{pad}kind: refers\n"
        if new != line:
            changes.append(Change(n, line.strip(), new.strip().replace("\n", " ")))
        out.append(new)
    return "".join(out), changes


def _next_has_kind(lines: list[str], n: int) -> bool:
    """Whether the block reference starting at line ``n`` (1-based) already has a kind/direction."""
    first = lines[n - 1]
    indent = len(first) - len(first.lstrip())
    for line in lines[n:]:
        stripped = line.lstrip()
        if not stripped:
            continue
        if len(line) - len(stripped) <= indent:
            return False
        if stripped.startswith(("kind:", "direction:")):
            return True
    return False

"""Safe YAML reading that remembers where every value came from.

PyYAML composes the document into nodes (with the C parser when available); this module turns the
nodes into plain Python values and a :class:`SourceMap` from each value's path (``("purposes", 2,
"legal_basis")``) to its ``line:column``. It rejects what a policy file must never contain:
duplicate keys, non-string keys, recursive aliases and alias expansion bombs, oversize files,
anything but a regular file (a FIFO or ``/dev/zero`` is refused before a byte is read), and values
that cannot exist (``2026-02-30``), each with its ``file:line:column``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from troth.errors import PolicyError
from troth.files import read_text_file

try:  # the C parser is ~10x faster; fall back to pure Python where libyaml is missing
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

MAX_BYTES = 32 * 1024 * 1024
MAX_NODES = 2_000_000
_STR = "tag:yaml.org,2002:str"

Path_ = tuple[str | int, ...]


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a YAML document is."""

    file: str
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def at(self, path: Path_, *, key: bool = False) -> str:
        """``file:line:col`` of the deepest known prefix of ``path``."""
        table = self.keys if key else self.values
        p = tuple(path)
        while p:
            if p in table:
                line, col = table[p]
                return f"{self.file}:{line}:{col}"
            if p in self.values:
                line, col = self.values[p]
                return f"{self.file}:{line}:{col}"
            p = p[:-1]
        line, col = self.values.get((), (1, 1))
        return f"{self.file}:{line}:{col}"


def split_field(field: str | None) -> Path_:
    """``"categories.0"`` -> ``("categories", 0)``."""
    if not field:
        return ()
    return tuple(int(p) if p.isdigit() else p for p in field.split("."))


def dotted(path: Path_) -> str:
    """``("purposes", 2, "legal_basis")`` -> ``purposes[2].legal_basis``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


class Located:
    """Mixin of a loaded document whose elements carry their ``_path`` in ``source``."""

    source: SourceMap

    def where(self, element: Any = None, field: str | None = None, *, key: bool = False) -> str:
        """``file:line:col`` of an element (or one of its fields)."""
        path: Path_ = getattr(element, "_path", ()) if element is not None else ()
        return self.source.at((*path, *split_field(field)), key=key)

    def field_path(self, element: Any, field: str | None = None) -> str:
        """The element's (or field's) path, e.g. ``purposes[2].legal_basis``."""
        return dotted((*getattr(element, "_path", ()), *split_field(field)))


def _hint(problem: str) -> str:
    p = problem.lower()
    if "\\t" in p or "tab" in p:
        return "indent with spaces, not tabs"
    if "mapping values are not allowed" in p:
        return "check the indentation of this line and quote values that contain ': '"
    if "expected <block end>" in p or "did not find expected" in p:
        return "check that this line is indented like its siblings"
    if "found undefined alias" in p:
        return "define the anchor (&name) before using the alias (*name)"
    if "found unhashable key" in p:
        return "use a plain string as the key"
    return "fix the YAML syntax at this position"


def read_yaml(path: Path | str, *, text: str | None = None) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain values and its source map."""
    path = Path(path)
    name = str(path)
    if text is None:
        text = read_text_file(path, max_bytes=MAX_BYTES, error=PolicyError)
    elif len(text) > MAX_BYTES:
        raise PolicyError("document is too large", where=name)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        raise PolicyError(f"invalid YAML: {problem}", where=where, fix=_hint(problem)) from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"invalid YAML: {type(exc).__name__}", where=name) from None
    smap = SourceMap(name)
    if node is None:
        return None, smap
    return _Builder(name, smap).build(node, ()), smap


class _Builder:
    def __init__(self, name: str, smap: SourceMap) -> None:
        self.name = name
        self.smap = smap
        self.count = 0
        self.active: set[int] = set()
        self.constructor = yaml.SafeLoader("")

    def where(self, node: yaml.Node) -> str:
        return f"{self.name}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise PolicyError(
                f"document expands to more than {MAX_NODES:,} values (an alias bomb?)",
                where=self.where(node),
                fix="remove the nested anchors and aliases",
            )
        if path not in self.smap.values:
            self.smap.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _STR:
                return node.value
            try:
                return self.constructor.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                raise PolicyError(
                    f"invalid value ({getattr(exc, 'problem', None) or 'cannot be read'})",
                    where=self.where(node),
                    fix="quote the value",
                ) from None
            except Exception as exc:  # 2026-02-30, !!timestamp 2026-13-45, !!timestamp abc
                date = node.tag.endswith(":timestamp")
                why = f" ({str(exc)[:80]})" if isinstance(exc, ValueError) else ""
                raise PolicyError(
                    f"invalid {'date' if date else 'value'} {node.value[:40]!r}{why}",
                    where=self.where(node),
                    fix="write a real calendar date as YYYY-MM-DD" if date else "quote the value",
                ) from None
        if id(node) in self.active:
            raise PolicyError(
                "recursive alias", where=self.where(node), fix="an alias cannot contain itself"
            )
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
        finally:
            self.active.discard(id(node))
        raise PolicyError("unsupported YAML node", where=self.where(node))  # pragma: no cover

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise PolicyError(
                    "merge keys (<<) are not supported",
                    where=self.where(key_node),
                    fix="write the keys out",
                )
            if not isinstance(key_node, yaml.ScalarNode):
                raise PolicyError(
                    "a mapping key must be a plain string",
                    where=self.where(key_node),
                    fix="use a plain string as the key",
                )
            key = key_node.value
            if key in out:
                first = self.smap.keys.get((*path, key))
                at = f" (first at line {first[0]})" if first else ""
                raise PolicyError(
                    f"duplicate key {key!r}{at}",
                    where=self.where(key_node),
                    fix="remove or rename one of them",
                )
            self.smap.keys[(*path, key)] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            out[key] = self.build(value_node, (*path, key))
        return out

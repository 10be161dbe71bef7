"""Rich consoles shared by the CLI modules.

On a terminal they print as Rich does (colours, tables fitted to the window). When the output is
not a terminal (a pipe, a file, CI logs) nothing is cut or wrapped at Rich's default 80 columns:
lines print whole and a :class:`~rich.table.Table` prints as plain aligned text, one row a line.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.errors import MarkupError
from rich.table import Table
from rich.text import Text


def _plain(cell: object) -> str:
    if isinstance(cell, Text):
        text = cell.plain
    elif isinstance(cell, str):
        try:
            text = Text.from_markup(cell).plain
        except MarkupError:
            text = cell
    else:
        text = "" if cell is None else str(cell)
    return " ".join(text.split()) if "\n" in text else text


def plain_table(table: Table) -> Text:
    """The table as plain text: a header line, then one line per row, columns padded to align."""
    columns = [[_plain(c.header), *(_plain(x) for x in c.cells)] for c in table.columns]
    widths = [max(cell_len(v) for v in col) for col in columns]
    lines = []
    if table.title:
        lines.append(_plain(table.title))
    for row in zip(*columns, strict=True):
        padded = [v + " " * (w - cell_len(v)) for v, w in zip(row, widths, strict=True)]
        lines.append("  ".join(padded).rstrip())
    if table.caption:
        lines.append(_plain(table.caption))
    return Text("\n".join(lines))


class TrothConsole(Console):
    """A Console that prints plainly and without truncation when its output is not a terminal."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if not self.is_terminal:
            kwargs.setdefault("soft_wrap", True)
            objects = tuple(plain_table(o) if isinstance(o, Table) else o for o in objects)
        super().print(*objects, **kwargs)


console = TrothConsole(highlight=False)
err_console = TrothConsole(stderr=True, highlight=False)

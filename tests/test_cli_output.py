"""CLI output that is not a terminal: plain tables and whole lines, never cut at 80 columns."""

from __future__ import annotations

import io

import pytest
from rich.table import Table

from troth.cli import main
from troth.cli._console import TrothConsole, plain_table
from troth.policy.checks import CHECKS


def test_a_table_prints_plain_and_whole_when_not_on_a_terminal() -> None:
    out = io.StringIO()
    console = TrothConsole(file=out, highlight=False)
    table = Table("table", "what", title="Steps")
    long = "x" * 150
    table.add_row("orders", f"[bold]{long}[/]")
    table.add_row("a_much_longer_name", "short\nsecond line")
    console.print(table)
    console.print("y" * 200)
    assert out.getvalue().splitlines() == [
        "Steps",
        "table               what",
        f"orders              {long}",
        "a_much_longer_name  short second line",
        "y" * 200,
    ]


def test_on_a_terminal_rich_draws_the_table() -> None:
    out = io.StringIO()
    console = TrothConsole(file=out, force_terminal=True, width=40, color_system=None)
    table = Table("a", "b")
    table.add_row("1", "2")
    console.print(table)
    assert "┃" in out.getvalue() or "│" in out.getvalue()


def test_plain_table_keeps_brackets_that_are_not_markup() -> None:
    table = Table("sql")
    table.add_row("SELECT a[1] FROM t")
    assert plain_table(table).plain.splitlines()[1] == "SELECT a[1] FROM t"


def test_list_of_checks_is_whole_in_a_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["id", "severity", "what", "it", "finds"]
    for check_id, chk in CHECKS.items():
        line = next(x for x in lines if x.split()[0] == check_id)
        assert line.endswith(chk.title), line

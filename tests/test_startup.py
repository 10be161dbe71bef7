"""Start-up stays light: what ``troth --version`` and ``troth --help`` import (structural, no timing)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from troth.cli.app import COMMANDS, load_command

HEAVY = ("sqlalchemy", "alembic", "psycopg", "fastapi", "jinja2", "pydantic")


def _modules(*args: str) -> set[str]:
    """Every module loaded by ``troth ARGS`` in a fresh interpreter (``sys.modules`` at the end:
    ``-X importtime`` does not see the modules loaded by ``importlib.import_module``)."""
    code = (
        "import json, sys\n"
        "from troth.cli import main\n"
        f"main({list(args)!r})\n"
        "sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(proc.stderr.rsplit("MODULES ", 1)[1]))


def _packages(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_version_imports_nothing_heavy() -> None:
    """The structural guard of the issue: ``python -X importtime -m troth --version``."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "troth", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "troth" in imported
    assert proc.stdout.startswith("troth ")
    assert not imported & {*HEAVY, "typer", "rich"}
    assert not _packages(_modules("--version")) & {*HEAVY, "typer", "rich"}


def test_help_imports_no_sub_command_nor_library() -> None:
    modules = _modules("--help")
    assert "typer" in _packages(modules)
    assert not _packages(modules) & set(HEAVY)
    assert not modules & {e.module for e in COMMANDS.values()}


def test_a_command_imports_only_its_module() -> None:
    modules = _modules("dsr", "--help")
    assert "troth.cli.dsr" in modules
    others = {e.module for e in COMMANDS.values() if e.module != "troth.cli.dsr"}
    assert not modules & others
    assert "alembic" not in _packages(_modules("check", "examples/plus"))


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_lines_are_the_commands_own(name: str) -> None:
    """The list in ``troth --help`` is written without importing; it must say what the command does."""
    command = load_command(name)
    own = (command.short_help or command.help or "").strip().split("\n\n")[0]
    assert " ".join(own.split()) == COMMANDS[name].help


def test_the_dsr_api_imports_no_server_or_connector_library() -> None:
    """A request from a script or the CLI loads no web server, HTTP client, queue or lake."""
    code = (
        "import json, sys\n"
        "import troth.dsr.api\n"
        "sys.stdout.write(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = _packages(set(json.loads(proc.stdout)))
    heavy = {"fastapi", "uvicorn", "httpx", "procrastinate", "duckdb", "deltalake", "pyarrow"}
    assert not loaded & (heavy | {"redis", "presidio_analyzer", "alembic"})

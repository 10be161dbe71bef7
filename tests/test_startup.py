"""Start-up stays light: what ``troth --version`` and ``troth --help`` import (structural, no timing)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

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


def test_every_module_with_models_is_a_part_that_load_all_imports() -> None:
    """A module defining tables on ``Base`` that ``PARTS`` forgets would miss from the Alembic
    environment and the schema test; ``load_all`` must then hold every table."""
    from troth.store.models import PARTS, Base, load_all

    src = Path(__file__).resolve().parents[1] / "src"
    defining = {
        ".".join(p.relative_to(src).with_suffix("").parts)
        for p in (src / "troth").rglob("*.py")
        if re.search(r"^class \w+\(Base\):", p.read_text(), re.M)
    }
    assert defining - {"troth.store.models"} == set(PARTS)
    tables = load_all().tables
    assert {"audit_entry", "dsr_request", "centre_code", "webhook_endpoint"} <= set(tables)
    assert load_all() is Base.metadata


#: the model modules of the parts a DSR does not use
OTHER_PARTS = {
    "troth.breach.models",
    "troth.centre.models",
    "troth.consent.models",
    "troth.policy.models",
    "troth.retention.models",
    "troth.worker.webhooks",
}


def test_dsr_access_loads_only_the_models_it_uses(tmp_path: Path) -> None:
    """``troth dsr access`` (a whole request, export written, state DB at head) defines no centre, worker, breach,
    consent, retention or policy-version table: each part loads only its own models."""
    from troth.datamap.demo import create_demo_db
    from troth.store.models import PARTS

    url = f"sqlite:///{tmp_path / 'shop.db'}"
    create_demo_db(url, "mydigisoft", customers=3)
    project = Path(__file__).resolve().parents[1] / "examples" / "mydigisoft"
    code = (
        "import json, sys\n"
        "from troth.cli import main\n"
        "from troth.store.models import Base\n"
        "try:\n"
        f"    main(['dsr', 'access', {str(project)!r}, '--email', 'customer2@example.com',\n"
        f"          '-o', {str(tmp_path / 'a.zip')!r}, '--json'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "sys.stderr.write('\\nLOADED ' + json.dumps([sorted(sys.modules),\n"
        "                                           sorted(Base.metadata.tables)]))\n"
    )
    env = {
        **os.environ,
        "TROTH_HOME": str(tmp_path / "home"),
        "TROTH_SECRET_KEY": "test-secret-key-0123456789abcdef",
        "TROTH_CONN_MYDIGISOFT_SHOP": url,
    }
    env.pop("TROTH_DATABASE_URL", None)
    for _ in range(2):  # the first creates the state DB (its migrations load every part)
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        )
    assert json.loads(proc.stdout)["status"] == "completed"
    modules, tables = json.loads(proc.stderr.rsplit("LOADED ", 1)[1])
    assert set(PARTS) >= OTHER_PARTS
    assert not set(modules) & OTHER_PARTS
    assert "troth.dsr.models" in modules
    assert "dsr_request" in tables
    assert not {t for t in tables if t.startswith(("centre_", "webhook_", "consent_", "breach"))}
    assert not set(_packages(set(modules))) & {"alembic", "fastapi", "httpx", "uvicorn"}
    # --json: the lean path, no CLI framework
    assert not set(_packages(set(modules))) & {"typer", "rich", "click"}

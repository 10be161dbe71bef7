"""The lean path of the hot scripted commands: ``troth dsr access|erase ... --json``.

A script or a job that runs one request per process pays Typer's and Rich's imports (a fifth of
the process on a small machine) for nothing when it asks for JSON. This module parses exactly the
options of those two commands (the same names as :mod:`troth.cli.dsr`, which takes its helpers
from here) and runs the same library call, printing the same JSON and the same one-line errors
with the same exit codes. Anything else — another command, ``--help``, an option it does not
know, a malformed line — returns ``None`` and the full Typer app answers (with its usage error).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from troth.config import Settings
from troth.errors import PolicyLoadError, RequestError, TrothError

if TYPE_CHECKING:
    from troth.dsr.identity import Identity

#: options that take a value (repeatable ones collect a list), per command
_LISTS = ("--email", "--phone", "--user-id", "--identity", "--scope")
_VALUES = {"access": ("-o", "--output", "--db", "--actor"), "erase": ("--db", "--actor")}
_FLAGS = {"access": ("--json",), "erase": ("--json", "--dry-run")}


def identities(
    email: Sequence[str] | None,
    phone: Sequence[str] | None,
    user_id: Sequence[str] | None,
    identity: Sequence[str] | None,
) -> list[Identity]:
    """The request's identities from the command line's options."""
    from troth.dsr.identity import parse_identities

    return parse_identities(
        email=email or (), phone=phone or (), user_id=user_id or (), custom=identity or ()
    )


def scope_of(items: Sequence[str] | None) -> dict[str, str]:
    """The ``--scope name=value`` options as a mapping; each name once."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise RequestError(
                "a --scope must be written name=value", where="--scope", fix="e.g. --scope tenant=7"
            )
        if name.strip() in out:
            raise RequestError(
                f"--scope {name.strip()} is given twice",
                where="--scope",
                fix="give each scope once: a request is exercised in one scope",
            )
        out[name.strip()] = value.strip()
    return out


def settings_for(db: str | None) -> Settings:
    """The settings from the environment, with ``--db`` replacing the state database."""
    s = Settings.from_env()
    return s.with_database(db) if db else s


def parse(args: Sequence[str]) -> tuple[str, dict[str, Any]] | None:
    """``(command, options)`` of a ``dsr access|erase ... --json`` line, else ``None``."""
    if len(args) < 3 or args[0] != "dsr" or args[1] not in _VALUES or "--json" not in args:
        return None
    kind = args[1]
    opts: dict[str, Any] = {name: [] for name in _LISTS}
    paths: list[str] = []
    rest = list(args[2:])
    while rest:
        arg = rest.pop(0)
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _FLAGS[kind] and not eq:
            opts[name] = True
        elif name in _LISTS or name in _VALUES[kind]:
            if not eq and (not rest or rest[0].startswith("-")):
                return None  # a missing value: Typer says so
            value = inline if eq else rest.pop(0)
            if name in _LISTS:
                opts[name].append(value)
            else:
                opts["--output" if name == "-o" else name] = value
        elif arg.startswith("-"):
            return None  # --help, an unknown option, a typo: the full app answers
        else:
            paths.append(arg)
    if len(paths) != 1:
        return None
    opts["path"] = paths[0]
    return kind, opts


def run(args: Sequence[str]) -> int | None:
    """Run a lean command line; ``None`` when it is not one (the caller runs the full app)."""
    parsed = parse(args)
    if parsed is None:
        return None
    kind, o = parsed
    try:
        from troth.dsr import api

        ids = identities(o["--email"], o["--phone"], o["--user-id"], o["--identity"])
        common: dict[str, Any] = {
            "settings": settings_for(o.get("--db")),
            "actor": o.get("--actor", "cli"),
            "scope": scope_of(o["--scope"]),
        }
        if kind == "access":
            out = o.get("--output")
            result = api.access(Path(o["path"]), ids, output=Path(out) if out else None, **common)
        else:
            result = api.erase(Path(o["path"]), ids, dry_run=bool(o.get("--dry-run")), **common)
    except PolicyLoadError as exc:
        for line in exc.lines():
            sys.stderr.write(f"error: {line}\n")
        return exc.exit_code
    except TrothError as exc:
        sys.stderr.write(f"error: {exc.one_line()}\n")
        return exc.exit_code
    except Exception as exc:
        if os.environ.get("TROTH_DEBUG"):
            raise
        sys.stderr.write(
            f"internal error: {type(exc).__name__}; this is a bug in troth: re-run with "
            "TROTH_DEBUG=1 and report the traceback\n"
        )
        return 70
    sys.stdout.write(json.dumps(result.to_dict(), default=str) + "\n")
    return 0 if result.ok else result.exit_code

"""The ``troth`` command line: a thin layer over the library.

The app lives in :mod:`troth.cli.app`; each domain's commands in their own module, imported only
when they run. ``troth --version`` answers before anything else is imported; ``troth dsr
access|erase ... --json`` runs without Typer or Rich (:mod:`troth.cli.lean`).
"""

from __future__ import annotations

import sys

from troth import __version__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        print(f"troth {__version__}")
        return 0
    if args[:1] == ["dsr"] and "--json" in args:
        from troth.cli.lean import run as lean

        code = lean(args)
        if code is not None:
            return code
    from troth.cli.app import run

    return run(args)

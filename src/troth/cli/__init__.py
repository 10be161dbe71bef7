"""The ``troth`` command line: a thin layer over the library.

Each domain has its own module that defines a Typer sub-app or commands; this module assembles them
and turns every :class:`~troth.errors.TrothError` into one clear line on stderr and its exit code.
"""

from __future__ import annotations

import os
import sys

import typer
from rich.markup import escape

from troth.cli import audit, datamap, demo, dsr, policy, retention, serve, views, webhook, worker
from troth.cli import render as render_cli
from troth.cli._console import err_console
from troth.errors import PolicyLoadError, TrothError

app = typer.Typer(
    name="troth",
    help="Privacy policy as code: declare, check, enforce and prove a privacy policy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
policy.register(app)
demo.register(app)
render_cli.register(app)
app.add_typer(audit.app, name="audit")
app.add_typer(datamap.app, name="datamap")
app.add_typer(dsr.app, name="dsr")
app.add_typer(retention.app, name="retention")
serve.register(app)
app.add_typer(views.app, name="views")
worker.register(app)
app.add_typer(webhook.app, name="webhook")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        result = app(args=argv, standalone_mode=False)
    except PolicyLoadError as exc:
        for line in exc.lines():
            err_console.print(f"[bold red]error:[/] {escape(line)}", soft_wrap=True)
        return exc.exit_code
    except TrothError as exc:
        err_console.print(
            f"[bold red]error:[/] {escape(exc.one_line())}", highlight=False, soft_wrap=True
        )
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except Exception as exc:  # usage errors of the CLI framework, and the unexpected
        show = getattr(exc, "show", None)
        code = getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):  # click's (or Typer's vendored) usage error
            show()
            return code
        if os.environ.get("TROTH_DEBUG"):
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}; "
            "this is a bug in troth: re-run with TROTH_DEBUG=1 and report the traceback"
        )
        return 70
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The main Typer app of ``troth`` and the entry point behind :func:`troth.cli.main`.

Each domain has its own module that defines a Typer sub-app or commands. They are listed in
:data:`COMMANDS` and imported only when their command runs: ``troth --help`` imports no
sub-command, ``troth dsr access`` only ``troth.cli.dsr`` and what it uses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import import_module
from typing import Annotated

import typer
from rich.markup import escape
from typer import _click
from typer.core import TyperCommand, TyperGroup

from troth import __version__
from troth.cli._console import err_console
from troth.errors import PolicyLoadError, TrothError


@dataclass(frozen=True)
class Entry:
    """A command of the main app: where it lives, and its help line for ``troth --help``."""

    module: str
    attr: str
    help: str
    group: bool = False


#: every command of ``troth``, in the order ``--help`` lists them; a test keeps the help lines
#: equal to the commands' own
COMMANDS: dict[str, Entry] = {
    "check": Entry(
        "troth.cli.policy",
        "check",
        "Check a policy against itself and the law's basic rules; exit 1 on errors.",
    ),
    "checks": Entry(
        "troth.cli.policy", "list_checks", "List every registered check with its severity."
    ),
    "schema": Entry(
        "troth.cli.policy",
        "schema",
        "Print the JSON Schema of policy.yaml or datamap.yaml (for editors and CI).",
    ),
    "demo": Entry(
        "troth.cli.demo",
        "demo",
        "Check and render both example policies, record every step, verify the audit chain.",
    ),
    "discover": Entry(
        "troth.cli.discover",
        "discover",
        "Sample every mapped store, classify its columns, and report personal data the map does "
        "not declare; proposals are written as map fragments marked `guess: true`, never applied.",
    ),
    "render": Entry(
        "troth.cli.render",
        "render",
        "Render the human-readable policy or the GDPR Art. 30 record of processing.",
    ),
    "diff": Entry(
        "troth.cli.render",
        "diff",
        "Say what changed between two versions of a policy, in changelog sentences.",
    ),
    "publish": Entry(
        "troth.cli.render",
        "publish",
        "Archive this version of the policy and say whom the change concerns (PL-14).",
    ),
    "notices": Entry(
        "troth.cli.notices",
        "notices",
        "Send the notices of a published policy change to whom it concerns, before it applies.",
    ),
    "serve": Entry(
        "troth.cli.serve",
        "serve",
        "Serve the consent API, the cookie banner and its assets (FastAPI + uvicorn).",
    ),
    "prove": Entry(
        "troth.cli.prove",
        "prove",
        "Evidence per promise: report.html, report.json and a signed manifest; exit 1 if broken.",
    ),
    "verify-proof": Entry(
        "troth.cli.prove",
        "verify_proof",
        "Check a proof's signature, its files, and the ledger head it was signed over.",
    ),
    "attest": Entry(
        "troth.cli.prove",
        "attest",
        "Record that a security control was carried out, as the audit event the policy names.",
    ),
    "audit": Entry("troth.cli.audit", "app", "The tamper-evident audit ledger.", group=True),
    "breach": Entry(
        "troth.cli.breach",
        "app",
        "Personal data breaches: the register, the 72-hour clock, notices.",
        group=True,
    ),
    "centre": Entry(
        "troth.cli.centre",
        "app",
        "The privacy centre for people (served by troth serve).",
        group=True,
    ),
    "consent": Entry(
        "troth.cli.consent", "app", "The consent ledger: import existing opt-ins.", group=True
    ),
    "datamap": Entry(
        "troth.cli.datamap",
        "app",
        "The data map: stores, tables, fields and how they link to a person.",
        group=True,
    ),
    "dsr": Entry(
        "troth.cli.dsr",
        "app",
        "Data-subject requests: plan, access, erase, rectify, restrict, status.",
        group=True,
    ),
    "retention": Entry(
        "troth.cli.retention",
        "app",
        "Retention: plan and run sweeps, legal holds on people.",
        group=True,
    ),
    "worker": Entry(
        "troth.cli.worker",
        "worker",
        "Run verified requests, retention schedules and webhooks from the queue until stopped.",
    ),
    "jobs": Entry(
        "troth.cli.worker",
        "jobs",
        "The outbox, the queue's jobs by status, live workers, stuck and failed jobs.",
    ),
    "webhook": Entry(
        "troth.cli.webhook",
        "app",
        "Signed webhooks on every change of a request (sent by the workers).",
        group=True,
    ),
    "user": Entry(
        "troth.cli.user",
        "app",
        "Users of the privacy team's console (/admin): roles, passwords, TOTP.",
        group=True,
    ),
    "apikey": Entry(
        "troth.cli.serve",
        "apikey_app",
        "API keys of troth serve (server-to-server calls).",
        group=True,
    ),
    "views": Entry(
        "troth.cli.views",
        "app",
        "Purpose-bound views: only a purpose's fields and people.",
        group=True,
    ),
}


def load_command(name: str) -> _click.Command:
    """Import the module of command ``name`` and build its click command."""
    entry = COMMANDS[name]
    target = getattr(import_module(entry.module), entry.attr)
    if entry.group:
        command: _click.Command = typer.main.get_group(target)
    else:
        single = typer.Typer()
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The main group: lists :data:`COMMANDS` from their help lines, imports one when it runs."""

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return [*COMMANDS, *(n for n in self.commands if n not in COMMANDS)]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        # a stand-in that only shows in the list of commands; running a command resolves it
        return TyperCommand(cmd_name, help=entry.help, short_help=entry.help)

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        if args and args[0] in COMMANDS and args[0] not in self.commands:
            self.commands[args[0]] = load_command(args[0])
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="troth",
    cls=LazyGroup,
    help="Privacy policy as code: declare, check, enforce and prove a privacy policy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"troth {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Privacy policy as code: declare, check, enforce and prove a privacy policy."""


def run(argv: list[str] | None) -> int:
    """Run the command line; every error becomes one line on stderr and an exit code."""
    try:
        result = app(args=argv, standalone_mode=False, prog_name="troth")
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

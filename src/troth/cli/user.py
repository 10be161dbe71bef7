"""``troth user add|passwd|disable|totp|list``: the privacy team's console users.

Passwords come from a hidden prompt (typed twice) or, with ``--password-stdin``, from the first
line of standard input; never from the command line, where ``ps`` and shell history see them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from troth.cli._console import console
from troth.cli.serve import DbOption, _open_store, _settings

if TYPE_CHECKING:
    from troth.console.users import Users

app = typer.Typer(help="Users of the privacy team's console (/admin): roles, passwords, TOTP.")
StdinOption = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]
ACTOR = "cli"


def _users(db: str | None) -> Users:
    from troth.console.users import Users

    settings = _settings(db)
    return Users(_open_store(settings), settings.secret_key)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    text: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return text


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Log-in name (e.g. dpo, a.smith).")],
    role: Annotated[
        str, typer.Option(help="admin, privacy_officer, reviewer or auditor (read-only).")
    ] = "reviewer",
    password_stdin: StdinOption = False,
    db: DbOption = None,
) -> None:
    """Add a user with a role; the password is hashed with argon2id."""
    from troth.console.roles import parse_role

    parsed = parse_role(role)
    users = _users(db)
    user = users.add(name, parsed, _password(password_stdin), actor=ACTOR)
    console.out(f"added {user.name} ({user.role}) id {user.id}", highlight=False)


@app.command("passwd")
def passwd(
    name: Annotated[str, typer.Argument(help="Log-in name.")],
    password_stdin: StdinOption = False,
    db: DbOption = None,
) -> None:
    """Set a new password; the user's sessions end."""
    users = _users(db)
    user = users.named(name)
    users.set_password(user.name, _password(password_stdin), actor=ACTOR)
    console.out(f"password changed for {user.name}", highlight=False)


@app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="Log-in name.")], db: DbOption = None) -> None:
    """The user can no longer sign in; their sessions end at once."""
    user = _users(db).disable(name, actor=ACTOR)
    console.out(f"disabled {user.name}", highlight=False)


@app.command("totp")
def totp(name: Annotated[str, typer.Argument(help="Log-in name.")], db: DbOption = None) -> None:
    """Turn on TOTP (or renew its secret); prints the provisioning URI once."""
    uri = _users(db).enable_totp(name, actor=ACTOR)
    console.out("add this to the authenticator app (shown once):", highlight=False)
    console.out(uri, highlight=False)


@app.command("list")
def list_cmd(db: DbOption = None) -> None:
    """Users: name, role, TOTP, state."""
    for u in _users(db).list():
        state = "disabled" if u.disabled else "active"
        totp_state = "totp" if u.totp else "no-totp"
        console.out(f"{u.name}  {u.role}  {totp_state}  {state}  {u.id}", highlight=False)

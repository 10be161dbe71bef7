"""``troth check``, ``troth render``, ``troth diff``: the policy commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the policy commands to the main app."""

"""``troth serve``: the FastAPI app factory, the consent API and the cookie banner."""

from __future__ import annotations

from troth.web.app import create_app

__all__ = ["create_app"]

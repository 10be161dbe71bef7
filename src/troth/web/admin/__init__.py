"""The privacy team's console (``/admin``): server-rendered pages, no scripts.

:func:`install` adds it to the app of ``troth serve``; users, sessions and roles are in
:mod:`troth.console`.
"""

from __future__ import annotations

from troth.web.admin.context import install

__all__ = ["install"]

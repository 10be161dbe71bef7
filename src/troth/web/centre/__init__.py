"""The privacy centre for people (``/privacy``): server-rendered pages, no scripts.

:func:`install` adds it to the app of ``troth serve``; the flow itself is
:class:`troth.centre.service.Centre`.
"""

from __future__ import annotations

from troth.web.centre.context import install

__all__ = ["install"]

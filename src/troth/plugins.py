"""The one place where plug-ins are registered.

Each plug-in point is a :class:`Registry`: ``CHECKS`` (troth.policy.checks.base), ``CONNECTORS``
(troth.connectors.base), ``KEYSTORES`` (troth.connectors.keystore), ``MASKING``
(troth.masking.base), ``NOTIFIERS`` (troth.notify.base), ``DETECTORS`` (troth.discovery.base).
Each names the modules whose import
registers its built-ins, and these register through the same :meth:`Registry.register` call a
third-party package uses; third parties are discovered through the ``troth.plugins`` entry-point
group, whose modules register themselves on import.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from importlib import import_module
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from troth.errors import PluginError, UnknownPluginError

T = TypeVar("T")

ENTRY_POINT_GROUP = "troth.plugins"


class Registry(Generic[T]):
    """Named plug-ins of one kind. An unknown name fails with the list of valid ones.

    ``builtins`` are the modules of troth whose import registers the built-in plug-ins of this
    kind; they are imported on first use, so a command only pays for the plug-ins it uses.
    """

    def __init__(self, kind: str, builtins: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.builtins = builtins
        self._items: dict[str, T] = {}
        self._loaded = False
        self._loading = False
        # threads that look a plug-in up at once wait until the built-ins are registered
        self._lock = threading.RLock()

    def _load(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded or self._loading:  # done, or this thread's own import re-entered
                return
            self._loading = True
            try:
                for module in self.builtins:
                    import_module(module)
                load_entry_points()
            finally:
                self._loading = False
            self._loaded = True

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@registry.register("null")``."""

        def add(item: T) -> T:
            self.add(name, item)
            return item

        return add

    def add(self, name: str, item: T) -> None:
        if name in self._items and self._items[name] is not item:
            raise PluginError(
                f"{self.kind} {name!r} is registered twice",
                fix="give the second plug-in another name",
            )
        self._items[name] = item

    def get(self, name: str, *, where: str | None = None) -> T:
        self._load()
        try:
            return self._items[name]
        except KeyError:
            raise UnknownPluginError(self.kind, name, self._items, where=where) from None

    def names(self) -> list[str]:
        self._load()
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        self._load()
        yield from sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items


_entry_points_loaded = False


def load_entry_points() -> None:
    """Import the third-party plug-in modules of the ``troth.plugins`` entry points (once)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as exc:  # a broken third-party plug-in must say which one
            raise PluginError(
                f"plug-in {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}",
                fix="upgrade or uninstall that package",
            ) from exc

"""The one place where plug-ins are registered.

Each plug-in point (checks, connectors, masking strategies, detectors, notifiers...) is a
:class:`Registry`. Built-in plug-ins register through the same :meth:`Registry.register` call a
third-party package uses; third parties are discovered through the ``troth.plugins`` entry-point
group, whose modules register themselves on import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import import_module
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from troth.errors import PluginError, UnknownPluginError

T = TypeVar("T")

ENTRY_POINT_GROUP = "troth.plugins"


class Registry(Generic[T]):
    """Named plug-ins of one kind. An unknown name fails with the list of valid ones."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

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
        load_plugins()
        try:
            return self._items[name]
        except KeyError:
            raise UnknownPluginError(self.kind, name, self._items, where=where) from None

    def names(self) -> list[str]:
        load_plugins()
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        load_plugins()
        yield from sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        load_plugins()
        return name in self._items


_BUILTINS: tuple[str, ...] = (
    "troth.policy.checks",
    "troth.datamap.checks",
    "troth.connectors.sql",
    "troth.masking",
)
_loaded = False


def add_builtin_module(module: str) -> None:
    """Modules of troth itself whose import registers built-in plug-ins."""
    global _BUILTINS
    if module not in _BUILTINS:
        _BUILTINS = (*_BUILTINS, module)


def load_plugins() -> None:
    """Import the built-in plug-in modules, then the third-party entry points (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _BUILTINS:
        import_module(module)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as exc:  # a broken third-party plug-in must say which one
            raise PluginError(
                f"plug-in {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}",
                fix="upgrade or uninstall that package",
            ) from exc

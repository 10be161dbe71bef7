"""Clients of the stores beyond SQL (key stores, file sets, services), opened lazily by name and
closed together: the shared base of :class:`~troth.dsr.keystores.KeyStores`,
:class:`~troth.dsr.filesets.FileStores` and :class:`~troth.dsr.services.Services`."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar


class Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=Closable)


class Opened(Generic[C]):
    """Open clients by name; ``with`` closes every one that was opened."""

    def __init__(self) -> None:
        self._open: dict[str, C] = {}

    def _opened(self, name: str, make: Callable[[], C]) -> C:
        if name not in self._open:
            self._open[name] = make()
        return self._open[name]

    def close(self) -> None:
        for client in self._open.values():
            client.close()
        self._open.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

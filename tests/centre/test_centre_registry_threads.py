"""A registry looked up by many threads at once, before its built-ins are imported, finds them in
every thread (the first look-up imports them while the others wait)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from troth.plugins import Registry


def test_concurrent_first_lookups_all_find_the_builtin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry: Registry[str] = Registry("thing", ("slow_builtin_for_test",))
    (tmp_path / "slow_builtin_for_test.py").write_text(
        "import time\nfrom troth_test_registry import REGISTRY\n"
        "time.sleep(0.3)\nREGISTRY.add('smtp', 'found')\n"
    )
    holder = type(sys)("troth_test_registry")
    holder.REGISTRY = registry  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "troth_test_registry", holder)
    monkeypatch.syspath_prepend(str(tmp_path))
    results: list[object] = []

    def look() -> None:
        try:
            results.append(registry.get("smtp"))
        except Exception as exc:  # the race this test is about
            results.append(exc)

    threads = [threading.Thread(target=look) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == ["found"] * 8
    monkeypatch.delitem(sys.modules, "slow_builtin_for_test", raising=False)

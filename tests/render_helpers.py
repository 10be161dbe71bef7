"""Helpers shared by the rendering and diff tests: the fixture policy, modified copies."""

from __future__ import annotations

import copy
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from troth.policy.loader import PolicyDocument, load_policy

FIXTURE = Path(__file__).parent / "fixtures" / "policy_small.yaml"


def fixture_data() -> dict[str, Any]:
    return yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def policy_from(data: dict[str, Any], name: str = "policy.yaml") -> PolicyDocument:
    return load_policy(name, text=yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def modified(change: Callable[[dict[str, Any]], None]) -> PolicyDocument:
    """The fixture policy with ``change`` applied to a deep copy of its YAML data."""
    data = copy.deepcopy(fixture_data())
    change(data)
    return policy_from(data, "changed.yaml")


def write_policy(folder: Path, data: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "policy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


class Structure(HTMLParser):
    """The parts of an HTML page that the accessibility checks look at."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[int] = []
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.tables: list[dict[str, Any]] = []
        self._in_nav = 0
        self.nav_hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.headings.append(int(tag[1]))
        if tag == "nav":
            self._in_nav += 1
        if tag == "a" and a.get("href"):
            self.hrefs.append(str(a["href"]))
            if self._in_nav:
                self.nav_hrefs.append(str(a["href"]))
        if tag == "table":
            self.tables.append({"caption": False, "th": [], "first": None})
        if self.tables and tag in {"caption", "th", "td"}:
            t = self.tables[-1]
            if tag == "caption":
                t["caption"] = True
            if t["first"] is None and tag != "caption":
                t["first"] = tag
            if tag == "th":
                t["th"].append(a.get("scope"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav":
            self._in_nav -= 1


def parse_html(text: str) -> Structure:
    s = Structure()
    s.feed(text)
    s.close()
    return s

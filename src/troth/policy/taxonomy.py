"""The taxonomy: data categories, data subjects and data uses (purposes' kinds).

The default keys are those of the fideslang default taxonomy (``user.contact.email``,
``marketing.communications.email``, ``customer``), so a Fides user's annotations carry over. A
policy adds its own keys under existing ones (``user.behavior.chat_history`` under
``user.behavior``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches
from functools import cache
from importlib import resources
from typing import Literal

import yaml

Kind = Literal["data_categories", "data_subjects", "data_uses"]
KINDS: tuple[Kind, ...] = ("data_categories", "data_subjects", "data_uses")
LABEL: dict[Kind, str] = {
    "data_categories": "data category",
    "data_subjects": "data subject",
    "data_uses": "data use",
}


@cache
def default_terms() -> dict[Kind, dict[str, str]]:
    text = resources.files("troth.policy").joinpath("taxonomy_default.yaml").read_text("utf-8")
    raw = yaml.load(text, Loader=yaml.CSafeLoader)
    return {kind: {str(k): str(v) for k, v in raw[kind].items()} for kind in KINDS}


@dataclass
class Taxonomy:
    """Valid keys of each kind: the defaults plus a policy's own extensions."""

    terms: dict[Kind, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def default(cls) -> Taxonomy:
        return cls({kind: dict(v) for kind, v in default_terms().items()})

    def extend(self, kind: Kind, key: str, name: str) -> None:
        self.terms[kind][key] = name

    def __contains__(self, item: tuple[Kind, str]) -> bool:
        kind, key = item
        return key in self.terms[kind]

    def name(self, kind: Kind, key: str) -> str:
        return self.terms[kind].get(key, key)

    def nearest(self, kind: Kind, key: str, n: int = 3) -> list[str]:
        """Nearest valid keys: close spellings first, then children of the longest valid prefix."""
        keys = self.terms[kind]
        close = get_close_matches(key, list(keys), n=n, cutoff=0.6)
        if len(close) < n:
            parts = key.split(".")
            while parts and ".".join(parts) not in keys:
                parts.pop()
            prefix = ".".join(parts)
            children = [k for k in keys if prefix and k.startswith(prefix + ".")]
            close += [k for k in sorted(children) if k not in close][: n - len(close)]
        return close

    def keys(self, kind: Kind) -> Mapping[str, str]:
        return self.terms[kind]


def parent(key: str) -> str | None:
    return key.rsplit(".", 1)[0] if "." in key else None


def covers(general: str, specific: str) -> bool:
    """True when ``specific`` is ``general`` or one of its descendants."""
    return specific == general or specific.startswith(general + ".")


def covered_by_any(key: str, generals: Iterable[str]) -> bool:
    return any(covers(g, key) for g in generals)

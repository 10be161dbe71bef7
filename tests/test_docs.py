"""Meta-tests: the reference docs describe every key of the model and every check."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from troth.policy.checks import CHECKS
from troth.policy.model import Policy

DOCS = Path(__file__).parent.parent / "docs"


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> None:
    if model in seen:
        return
    seen.add(model)
    for field in model.model_fields.values():
        for arg in [field.annotation, *_all_args(field.annotation)]:
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                _models(arg, seen)


def _all_args(annotation: object) -> list[object]:
    out: list[object] = []
    for arg in typing.get_args(annotation):
        out += [arg, *_all_args(arg)]
    return out


def test_policy_reference_names_every_key() -> None:
    text = (DOCS / "policy.md").read_text()
    words = {w for span in re.findall(r"`([^`]+)`", text) for w in re.findall(r"\w+", span)}
    seen: set[type[BaseModel]] = set()
    _models(Policy, seen)
    missing = sorted(
        f"{m.__name__}.{name}" for m in seen for name in m.model_fields if name not in words
    )
    assert not missing, f"docs/policy.md does not describe: {missing}"


def test_every_check_is_documented() -> None:
    text = (DOCS / "checks.md").read_text()
    missing = [cid for cid in CHECKS.names() if f"`{cid}`" not in text]
    assert not missing, f"docs/checks.md does not list: {missing}"

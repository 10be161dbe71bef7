"""JSON Schemas of ``policy.yaml`` and ``datamap.yaml``, for editors and CI.

The files beside this module are generated from the pydantic models (a test keeps them equal);
an editor with the YAML language server completes and checks a file that starts with
``# yaml-language-server: $schema=<path or URL of policy.schema.json>``. The schema checks
shapes only; ``troth check`` checks meaning (references, taxonomy keys, the law's rules).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from troth.errors import UnknownNameError

NAMES = ("policy", "datamap")


def generate(name: str) -> dict[str, Any]:
    """The schema of ``name`` ("policy" or "datamap"), from the models."""
    if name == "policy":
        from troth.policy.model import Policy

        schema = Policy.model_json_schema(mode="validation")
        title = "troth policy.yaml"
    elif name == "datamap":
        from troth.datamap.model import DataMap

        schema = DataMap.model_json_schema(mode="validation")
        title = "troth datamap.yaml"
    else:
        raise UnknownNameError("schema", name, NAMES)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, **schema}


def text(name: str) -> str:
    return json.dumps(generate(name), indent=2, sort_keys=True) + "\n"


def shipped(name: str) -> str:
    """The schema file shipped in the package."""
    return resources.files("troth.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")

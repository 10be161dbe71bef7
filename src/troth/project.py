"""A troth project: the folder that holds ``policy.yaml`` and, optionally, ``datamap.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from troth.datamap.loader import DATAMAP_FILE, DataMapDocument, load_datamap
from troth.policy.loader import PolicyDocument, load_policy


@dataclass
class Project:
    policy: PolicyDocument
    datamap: DataMapDocument | None


def load_project(path: Path | str) -> Project:
    """Load the policy, and the data map beside it when there is one.

    The data map is loaded with the policy's taxonomy; unknown category keys in it become check
    findings (``map.undeclared-category``) rather than load errors.
    """
    doc = load_policy(path)
    map_file = doc.path.parent / DATAMAP_FILE
    datamap = (
        load_datamap(map_file, doc.taxonomy, check_categories=False) if map_file.is_file() else None
    )
    return Project(policy=doc, datamap=datamap)

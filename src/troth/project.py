"""A troth project: the folder that holds ``policy.yaml`` and, optionally, ``datamap.yaml``.

:func:`load_project` reads and validates both files. :func:`cached_project` is the same for the
callers that load one project again and again (every request of the Python API, of ``troth
serve`` and of the workers): it reads the two files each time but parses and validates them
only when their content changed, so an edit shows on the next call and nothing else is redone.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from typing import Any

from troth.datamap.loader import DATAMAP_FILE, DataMapDocument, load_datamap
from troth.errors import PolicyError
from troth.files import read_text_file
from troth.policy.loader import PolicyDocument, load_policy, resolve_policy_path
from troth.policy.yamlsrc import MAX_BYTES

#: projects kept by :func:`cached_project` (least recently used dropped first)
CACHE_SIZE = 16


@dataclass(eq=False)
class Project:
    policy: PolicyDocument
    datamap: DataMapDocument | None
    #: the SHA-256 of the policy and map texts it was loaded from ("" when not known)
    digest: str = ""
    #: what callers derive from this project (plans, checks), dropped with it; shared by the
    #: callers of :func:`cached_project`, so it must never hold per-request state
    derived: dict[Any, Any] = field(default_factory=dict, repr=False)


def load_project(path: Path | str) -> Project:
    """Load the policy, and the data map beside it when there is one.

    The data map is loaded with the policy's taxonomy; unknown category keys in it become check
    findings (``map.undeclared-category``) rather than load errors.
    """
    policy_file = resolve_policy_path(path)
    texts = _texts(policy_file)
    return _load(policy_file, *texts, _digest(*texts))


_CACHE: OrderedDict[tuple[Path, str], Project] = OrderedDict()
_LOCK = Lock()


def cached_project(path: Path | str) -> Project:
    """:func:`load_project`, reusing the last load of the same path and the same file contents.

    The project returned is shared: treat it as read-only."""
    policy_file = resolve_policy_path(path)
    texts = _texts(policy_file)
    key = (policy_file.resolve(), _digest(*texts))
    with _LOCK:
        project = _CACHE.get(key)
        if project is not None:
            _CACHE.move_to_end(key)
            return project
    project = _load(policy_file, *texts, key[1])
    with _LOCK:
        _CACHE[key] = project
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return project


def forget_projects() -> None:
    """Empty :func:`cached_project`'s cache."""
    with _LOCK:
        _CACHE.clear()


def _texts(policy_file: Path) -> tuple[str, str | None]:
    policy = read_text_file(policy_file, max_bytes=MAX_BYTES, error=PolicyError)
    map_file = policy_file.parent / DATAMAP_FILE
    datamap = (
        read_text_file(map_file, max_bytes=MAX_BYTES, error=PolicyError)
        if map_file.is_file()
        else None
    )
    return policy, datamap


def _digest(policy: str, datamap: str | None) -> str:
    h = hashlib.sha256(policy.encode())
    h.update(b"\0" if datamap is None else b"\1" + datamap.encode())
    return h.hexdigest()


def _load(policy_file: Path, policy: str, datamap: str | None, digest: str) -> Project:
    doc = load_policy(policy_file, text=policy)
    map_file = doc.path.parent / DATAMAP_FILE
    loaded = (
        load_datamap(map_file, doc.taxonomy, text=datamap, check_categories=False)
        if datamap is not None
        else None
    )
    return Project(policy=doc, datamap=loaded, digest=digest)

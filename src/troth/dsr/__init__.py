"""Data-subject requests: plan, run and prove access, erasure, rectification and restriction.

>>> from troth.dsr import Identity, erase
>>> erase("examples/mydigisoft", [Identity("email", "customer7@example.com")])

Submodules ``plan`` and ``resolve`` hold the planner and the resolution. The names below load
on first use: troth's state DB imports :mod:`troth.dsr.models` while it
starts, before the rest of this package can be imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from troth.dsr.api import (
        DsrResult,
        access,
        erase,
        plan_request,
        rectify,
        restrict,
        status,
    )
    from troth.dsr.identity import Identity, parse_identities
    from troth.dsr.plan import Lookup, Plan, Step, TableAction, build_plan
    from troth.dsr.requests import Kind, RequestInfo, Requests, Status, due_date
    from troth.dsr.restriction import is_restricted
    from troth.dsr.stores import Stores

_WHERE = {
    "troth.dsr.api": [
        "DsrResult",
        "access",
        "erase",
        "plan_request",
        "rectify",
        "restrict",
        "status",
    ],
    "troth.dsr.identity": ["Identity", "parse_identities"],
    "troth.dsr.plan": ["Lookup", "Plan", "Step", "TableAction", "build_plan"],
    "troth.dsr.requests": ["Kind", "RequestInfo", "Requests", "Status", "due_date"],
    "troth.dsr.restriction": ["is_restricted"],
    "troth.dsr.stores": ["Stores"],
}
_MODULE = {name: module for module, names in _WHERE.items() for name in names}

__all__ = [
    "DsrResult",
    "Identity",
    "Kind",
    "Lookup",
    "Plan",
    "RequestInfo",
    "Requests",
    "Status",
    "Step",
    "Stores",
    "TableAction",
    "access",
    "build_plan",
    "due_date",
    "erase",
    "is_restricted",
    "parse_identities",
    "plan_request",
    "rectify",
    "restrict",
    "status",
]


def __getattr__(name: str) -> Any:
    module = _MODULE.get(name)
    if module is None:
        raise AttributeError(f"module 'troth.dsr' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

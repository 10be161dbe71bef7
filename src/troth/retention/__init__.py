"""Retention enforcement: rules -> bindings -> plans -> batched sweeps, with holds and evidence.

>>> plan = build_plan(project, stores, key=settings.secret_key)     # counts and SQL, no writes
>>> report = Sweeper(project, stores, engine, key=settings.secret_key).run()

The names below load lazily: ``troth.store.models`` imports :mod:`troth.retention.models`, so this
package must not import the store (or the ledger) when it is first imported.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: rows per batch of a sweep (one short transaction each); here so the CLI needs no heavy import
DEFAULT_BATCH_SIZE = 5000

_EXPORTS = {
    "BindResult": "bind",
    "Binding": "bind",
    "Hold": "bind",
    "Unbound": "bind",
    "bind_rules": "bind",
    "active_person_holds": "holds",
    "add_hold": "holds",
    "list_holds": "holds",
    "release_hold": "holds",
    "PlanItem": "plan",
    "RetentionPlan": "plan",
    "Stores": "plan",
    "build_plan": "plan",
    "open_stores": "plan",
    "Scheduler": "schedule",
    "due_rules": "schedule",
    "parse_cron": "schedule",
    "start_scheduler": "schedule",
    "RunReport": "sweep",
    "SweepResult": "sweep",
    "Sweeper": "sweep",
    "run_retention": "sweep",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"troth.retention.{_EXPORTS[name]}"), name)
    raise AttributeError(name)

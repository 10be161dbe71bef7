"""Retention checks of the stores beyond SQL, run by ``troth check`` with the data map.

``map.file-retention``      a rule covers a file table in a way file sets cannot keep (another
                            trigger than ``collection``, anonymisation, legal holds, not exactly
                            one ``retention_timestamp`` field): the sweep would refuse;
``map.retention-unswept``   (warning) a rule with a period covers a key pattern or a service
                            resource: troth sweeps neither, so the period is not kept there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from troth.datamap.checks import map_issue
from troth.policy.checks.base import CheckContext, Issue, check
from troth.policy.taxonomy import covers
from troth.retention.files import FIX, file_bindings


@check("map.file-retention", "error", "A retention rule covers a file table file sets cannot keep")
def file_retention(ctx: CheckContext) -> Iterator[Issue]:
    if ctx.datamap is None:
        return
    for table, why in file_bindings(ctx.policy, ctx.datamap.datamap)[1]:
        yield map_issue(ctx.datamap, table, f"retention {why}", fix=FIX)


def _elements(ctx: CheckContext) -> Iterator[tuple[str, str, Any, list[str]]]:
    assert ctx.datamap is not None
    dm = ctx.datamap.datamap
    for ks in dm.keystores:
        for kp in ks.keys:
            cats = [*kp.categories, *(c for f in kp.fields for c in f.categories)]
            yield "key pattern", f"{ks.name}.{kp.name}", kp, cats
    for svc in dm.services:
        for res in svc.resources:
            yield "service resource", f"{svc.name}.{res.name}", res, list(res.categories)


@check(
    "map.retention-unswept",
    "warning",
    "A retention rule covers a key store or service resource that no sweep reaches",
)
def retention_unswept(ctx: CheckContext) -> Iterator[Issue]:
    if ctx.datamap is None:
        return
    for kind, name, element, cats in _elements(ctx):
        rules = [
            r.id
            for r in ctx.policy.retention
            if r.period is not None and any(covers(k, c) for k in r.categories for c in cats)
        ]
        if rules:
            yield map_issue(
                ctx.datamap,
                element,
                f"retention rule(s) {', '.join(rules)} cover {kind} {name}, which troth does "
                "not sweep: the period is not kept there",
                fix="expire the data in that store (a TTL, the service's own retention), and "
                "erase it by request (troth dsr erase)",
            )

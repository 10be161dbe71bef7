"""Drift found by discovery as ``troth check --live`` issues, each located in the data map."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from troth.connectors.base import Connector
from troth.datamap.checks import map_issue
from troth.datamap.loader import DataMapDocument
from troth.discovery.discover import Drift, DriftKind, discover
from troth.discovery.sample import Sampling
from troth.policy.checks.base import Issue
from troth.policy.model import RestrictedSource

#: check id of each kind of drift
CHECK_IDS = {
    DriftKind.new_table: "discovery.undeclared-table",
    DriftKind.new_column: "discovery.undeclared-column",
    DriftKind.mislabelled: "discovery.mislabelled-column",
    DriftKind.free_text: "discovery.identifiers-in-free-text",
    DriftKind.restricted: "discovery.restricted-data-stored",
}
_FIX = {
    DriftKind.new_table: "declare the table in the map (`troth discover` writes a proposal), or "
    "stop storing the data",
    DriftKind.new_column: "declare the column with its category (`troth discover` writes a "
    "proposal), or drop it",
    DriftKind.mislabelled: "give the field its personal category, or stop writing personal data "
    "into it",
    DriftKind.free_text: "add the categories to the field (and mark it `free_text` for requests), "
    "or redact them where the text is written",
    DriftKind.restricted: "stop storing the restricted source's data (keep it in memory for the "
    "user's request only), or change the policy's `storage` if that is the truth",
}

#: the default sample of ``troth check --live``: small, it runs in CI
LIVE_SAMPLING = Sampling(size=200, strata=8)


def drift_issue(dm: DataMapDocument, d: Drift) -> Issue:
    ds = dm.datamap.dataset(d.dataset)
    table = ds.table(d.table) if ds else None
    f = table.field(d.column) if table and d.column else None
    node: object
    if f is not None:
        node, field = f, "categories"
    elif table is not None:
        node, field = table, "fields"
    else:
        node, field = ds, "tables"
    issue = map_issue(dm, node, d.message, field=field, fix=_FIX[d.kind])
    if d.promises:
        issue = Issue(issue.message, issue.where, issue.fix, issue.field, d.promises)
    return issue


def drift_issues(
    dm: DataMapDocument,
    connectors: Mapping[str, Connector],
    restricted: Sequence[RestrictedSource] = (),
    sampling: Sampling = LIVE_SAMPLING,
) -> Iterator[tuple[str, Issue]]:
    """``(check id, issue)`` of every drift in the stores of the map."""
    report = discover(dm.datamap, connectors, sampling, restricted=restricted)
    for d in report.drift:
        yield CHECK_IDS[d.kind], drift_issue(dm, d)

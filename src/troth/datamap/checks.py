"""Checks of the data map against itself and the policy (run by ``troth check`` when a folder holds
both ``policy.yaml`` and ``datamap.yaml``).

The map-only checks are plain functions of a :class:`DataMapDocument` too, so ``troth datamap
check`` can run them without a policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from troth.datamap.graph import Graph
from troth.datamap.loader import DataMapDocument
from troth.policy.checks.base import CheckContext, Issue, check, issue_in
from troth.policy.loader import taxonomy_refs
from troth.policy.model import Storage
from troth.policy.taxonomy import LABEL, covers
from troth.policy.yamlsrc import Path_, dotted

#: an issue located in the data map file
map_issue = issue_in


def _issue_at(dm: DataMapDocument, path: Path_, message: str, fix: str | None) -> Issue:
    return Issue(message=message, where=dm.source.at(path), fix=fix, field=dotted(path))


# --- map-only -------------------------------------------------------------------------------


def undeclared_categories(dm: DataMapDocument) -> Iterator[Issue]:
    """Category and subject keys that are not in the taxonomy (the policy's, or the default)."""
    for kind, key, path in taxonomy_refs(dm.datamap, ()):
        if (kind, key) in dm.taxonomy:
            continue
        near = dm.taxonomy.nearest(kind, key)
        yield _issue_at(
            dm,
            path,
            f"{LABEL[kind]} {key!r} is not a taxonomy key",
            (f"use one of: {', '.join(near)}; " if near else "")
            + f"or declare it in the policy under `taxonomy: {kind}:`",
        )


def dangling_references(dm: DataMapDocument, graph: Graph | None = None) -> Iterator[Issue]:
    graph = graph or Graph.build(dm.datamap)
    for d in graph.dangling:
        target = ".".join(d.target)
        yield map_issue(
            dm,
            d.reference,
            f"{d.dataset.name}.{d.table.name}.{d.field.name} references {target}, but the map "
            f"has no such {d.missing}",
            field="field",
            fix=f"declare the {d.missing} in the map, or correct the reference "
            "(`dataset.table.field`, or `table.field` within the same dataset)",
        )


def unreachable_tables(dm: DataMapDocument, graph: Graph | None = None) -> Iterator[Issue]:
    graph = graph or Graph.build(dm.datamap)
    for tid in graph.unreachable_tables():
        table = graph.tables[tid]
        yield map_issue(
            dm,
            table,
            f"table {tid} holds personal data but no identity reaches it, so access and "
            "erasure requests would miss it",
            field="name",
            fix="add a reference from one of its fields to a table that is reached (or mark an "
            "identity field with `identity:`)",
        )


def _all_fields(dm: DataMapDocument) -> Iterator[tuple[str, Any]]:
    """Every element with categories: SQL fields, then key stores, file sets and services."""
    for ds, table, f in dm.datamap.fields():
        yield f"{ds.name}.{table.name}.{f.name}", f
    yield from dm.datamap.other_fields()


# --- registered checks (need the policy) -----------------------------------------------------


@check("map.undeclared-category", "error", "A mapped field's category is not a taxonomy key")
def map_undeclared(ctx: CheckContext) -> Iterator[Issue]:
    if ctx.datamap is not None:
        yield from undeclared_categories(ctx.datamap)


@check("map.dangling-reference", "error", "A reference to a dataset, table or field not mapped")
def map_dangling(ctx: CheckContext) -> Iterator[Issue]:
    if ctx.datamap is not None:
        yield from dangling_references(ctx.datamap)


@check("map.unreachable-table", "error", "A table with personal data no identity reaches")
def map_unreachable(ctx: CheckContext) -> Iterator[Issue]:
    if ctx.datamap is not None:
        yield from unreachable_tables(ctx.datamap)


@check("map.uncollected-category", "error", "A store holds a category the policy never collects")
def map_uncollected(ctx: CheckContext) -> Iterator[Issue]:
    dm = ctx.datamap
    if dm is None:
        return
    for where, f in _all_fields(dm):
        for i, key in enumerate(f.categories):
            personal = key == "user" or key.startswith("user.")
            if not personal or ("data_categories", key) not in dm.taxonomy:
                continue
            if not ctx.is_collected(key):
                yield map_issue(
                    dm,
                    f,
                    f"{where} holds {key!r} "
                    f"({dm.taxonomy.name('data_categories', key)}), which the policy never says "
                    "it collects",
                    field=f"categories.{i}",
                    fix="declare it under `data_categories:` in the policy (GDPR Art. 13, 14), "
                    "or stop storing it",
                )


@check("map.restricted-stored", "error", "Data of a no-storage restricted source is stored")
def map_restricted_stored(ctx: CheckContext) -> Iterator[Issue]:
    dm = ctx.datamap
    if dm is None:
        return
    for src in ctx.policy.restricted_sources:
        if src.storage is Storage.durable:
            continue
        for where, f in _all_fields(dm):
            for i, key in enumerate(f.categories):
                hit = next((c for c in src.categories if covers(c, key) or covers(key, c)), None)
                if hit is None:
                    continue
                yield map_issue(
                    dm,
                    f,
                    f"{where} stores {key!r}, data of restricted source "
                    f"{src.id!r} ({src.provider}) that the policy says is never stored "
                    f"(storage: {src.storage.value})",
                    field=f"categories.{i}",
                    fix="process it in memory only (pass-through), or change the policy's "
                    "storage for that source",
                )

"""``troth datamap introspect --sample N``: the proposal from names, completed by the values.

:func:`troth.datamap.introspect.propose` reads the schema only and guesses from names. With a
sample, each table's columns are classified (:mod:`troth.discovery.classify`) and the proposal
gains what the values show, marked ``guess: true`` with the evidence in the field's description:

* a column whose name suggested nothing gets the category most of its values have;
* a free-text column gets the categories of the identifiers found inside it.

Keys, references and identities are never changed; a description carries counts and entity
types, never a value.
"""

from __future__ import annotations

from troth.connectors.base import SchemaInfo
from troth.connectors.sql import SqlConnector
from troth.datamap.model import DataMap, MapField
from troth.discovery.classify import Classification
from troth.discovery.discover import scan_table
from troth.discovery.sample import Sampling
from troth.policy.taxonomy import covers


def _why(c: Classification) -> str:
    found = ", ".join(f"{e} in {n}" for e, n in sorted(c.entities.items()))
    return f"guess from {c.sampled} sampled values ({found})"


def enrich_field(f: MapField, c: Classification) -> bool:
    """Add to ``f`` what the classification of its values shows; True when it changed."""
    if f.primary_key or f.references:
        return False
    if not f.categories:
        if c.category and c.evidence in ("values", "name+values") and c.personal:
            f.categories = [c.category]
            f.guess = True
            f.description = _why(c)
            return True
        return False
    if c.free_text:
        extra = [x for x in c.personal_in_values if not any(covers(d, x) for d in f.categories)]
        if extra:
            f.categories = [*f.categories, *extra]
            f.guess = True
            f.description = _why(c) + "; identifiers in free text"
            return True
    return False


def enrich_proposal(
    datamap: DataMap, schema: SchemaInfo, conn: SqlConnector, sampling: Sampling
) -> list[str]:
    """Classify a sample of every table of the (one-dataset) proposal and complete its fields;
    returns ``table.column`` of each field changed."""
    changed: list[str] = []
    for _, table in datamap.tables():
        info = schema.table(table.name)
        if info is None:
            continue
        _, columns = scan_table(conn, info, sampling)
        by_name = {c.column: c for c in columns}
        for f in table.fields:
            c = by_name.get(f.name)
            if c is not None and enrich_field(f, c):
                changed.append(f"{table.name}.{f.name}")
    return changed

"""Load a data map file (``datamap.yaml``) into a validated :class:`~troth.datamap.model.DataMap`.

Problems are reported like the policy loader's: one line each with ``file:line:column``, the field
path and the fix, all problems of a file collected before raising
:class:`~troth.errors.PolicyLoadError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from troth.datamap.model import DataMap
from troth.errors import DataMapError, PolicyLoadError, TrothError
from troth.policy.loader import assign_paths, unknown_keys, validation_problems
from troth.policy.taxonomy import Taxonomy
from troth.policy.yamlsrc import Located, Path_, SourceMap, read_yaml

DATAMAP_FILE = "datamap.yaml"


@dataclass
class DataMapDocument(Located):
    """A loaded data map with where its parts came from."""

    datamap: DataMap
    source: SourceMap
    taxonomy: Taxonomy
    path: Path


def resolve_datamap_path(path: Path | str) -> Path:
    p = Path(path)
    return p / DATAMAP_FILE if p.is_dir() else p


def load_datamap(
    path: Path | str,
    taxonomy: Taxonomy | None = None,
    *,
    text: str | None = None,
    check_categories: bool = True,
) -> DataMapDocument:
    """Read and validate a data map; raise PolicyLoadError listing every problem.

    ``taxonomy``: the policy's (defaults plus its extensions); without one, the default taxonomy.
    ``check_categories=False`` leaves unknown category and subject keys to the
    ``map.undeclared-category`` check, so ``troth check`` reports them as findings.
    """
    file = resolve_datamap_path(path)
    data, smap = read_yaml(file, text=text)
    if not isinstance(data, dict):
        raise DataMapError(
            "a data map file must be a YAML mapping with a `systems:` list",
            where=smap.at(()),
            fix="start from examples/mydigisoft/datamap.yaml or run `troth datamap introspect`",
        )
    try:
        datamap = DataMap.model_validate(data)
    except ValidationError as exc:
        raise PolicyLoadError(validation_problems(exc, data, smap, DataMap)) from None
    assign_paths(datamap, ())
    taxonomy = taxonomy or Taxonomy.default()
    problems = _check_unique_names(datamap, smap)
    if check_categories:
        problems += unknown_taxonomy_keys(datamap, taxonomy, smap)
    if problems:
        raise PolicyLoadError(problems)
    return DataMapDocument(datamap=datamap, source=smap, taxonomy=taxonomy, path=file)


def unknown_taxonomy_keys(
    datamap: DataMap, taxonomy: Taxonomy, smap: SourceMap
) -> list[TrothError]:
    """Category and subject keys of the map that the taxonomy does not define, with the nearest."""
    return unknown_keys(datamap, taxonomy, smap)


def _check_unique_names(datamap: DataMap, smap: SourceMap) -> list[TrothError]:
    problems: list[TrothError] = []

    def unique(items: list[Any], path: Path_, label: str) -> None:
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            if item.name in first:
                line = smap.at((*path, first[item.name], "name")).rsplit(":", 2)[1]
                problems.append(
                    TrothError(
                        f"duplicate {label} {item.name!r} (first defined at line {line})",
                        where=smap.at((*path, i, "name")),
                        fix=f"give each {label} a unique name",
                    )
                )
            else:
                first[item.name] = i

    unique(datamap.systems, ("systems",), "system")
    all_datasets = [
        (s, d, ds)
        for s, system in enumerate(datamap.systems)
        for d, ds in enumerate(system.datasets)
    ]
    seen: dict[str, Path_] = {}
    for s, d, ds in all_datasets:
        here: Path_ = ("systems", s, "datasets", d, "name")
        if ds.name in seen:
            line = smap.at(seen[ds.name]).rsplit(":", 2)[1]
            problems.append(
                TrothError(
                    f"duplicate dataset {ds.name!r} (first defined at line {line})",
                    where=smap.at(here),
                    fix="dataset names are unique across all systems: rename one",
                )
            )
        else:
            seen[ds.name] = here
        tables_path: Path_ = ("systems", s, "datasets", d, "tables")
        unique(ds.tables, tables_path, "table")
        for t, table in enumerate(ds.tables):
            unique(table.fields, (*tables_path, t, "fields"), "field")
    return problems

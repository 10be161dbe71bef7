"""Load a policy file into a validated :class:`~troth.policy.model.Policy`.

Every problem is reported as one line with ``file:line:column``, the field path and the fix; all
problems of a file are collected before raising :class:`~troth.errors.PolicyLoadError`.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from troth.errors import PolicyError, PolicyLoadError, TrothError, did_you_mean
from troth.policy.model import Policy, TaxonomyRef
from troth.policy.taxonomy import KINDS, LABEL, Kind, Taxonomy, parent
from troth.policy.yamlsrc import Located, Path_, SourceMap, dotted, read_yaml, split_field

POLICY_FILE = "policy.yaml"


@dataclass
class PolicyDocument(Located):
    """A loaded policy with where its parts came from."""

    policy: Policy
    source: SourceMap
    taxonomy: Taxonomy
    path: Path


def resolve_policy_path(path: Path | str) -> Path:
    p = Path(path)
    if p.is_dir() or (not p.exists() and not p.suffix):
        p = p / POLICY_FILE
    return p


def load_policy(path: Path | str, *, text: str | None = None) -> PolicyDocument:
    """Read, validate and resolve a policy; raise PolicyLoadError listing every problem."""
    file = resolve_policy_path(path)
    data, smap = read_yaml(file, text=text)
    if not isinstance(data, dict):
        raise PolicyError(
            "a policy file must be a YAML mapping (keys such as `policy:` and `organisation:`)",
            where=smap.at(()),
            fix="start from examples/mydigisoft/policy.yaml",
        )
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyLoadError(_validation_problems(exc, data, smap)) from None
    _assign_paths(policy, ())
    taxonomy, problems = _build_taxonomy(policy, smap)
    problems += unknown_keys(policy, taxonomy, smap)
    problems += _check_unique_ids(policy, smap)
    if problems:
        raise PolicyLoadError(problems)
    return PolicyDocument(policy=policy, source=smap, taxonomy=taxonomy, path=file)


# --- pydantic errors -> located one-liners ------------------------------------------------------


def _data_path(loc: tuple[Any, ...], data: Any) -> Path_:
    """Keep the parts of a pydantic ``loc`` that exist in the data (drop union/type tags)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif (
            isinstance(node, dict)
            and isinstance(part, str)
            and not part.startswith(
                ("list[", "function-", "literal[", "lax-", "json-", "str", "int", "is-instance")
            )
        ):
            out.append(part)  # a key that is missing or unknown: keep it for the message
            node = None
    return tuple(out)


def _model_for(path: Path_, root: type[BaseModel] = Policy) -> type[BaseModel] | None:
    """The model class that holds the mapping at ``path`` (best effort, for suggestions)."""
    model: type[BaseModel] | None = root
    for part in path:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _first_model(field.annotation)
    return model


def _first_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def _validation_problems(
    exc: ValidationError, data: Any, smap: SourceMap, root: type[BaseModel] = Policy
) -> list[TrothError]:
    """One located one-line problem per place pydantic rejected (``root``: the document model)."""
    problems: list[TrothError] = []
    seen: set[tuple[Path_, str]] = set()
    for err in exc.errors(include_url=False):
        path = _data_path(tuple(err["loc"]), data)
        etype = err["type"]
        if (path, etype) in seen:
            continue  # one message per place (unions report each branch)
        seen.add((path, etype))
        field = dotted(path)
        if etype == "extra_forbidden":
            owner = _model_for(path[:-1], root)
            valid = sorted(owner.model_fields) if owner else []
            name = str(path[-1])
            problems.append(
                TrothError(
                    f"unknown key {name!r} in {dotted(path[:-1])}{did_you_mean(name, valid)}",
                    where=smap.at(path, key=True),
                    fix=f"valid keys here: {', '.join(valid)}" if valid else "remove it",
                )
            )
        elif etype == "missing":
            problems.append(
                TrothError(
                    f"missing required key {str(path[-1])!r} in {dotted(path[:-1])}",
                    where=smap.at(path[:-1]),
                    fix=f"add `{path[-1]}:` here",
                )
            )
        elif etype == "enum":
            expected = str(err.get("ctx", {}).get("expected", ""))
            choices = [c.strip(" '") for c in expected.replace(" or ", ", ").split(",")]
            value = str(err.get("input"))
            problems.append(
                TrothError(
                    f"{field}: {value!r} is not valid{did_you_mean(value, choices)}",
                    where=smap.at(path),
                    fix=f"use one of: {', '.join(choices)}",
                )
            )
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
            got = _describe(err.get("input"))
            problems.append(
                TrothError(
                    f"{field}: {msg[0].lower() + msg[1:]}{got}",
                    where=smap.at(path),
                    fix=_fix_for(etype, err),
                )
            )
    return problems


def _describe(value: Any) -> str:
    if isinstance(value, dict | list):
        return f" (got a {'mapping' if isinstance(value, dict) else 'list'})"
    if isinstance(value, str) and len(value) <= 40:
        return ""
    return ""


def _fix_for(etype: str, err: Any) -> str | None:
    if etype == "list_type":
        return "write a YAML list, one `- item` per line"
    if etype in ("model_type", "model_attributes_type", "dict_type"):
        return "write a mapping of `key: value` lines, indented under this key"
    if etype == "string_pattern_mismatch":
        return "use lower-case letters, digits and underscores (dots separate taxonomy levels)"
    if etype in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return "write a date as YYYY-MM-DD"
    if etype in ("string_type", "int_type", "bool_type", "bool_parsing", "int_parsing"):
        return "quote the value if it should be text"
    return None


# --- ids, taxonomy -------------------------------------------------------------------------------


def _assign_paths(node: Any, path: Path_) -> None:
    if isinstance(node, BaseModel):
        if hasattr(node, "_path"):
            node._path = path
        for name in type(node).model_fields:
            _assign_paths(getattr(node, name), (*path, name))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _assign_paths(item, (*path, i))


def _build_taxonomy(policy: Policy, smap: SourceMap) -> tuple[Taxonomy, list[TrothError]]:
    taxonomy = Taxonomy.default()
    problems: list[TrothError] = []
    for kind in KINDS:
        for i, term in enumerate(getattr(policy.taxonomy, kind)):
            at = smap.at(("taxonomy", kind, i, "key"))
            if (kind, term.key) in taxonomy:
                problems.append(
                    TrothError(
                        f"{LABEL[kind]} {term.key!r} is already defined",
                        where=at,
                        fix="remove the duplicate or choose a new key",
                    )
                )
                continue
            up = parent(term.key)
            if kind != "data_subjects" and (up is None or (kind, up) not in taxonomy):
                near = taxonomy.nearest(kind, up or term.key)
                problems.append(
                    TrothError(
                        f"custom {LABEL[kind]} {term.key!r} must extend an existing key "
                        f"({up!r} is not one)",
                        where=at,
                        fix=f"put it under an existing key, e.g. {', '.join(near) or 'user'}",
                    )
                )
                continue
            taxonomy.extend(kind, term.key, term.name)
    return taxonomy, problems


def _ref_kind(annotation: Any) -> Kind | None:
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, TaxonomyRef):
            return typing.cast(Kind, meta.kind)
    for arg in typing.get_args(annotation):
        found = _ref_kind(arg)
        if found:
            return found
    return None


@functools.cache
def _field_kinds(model: type[BaseModel]) -> tuple[tuple[str, Kind | None, Any], ...]:
    """(field name, taxonomy kind it refers to or None, annotation) for each field of a model."""
    return tuple(
        (name, _ref_from_metadata(f.metadata) or _ref_kind(f.annotation), f.annotation)
        for name, f in model.model_fields.items()
    )


def taxonomy_refs(node: Any, path: Path_) -> Iterator[tuple[Kind, str, Path_]]:
    """Every taxonomy key a model (policy or data map) refers to: (kind, key, path)."""
    if isinstance(node, BaseModel):
        for name, kind, annotation in _field_kinds(type(node)):
            value = getattr(node, name)
            if kind and isinstance(value, str):
                if not _literal_allows(annotation, value):
                    yield kind, value, (*path, name)
            elif kind and isinstance(value, list):
                for i, v in enumerate(value):
                    yield kind, v, (*path, name, i)
            elif isinstance(value, BaseModel | list):
                yield from taxonomy_refs(value, (*path, name))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from taxonomy_refs(item, (*path, i))


def _literal_allows(annotation: Any, value: str) -> bool:
    """True when ``value`` is one of the literal words a field accepts (e.g. ``all``)."""
    if typing.get_origin(annotation) is typing.Literal:
        return value in typing.get_args(annotation)
    return any(_literal_allows(arg, value) for arg in typing.get_args(annotation))


def _ref_from_metadata(metadata: list[Any]) -> Kind | None:
    for meta in metadata:
        if isinstance(meta, TaxonomyRef):
            return typing.cast(Kind, meta.kind)
    return None


def unknown_keys(model: BaseModel, taxonomy: Taxonomy, smap: SourceMap) -> list[TrothError]:
    """Taxonomy keys a policy or data map uses that the taxonomy does not define, with the
    nearest valid ones."""
    problems: list[TrothError] = []
    for kind, key, path in taxonomy_refs(model, ()):
        if (kind, key) in taxonomy:
            continue
        near = taxonomy.nearest(kind, key)
        problems.append(
            TrothError(
                f"unknown {LABEL[kind]} {key!r} at {dotted(path)}",
                where=smap.at(path),
                fix=(f"use a valid key such as {', '.join(near)}, or " if near else "")
                + f"declare it in the policy under `taxonomy: {kind}:`",
            )
        )
    return problems


_ID_LISTS = (
    "purposes",
    "collection_points",
    "consents",
    "retention",
    "recipients",
    "restricted_sources",
    "commitments",
    "security",
)


def _check_unique_ids(policy: Policy, smap: SourceMap) -> list[TrothError]:
    problems: list[TrothError] = []

    def unique(items: list[Any], path: Path_, attr: str, label: str) -> None:
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            value = getattr(item, attr)
            if value in first:
                line = smap.at((*path, first[value], attr)).rsplit(":", 2)[1]
                problems.append(
                    TrothError(
                        f"duplicate {label} {value!r} (first defined at line {line})",
                        where=smap.at((*path, i, attr)),
                        fix="give each one a unique id",
                    )
                )
            else:
                first[value] = i

    for name in _ID_LISTS:
        unique(getattr(policy, name), (name,), "id", f"{name.rstrip('s')} id")
    unique(policy.promises, ("promises",), "id", "promise id")
    unique(policy.data_categories, ("data_categories",), "key", "data category")
    unique(policy.data_subjects, ("data_subjects",), "key", "data subject")
    for r, rule in enumerate(policy.retention):
        unique(rule.legal_holds, ("retention", r, "legal_holds"), "id", "legal hold id")
    if policy.cookies:
        unique(policy.cookies.items, ("cookies", "items"), "id", "cookie id")
    return problems


# Public names for the other YAML documents troth loads (the data map); the old private names stay.
_split = split_field
validation_problems = _validation_problems
assign_paths = _assign_paths

"""Rectification beyond SQL: file sets, key-store hashes and SaaS services.

An address with three parts that names a file-set field (``lake.contacts.city``), a hash field of
a key pattern (``cache.profiles.city``) or a field a service resource's ``update`` request sets
(``hubspot.contacts.firstname``) is rectified there; everything else is the SQL tables'
(:func:`troth.dsr.execute.parse_changes`). What a store cannot rectify is refused when the request
is planned, before anything is written, with the reason: a key pattern without hash fields (its
keys can only be deleted), a service resource without ``update``, a field its ``update`` does not
set, a store the request's identities do not reach.

- Files (CSV, Parquet, NDJSON): one DuckDB query per file counts the person's rows whose value
  differs; only those files are rewritten (atomically), the new values bound as parameters.
- Delta tables: one MERGE, the person's identities and the new values as its Arrow source (no
  value in the predicate's text); nothing different: no new version.
- Redis hashes: ``HSET`` of the fields on the person's hash keys whose value differs.
- Services: the resource's ``update`` request for each item found.

A second run changes nothing. Results are counts (``rows``, ``files``), never values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from troth.connectors.delta import DeltaTableStore
from troth.connectors.files import FileStore, quote
from troth.datamap.model import DataMap
from troth.datamap.services import placeholders
from troth.dsr.filesets import FileStep, FileStores, plan_files
from troth.dsr.identity import Identity
from troth.dsr.keystores import KeyStep, KeyStores, found_keys, plan_keys
from troth.dsr.services import Services, ServiceStep, _found, plan_services
from troth.errors import RequestError

SCALARS = (str, int, float)


@dataclass
class OtherChanges:
    """The changes of a rectification outside SQL, by store kind and ``store.table``."""

    files: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    keys: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    services: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.files or self.keys or self.services)


def _refuse(address: str, why: str, fix: str) -> RequestError:
    return RequestError(f"{address!r}: {why}", where="rectification", fix=fix)


def split_changes(
    datamap: DataMap, changes: Mapping[str, Any]
) -> tuple[dict[str, Any], OtherChanges]:
    """The SQL changes, and the changes of file sets, key stores and services (checked)."""
    sql: dict[str, Any] = {}
    other = OtherChanges()
    files = {(fs.name, t.name): t for fs in datamap.filesets for t in fs.tables}
    keys = {(ks.name, kp.name): kp for ks in datamap.keystores for kp in ks.keys}
    resources = {(s.name, r.name): r for s in datamap.services for r in s.resources}
    for address, value in changes.items():
        parts = address.split(".")
        where = (parts[0], parts[1]) if len(parts) == 3 else None
        if where is None or where not in {**files, **keys, **resources}:
            sql[address] = value
            continue
        name = parts[2]
        if not isinstance(value, SCALARS) or isinstance(value, bool):
            raise _refuse(address, "a new value outside SQL is text or a number",
                          "give the value as text")  # fmt: skip
        if where in files:
            if name not in {f.name for f in files[where].fields}:
                raise _refuse(address, "not a field of the file table", "name a mapped field")
            other.files.setdefault(where, {})[name] = value
        elif where in keys:
            kp = keys[where]
            if name not in {f.name for f in kp.fields}:
                raise _refuse(
                    address,
                    f"key pattern {where[0]}.{where[1]} has no hash field {name!r}: troth can "
                    "only delete or mask its keys",
                    "declare the hash field under the pattern's `fields`, or correct the value "
                    "where the application writes it",
                )
            other.keys.setdefault(where, {})[name] = str(value)
        else:
            res = resources[where]
            settable = sorted(placeholders(res.update) - {"id"}) if res.update else []
            if name not in settable:
                why = (
                    f"service resource {where[0]}.{where[1]} declares no update request"
                    if res.update is None
                    else f"its update request sets only {', '.join(settable) or 'nothing'}"
                )
                raise _refuse(
                    address,
                    why,
                    "declare `update:` with a {" + name + "} placeholder on the resource "
                    "(docs/connectors.md), or correct it in the service",
                )
            other.services.setdefault(where, {})[name] = value
    return sql, other


@dataclass(frozen=True)
class OtherPlan:
    files: list[tuple[FileStep, dict[str, Any]]]
    keys: list[tuple[KeyStep, dict[str, Any]]]
    services: list[tuple[ServiceStep, dict[str, Any]]]


def plan_other_changes(
    datamap: DataMap, identities: Sequence[Identity], changes: OtherChanges
) -> OtherPlan:
    """Each change with its step; refuses a store the identities do not reach."""
    fsteps = {(s.fileset, s.table.name): s for s in plan_files(datamap, identities)}
    ksteps = {(s.keystore, s.pattern.name): s for s in plan_keys(datamap, identities)}
    ssteps = {(s.service.name, s.resource.name): s for s in plan_services(datamap, identities)}
    unreached = [
        ".".join(w)
        for w in [*changes.files, *changes.keys, *changes.services]
        if not (
            (w in fsteps and fsteps[w].reached)
            or (w in ksteps and ksteps[w].globs)
            or (w in ssteps and ssteps[w].values)
        )
    ]
    if unreached:
        raise RequestError(
            f"{', '.join(unreached)} not reached from the identities given",
            where="rectification",
            fix="name the person by an identity those stores hold (`troth dsr plan`)",
        )
    return OtherPlan(
        [(fsteps[w], c) for w, c in changes.files.items()],
        [(ksteps[w], c) for w, c in changes.keys.items()],
        [(ssteps[w], c) for w, c in changes.services.items()],
    )


def check_others(plan: OtherPlan, env: Mapping[str, str] | None) -> None:
    """Before the request writes anywhere (its SQL tables included): every store is there and
    configured, every file has the columns, and every new value fits its column's type."""
    with FileStores(env) as fstores, KeyStores(env) as kstores, Services(env) as services:
        fstores.ping(s for s, _ in plan.files)
        kstores.ping(s for s, _ in plan.keys)
        services.open_all(s for s, _ in plan.services)
        for step, changes in plan.files:
            store = fstores.get(step.connection)
            if step.table.format == "delta":
                view = DeltaTableStore(store, step.table.path).register()
                described = store.query(f"DESCRIBE SELECT * FROM {view}")[1]
                typed = [{str(r[0]): str(r[1]) for r in described}]
            else:
                typed = [store.columns(step.table.format, f) for f in store.files(step.table.path)]
            for types in typed:
                _check_columns(step, changes, types)
                _check_fits(store, step.tid, changes, _setters(changes, types))


def _check_columns(step: FileStep, changes: Mapping[str, Any], types: Mapping[str, str]) -> None:
    missing = [c for c in changes if c not in types]
    if missing:
        raise RequestError(
            f"file table {step.tid} has a file without the column(s) {', '.join(missing)}",
            where=f"file set {step.fileset}",
            fix="check the mapped fields against the files",
        )


def rectify_others(plan: OtherPlan, env: Mapping[str, str] | None) -> list[dict[str, Any]]:
    """Write the new values; every store is opened (and pinged) before the first write."""
    out: list[dict[str, Any]] = []
    with FileStores(env) as fstores, KeyStores(env) as kstores, Services(env) as services:
        fstores.ping(s for s, _ in plan.files)
        kstores.ping(s for s, _ in plan.keys)
        services.open_all(s for s, _ in plan.services)
        for fstep, changes in plan.files:
            store = fstores.get(fstep.connection)
            if fstep.table.format == "delta":
                out.append(_rectify_delta(fstep, store, changes))
            else:
                out.append(_rectify_files(fstep, store, changes))
        for kstep, changes in plan.keys:
            out.append(_rectify_keys(kstep, kstores, changes))
        for sstep, changes in plan.services:
            client = services.get(sstep.service)
            items = _found(client, sstep)
            n = sum(client.update(sstep.resource, item, changes) for item in items)
            out.append({"table": str(sstep.tid), "action": "rectify", "rows": n,
                        "fields": sorted(changes)})  # fmt: skip
    return out


def _setters(changes: Mapping[str, Any], types: Mapping[str, str]) -> dict[str, str]:
    """Column -> its new value as SQL (a bound parameter cast to the column's type)."""
    return {
        col: f"CAST($troth_set_{i} AS {types.get(col, 'VARCHAR')})" for i, col in enumerate(changes)
    }


def _check_fits(
    store: FileStore, tid: object, changes: Mapping[str, Any], setters: Mapping[str, str]
) -> None:
    """Refuse a new value the column's type cannot hold (before any file is rewritten)."""
    tests = ", ".join(f"{e.replace('CAST(', 'TRY_CAST(', 1)} IS NULL" for e in setters.values())
    _cols, rows = store.query(f"SELECT {tests}", _params(changes))
    bad = [c for c, failed in zip(setters, rows[0], strict=True) if failed]
    if bad:
        raise RequestError(
            f"the new value of {tid}.{bad[0]} does not fit the column's type",
            where="rectification",
            fix="give a value of the column's type (a number that fits, a date, ...)",
        )


def _params(changes: Mapping[str, Any]) -> dict[str, Any]:
    return {f"troth_set_{i}": v for i, v in enumerate(changes.values())}


def _differs(setters: Mapping[str, str]) -> str:
    return " OR ".join(f"{quote(c)} IS DISTINCT FROM {e}" for c, e in setters.items())


def _rectify_files(step: FileStep, store: FileStore, changes: dict[str, Any]) -> dict[str, Any]:
    match, params = step.match()
    params = {**params, **_params(changes)}
    fmt = step.table.format
    todo = []
    for file in store.files(step.table.path):
        types = store.columns(fmt, file)
        _check_columns(step, changes, types)
        setters = _setters(changes, types)
        _check_fits(store, step.tid, changes, setters)
        reader = store.reader(fmt, [file])
        cond = f"{match} AND ({_differs(setters)})"
        n = int(store.query(f"SELECT count(*) FROM {reader} WHERE {cond}", params)[1][0][0])
        if n:
            todo.append((file, reader, setters, n))
    for file, reader, setters, _n in todo:  # every file checked before the first rewrite
        replace = ", ".join(
            f"CASE WHEN {match} THEN {expr} ELSE {quote(col)} END AS {quote(col)}"
            for col, expr in setters.items()
        )
        select = f"SELECT * EXCLUDE (filename) REPLACE ({replace}) FROM {reader}"
        store.rewrite(fmt, file, select, params)
    return {"table": str(step.tid), "action": "rectify", "rows": sum(t[3] for t in todo),
            "files": len(todo), "fields": sorted(changes)}  # fmt: skip


def _rectify_delta(step: FileStep, store: FileStore, changes: dict[str, Any]) -> dict[str, Any]:
    table = DeltaTableStore(store, step.table.path)
    view = table.register()
    match, params = step.match()
    types = {r[0]: str(r[1]) for r in store.query(f"DESCRIBE SELECT * FROM {view}")[1]}
    setters = _setters(changes, types)
    _check_fits(store, step.tid, changes, setters)
    cond = f"{match} AND ({_differs(setters)})"
    query = f"SELECT count(*) FROM {view} WHERE {cond}"
    n = int(store.query(query, {**params, **_params(changes)})[1][0][0])
    result = {"table": str(step.tid), "action": "rectify", "rows": n, "files": 0,
              "fields": sorted(changes), "version": table.version}  # fmt: skip
    if n:
        identities = {f.name: f.identity for f in step.table.fields if f.identity}
        updates = {col: f"s.troth_set_{i}" for i, col in enumerate(changes)}
        metrics = table.merge(identities, step.values, updates, changes)
        result["files"] = int(metrics.get("num_target_files_removed", 0))
        result["version"] = table.version
        if step.table.vacuum_hours is None:
            result["old_versions_kept"] = True  # older versions still hold the old values
        else:
            result["vacuumed_files"] = table.vacuum(step.table.vacuum_hours)
    return result


def _rectify_keys(step: KeyStep, stores: KeyStores, changes: dict[str, Any]) -> dict[str, Any]:
    store = stores.get(step.connection)
    keys = found_keys(store, step)
    names = list(changes)
    new = {n: str(v).encode() for n, v in changes.items()}
    todo: dict[bytes, dict[str, bytes | None]] = {}
    for k, current in zip(keys, store.hash_fields(keys, names), strict=True):
        mine: dict[str, bytes | None] = {
            n: new[n] for n, v in zip(names, current, strict=True) if v is not None and v != new[n]
        }
        if mine:
            todo[k] = mine
    if todo:
        store.set_hash_fields(todo)
    return {"table": str(step.table), "action": "rectify", "rows": len(todo),
            "fields": sorted(changes)}  # fmt: skip

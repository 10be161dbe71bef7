"""Data-subject requests over the SaaS services of the data map (HTTP APIs declared in YAML).

For each resource, the find request runs once per value of its identity (every page); access
exports the items as rows of ``<service>.<resource>``; erasure sends the resource's erase request
for each item found (a 404 counts as already erased, so a second run finds nothing and sends
nothing). A resource without ``erase`` cannot be erased by troth: an erasure that reaches one is
refused before its first write (:func:`refuse_unerasable`), and ``troth check`` reports it
(``map.no-erasure-action``). A dry run only finds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from troth.connectors.http import HttpService, dig
from troth.connectors.names import resolve_connection
from troth.datamap.graph import TableId
from troth.datamap.model import DataMap
from troth.datamap.services import HttpResource, Service
from troth.dsr.holders import Opened
from troth.dsr.identity import Identity
from troth.dsr.keystores import Sink
from troth.errors import RequestError


@dataclass(frozen=True)
class ServiceStep:
    service: Service
    resource: HttpResource
    values: tuple[str, ...]

    @property
    def tid(self) -> TableId:
        return TableId(self.service.name, self.resource.name)


def plan_services(datamap: DataMap, identities: Sequence[Identity]) -> list[ServiceStep]:
    values: dict[str, list[str]] = {}
    for ident in identities:
        vals = values.setdefault(ident.name, [])
        if ident.normalised() not in vals:
            vals.append(ident.normalised())
    return [
        ServiceStep(svc, res, tuple(values.get(res.identity, ())))
        for svc in datamap.services
        for res in svc.resources
    ]


class Services(Opened[HttpService]):
    """HTTP clients by service name, opened lazily, closed together."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._env = os.environ if env is None else env

    def get(self, service: Service) -> HttpService:
        def make() -> HttpService:
            url = resolve_connection(service.connection, self._env)
            return HttpService(service, url, self._env)

        return self._opened(service.name, make)

    def open_all(self, steps: Iterable[ServiceStep]) -> None:
        """Open every service (configuration errors before any write)."""
        for step in steps:
            self.get(step.service)


def _found(client: HttpService, step: ServiceStep) -> list[dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    for value in step.values:
        for item in client.find(step.resource, {step.resource.identity: value}):
            items.setdefault(str(dig(item, step.resource.id_field)), item)
    return list(items.values())


def refuse_unerasable(steps: Sequence[ServiceStep]) -> None:
    """Refuse an erasure that reaches a service resource troth cannot erase (before any write)."""
    names = [str(s.tid) for s in steps if s.values and s.resource.erase is None]
    if names:
        raise RequestError(
            f"erasure refused before any write: service resource(s) {', '.join(names)} hold the "
            "person's data but declare no erase request; add `erase:` (the service's delete "
            "endpoint) to each in the data map, or remove the resource"
        )


def access_services(
    steps: Sequence[ServiceStep], services: Services, sink: Sink
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for step in steps:
        if not step.values:
            continue
        items = _found(services.get(step.service), step)
        for item in items:
            sink.add(step.tid, item)
        out.append({"table": str(step.tid), "action": "access", "rows": len(items)})
    return out


def erase_services(
    steps: Sequence[ServiceStep], services: Services, *, dry_run: bool = False
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for step in steps:
        if not step.values:
            continue
        client = services.get(step.service)
        items = _found(client, step)
        if step.resource.erase is None:  # refused before the first write; never reached
            raise RequestError(f"service resource {step.tid} has no erase request")
        n = len(items) if dry_run else sum(client.erase(step.resource, i) for i in items)
        out.append({"table": str(step.tid), "action": "delete", "rows": n})
    return out

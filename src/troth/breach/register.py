"""The breach register (GDPR Art. 33(5)): each breach, its 72-hour clock, and who was told when.

A breach is recorded with the exposed tables, the personal data categories they hold (from the
data map) and the people it affects (counted in the stores, :mod:`troth.breach.affected`), never
a value. Every change commits with its audit entry. The authority must be notified within 72
hours of the company becoming aware of the breach unless it is unlikely to result in a risk
(Art. 33(1)); the people without undue delay when the risk is high (Art. 34(1)).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from troth.audit import Event, Ledger
from troth.breach.affected import count_affected, parse_tables
from troth.breach.models import Breach
from troth.datamap.model import DataMap
from troth.errors import ConfigError, RequestError
from troth.store.db import translate_errors

#: Art. 33(1): notify the supervisory authority within 72 hours of awareness
AUTHORITY_DEADLINE = timedelta(hours=72)
NATURES = ("confidentiality", "integrity", "availability")


class Risk(StrEnum):
    unknown = "unknown"  # not assessed yet: the clock runs
    unlikely = "unlikely"  # unlikely to result in a risk: recorded, no notification
    risk = "risk"  # notify the authority
    high = "high"  # notify the authority and the people


@dataclass(frozen=True)
class BreachInfo:
    id: str
    detected_at: datetime
    description: str
    nature: tuple[str, ...]
    tables: tuple[str, ...]
    categories: tuple[str, ...]
    people: dict[str, int]
    rows: dict[str, int]
    risk: Risk
    status: str
    contained_at: str | None
    authority_notified_at: str | None
    people_notified_at: str | None

    @property
    def deadline(self) -> datetime:
        return self.detected_at + AUTHORITY_DEADLINE

    def authority_due(self) -> bool:
        return self.risk is not Risk.unlikely

    def overdue(self, now: datetime) -> bool:
        """The authority should have been notified by now and was not."""
        return self.authority_due() and not self.authority_notified_at and now > self.deadline

    def late(self) -> bool:
        """The authority was notified after the 72 hours (Art. 33(1) asks for the reasons)."""
        if not self.authority_notified_at:
            return False
        return datetime.fromisoformat(self.authority_notified_at) > self.deadline

    def hours_left(self, now: datetime) -> float:
        return (self.deadline - now).total_seconds() / 3600

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        return {
            "id": self.id,
            "detected_at": self.detected_at.isoformat(),
            "deadline": self.deadline.isoformat(),
            "hours_left": round(self.hours_left(now), 1),
            "overdue": self.overdue(now),
            "late": self.late(),
            "description": self.description,
            "nature": list(self.nature),
            "tables": list(self.tables),
            "categories": list(self.categories),
            "people": self.people,
            "rows": self.rows,
            "risk": self.risk.value,
            "status": self.status,
            "contained_at": self.contained_at,
            "authority_notified_at": self.authority_notified_at,
            "people_notified_at": self.people_notified_at,
        }


def _info(row: Breach) -> BreachInfo:
    affected = json.loads(row.affected)
    return BreachInfo(
        row.id,
        datetime.fromisoformat(row.detected_at),
        row.description,
        tuple(n for n in row.nature.split(",") if n),
        tuple(json.loads(row.tables)),
        tuple(json.loads(row.categories)),
        dict(affected.get("people", {})),
        dict(affected.get("rows", {})),
        Risk(row.risk),
        row.status,
        row.contained_at,
        row.authority_notified_at,
        row.people_notified_at,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _categories(datamap: DataMap, tables: Sequence[str]) -> list[str]:
    wanted = set(tables)
    keys: set[str] = set()
    for ds, table, f in datamap.fields():
        if f"{ds.name}.{table.name}" in wanted:
            keys.update(f.categories)
            for jp in f.json_paths:
                keys.update(jp.categories)
    return sorted(k for k in keys if k.startswith("user."))


class Breaches:
    """The register in troth's state DB; each change with its audit entry, one transaction."""

    def __init__(self, engine: Engine, *, actor: str = "troth") -> None:
        self.engine = engine
        self.actor = actor
        self.ledger = Ledger(engine)

    def open(
        self,
        datamap: DataMap,
        engines: Mapping[str, sa.Engine],
        *,
        tables: Sequence[str],
        detected_at: datetime,
        description: str,
        nature: Sequence[str] = ("confidentiality",),
        risk: Risk = Risk.unknown,
    ) -> BreachInfo:
        """Record a breach, counting the people its tables affect in the stores."""
        bad = [n for n in nature if n not in NATURES]
        if bad:
            raise ConfigError(
                f"unknown breach nature {bad[0]!r}",
                where="--nature",
                fix=f"use: {', '.join(NATURES)}",
            )
        if detected_at.tzinfo is None:
            detected_at = detected_at.replace(tzinfo=UTC)
        if detected_at > datetime.now(UTC) + timedelta(minutes=5):
            raise ConfigError(
                "the detection time is in the future", where="--detected", fix="give when it was"
            )
        ids = parse_tables(datamap, tables)
        affected = count_affected(datamap, engines, ids)
        names = [str(t) for t in ids]
        now = _now()
        row = Breach(
            id=uuid.uuid4().hex,
            detected_at=detected_at.isoformat(timespec="seconds"),
            recorded_at=now,
            updated_at=now,
            description=description,
            nature=",".join(nature),
            tables=json.dumps(names),
            categories=json.dumps(_categories(datamap, names)),
            affected=json.dumps({"people": affected.people, "rows": affected.rows}),
            risk=risk.value,
            status="open",
        )
        with self.ledger.transaction() as tx, Session(bind=tx.conn) as s:
            s.add(row)
            s.flush()
            info = _info(row)
            data = {
                "breach_id": info.id,
                "tables": names,
                "people": affected.total,
                "rows": sum(affected.rows.values()),
                "risk": risk.value,
                "deadline": info.deadline.isoformat(),
            }
            tx.append_many([Event("breach.opened", data, self.actor, f"breach:{info.id}")])
        return info

    def get(self, breach_id: str) -> BreachInfo:
        with translate_errors(self.engine), Session(self.engine) as s:
            row = s.get(Breach, breach_id)
            if row is None:
                raise RequestError(
                    f"no breach {breach_id!r}", where="breach register", fix="`troth breach list`"
                )
            return _info(row)

    def list(self) -> list[BreachInfo]:
        with translate_errors(self.engine), Session(self.engine) as s:
            return [_info(r) for r in s.scalars(sa.select(Breach).order_by(Breach.detected_at))]

    def _change(self, breach_id: str, kind: str, data: dict[str, Any], **values: Any) -> BreachInfo:
        with self.ledger.transaction() as tx, Session(bind=tx.conn) as s:
            row = s.get(Breach, breach_id)
            if row is None:
                raise RequestError(
                    f"no breach {breach_id!r}", where="breach register", fix="`troth breach list`"
                )
            if row.status == "closed":
                raise RequestError(
                    f"breach {breach_id} is closed", where="breach register", fix="open a new one"
                )
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = _now()
            s.flush()
            info = _info(row)
            payload = {"breach_id": breach_id, **data}
            tx.append_many([Event(kind, payload, self.actor, f"breach:{breach_id}")])
        return info

    def update(
        self,
        breach_id: str,
        *,
        risk: Risk | None = None,
        contained: bool = False,
        close: bool = False,
    ) -> BreachInfo:
        values: dict[str, Any] = {}
        if risk is not None:
            values["risk"] = risk.value
        if contained:
            values |= {"status": "contained", "contained_at": _now()}
        if close:
            values |= {"status": "closed", "closed_at": _now()}
        data = {k: v for k, v in values.items() if k in ("risk", "status")}
        return self._change(breach_id, "breach.updated", data, **values)

    def notify(
        self, breach_id: str, whom: Literal["authority", "people"], *, at: datetime | None = None
    ) -> BreachInfo:
        """Record that the authority or the people were notified (at ``at``, default now)."""
        when = (at or datetime.now(UTC)).isoformat(timespec="seconds")
        column = "authority_notified_at" if whom == "authority" else "people_notified_at"
        info = self.get(breach_id)
        late = whom == "authority" and datetime.fromisoformat(when) > info.deadline
        return self._change(
            breach_id, "breach.notified", {"whom": whom, "late": late}, **{column: when}
        )

"""Published versions of a policy (PL-14): each one archived in troth's state DB with its source,
its SHA-256, its effective date and who the change concerns, and recorded in the audit ledger.

A version string is published once: publishing the same version again with the same text is a
no-op; with another text it is refused (a published version never changes; bump
``policy.version``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from troth.audit import Event, Ledger
from troth.errors import PolicyError
from troth.files import read_text_file
from troth.policy.impact import Impact, impact
from troth.policy.loader import load_policy, resolve_policy_path
from troth.policy.models import PolicyVersion
from troth.policy.yamlsrc import MAX_BYTES
from troth.store.db import translate_errors


@dataclass(frozen=True)
class Published:
    policy_id: str
    version: str
    effective: str | None
    published_at: str
    sha256: str
    impact: list[Impact]
    #: False when this exact version was already published (nothing recorded)
    new: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id,
            "version": self.version,
            "effective": self.effective,
            "published_at": self.published_at,
            "sha256": self.sha256,
            "impact": [i.as_dict() for i in self.impact],
        }


def _published(row: PolicyVersion, *, new: bool = True) -> Published:
    items = [Impact(**i) for i in json.loads(row.impact)]
    return Published(
        row.policy_id, row.version, row.effective, row.published_at, row.sha256, items, new
    )


def publish(engine: Engine, path: Path | str, *, actor: str = "troth") -> Published:
    """Archive the policy at ``path`` (its source as published) and record it in the ledger."""
    file = resolve_policy_path(path)
    source = read_text_file(file, max_bytes=MAX_BYTES, error=PolicyError)
    doc = load_policy(file, text=source)
    digest = hashlib.sha256(source.encode()).hexdigest()
    meta = doc.policy.policy
    with translate_errors(engine), Session(engine) as s:
        rows = list(
            s.scalars(
                sa.select(PolicyVersion)
                .where(PolicyVersion.policy_id == meta.id)
                .order_by(PolicyVersion.id)
            )
        )
    same = next((r for r in rows if r.version == meta.version), None)
    if same is not None:
        if same.sha256 == digest:
            return _published(same, new=False)
        raise PolicyError(
            f"version {meta.version} of policy {meta.id} was published with another text",
            where=f"{doc.path}: policy.version",
            fix="a published version never changes: give this text a new version number",
        )
    changes: list[Impact] = []
    if rows:
        previous = load_policy(doc.path, text=rows[-1].source).policy
        changes = impact(previous, doc.policy)
    row = PolicyVersion(
        policy_id=meta.id,
        version=meta.version,
        effective=meta.effective.isoformat() if meta.effective else None,
        published_at=datetime.now(UTC).isoformat(timespec="seconds"),
        sha256=digest,
        source=source,
        impact=json.dumps([i.as_dict() for i in changes]),
        actor=actor,
    )
    ledger = Ledger(engine)
    with ledger.transaction() as tx, Session(bind=tx.conn) as s:
        s.add(row)
        s.flush()
        data = {
            "policy_id": meta.id,
            "version": meta.version,
            "sha256": digest,
            "effective": row.effective,
            "ask_again": sorted({i.consent or "" for i in changes if i.action == "ask_again"}),
            "tell": len([i for i in changes if i.action == "tell"]),
        }
        tx.append_many([Event("policy.published", data, actor, f"policy:{meta.id}")])
        return _published(row)


def history(engine: Engine, policy_id: str) -> list[Published]:
    """Every published version of the policy, oldest first."""
    with translate_errors(engine), Session(engine) as s:
        rows = s.scalars(
            sa.select(PolicyVersion)
            .where(PolicyVersion.policy_id == policy_id)
            .order_by(PolicyVersion.id)
        )
        return [_published(r) for r in rows]


def published_source(engine: Engine, policy_id: str, version: str) -> str:
    """The source of a published version; refuses a version never published."""
    with translate_errors(engine), Session(engine) as s:
        row = s.scalars(
            sa.select(PolicyVersion).where(
                PolicyVersion.policy_id == policy_id, PolicyVersion.version == version
            )
        ).first()
        if row is None:
            known = [r.version for r in history(engine, policy_id)]
            raise PolicyError(
                f"version {version!r} of policy {policy_id} was never published",
                where="troth state DB",
                fix=f"published: {', '.join(known)}" if known else "run `troth publish` first",
            )
        return row.source

"""Restriction of processing: the person is marked, by troth's keyed hash of each identity.

Purpose checks ask :func:`is_restricted` before processing and refuse when it says so. Only the
keyed hash is stored; the value cannot be read back from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from troth.audit.hashing import keyed_hash
from troth.consent.subjects import scope_text, scoped_subject
from troth.dsr.identity import Identity, identity_hash
from troth.dsr.models import Restriction
from troth.dsr.requests import now
from troth.store.db import translate_errors, writing_session


def _scoped(key: bytes, ident: Identity, scope: Mapping[str, str] | None) -> str:
    base = identity_hash(key, ident)
    text = scope_text(scope)
    return keyed_hash(key, f"{base}|scope|{text}") if text else base


def restrict_identities(
    engine: Engine,
    key: bytes,
    identities: Iterable[Identity],
    request_id: str | None = None,
    scope: Mapping[str, str] | None = None,
) -> int:
    """Mark each identity restricted (in ``scope`` only, when one is given); returns how many
    were newly marked (idempotent)."""
    added = 0
    with writing_session(engine) as s:  # reads, then writes what it did not find
        for ident in identities:
            # the request's own hash, and the consent ledger's subject ref of the same value,
            # so that purpose decisions (troth.consent.decide) refuse processing too
            refs = [
                (_scoped(key, ident, scope), ident.name),
                (scoped_subject(key, ident.value, scope).value, "subject"),
            ]
            new = False
            for digest, name in refs:
                if s.get(Restriction, digest) is None:
                    s.add(
                        Restriction(
                            identity_hash=digest,
                            identity=name,
                            request_id=request_id,
                            restricted_at=now().isoformat(),
                        )
                    )
                    s.flush()
                    new = True
            added += new
    return added


def is_restricted(
    engine: Engine,
    key: bytes,
    identities: Iterable[Identity],
    scope: Mapping[str, str] | None = None,
) -> bool:
    """Whether any of the identities is marked restricted (everywhere, or in ``scope``)."""
    hashes = [identity_hash(key, i) for i in identities]
    if scope:
        hashes += [_scoped(key, i, scope) for i in identities]
    if not hashes:
        return False
    stmt = sa.select(sa.func.count()).where(Restriction.identity_hash.in_(hashes))
    with translate_errors(engine), Session(engine) as s:
        return bool(s.scalar(stmt))

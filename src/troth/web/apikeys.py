"""API keys of ``troth serve`` for server-to-server calls.

A key reads ``troth_<id>_<secret>``; troth stores the id, the scopes and an HMAC-SHA256 of the whole
key under troth's secret key (never the key itself), and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.audit import Ledger
from troth.audit.hashing import utc_timestamp
from troth.consent.models import ApiKey
from troth.errors import ConfigError, TrothError, UnknownNameError
from troth.store.db import connect

SCOPES = (
    "consent:read",
    "consent:write",
    "disclosure:write",
    "requests:read",
    "requests:write",
    "requests:export",
    "admin",
)
TABLE: sa.Table = ApiKey.__table__  # type: ignore[assignment]


class AuthError(TrothError):
    """A request has no valid API key, or the key lacks the scope (HTTP 401/403)."""

    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        self.forbidden = forbidden
        super().__init__(message, where="API key", fix="send `Authorization: Bearer troth_...`")


@dataclass(frozen=True)
class KeyInfo:
    id: str
    scopes: frozenset[str]
    label: str
    created_at: str
    revoked_at: str | None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def _digest(secret_key: bytes, key: str) -> str:
    return hmac.new(secret_key, key.encode(), hashlib.sha256).hexdigest()


def create_key(
    engine: Engine, secret_key: bytes, scopes: list[str], label: str = "", *, actor: str = "cli"
) -> str:
    """Create a key with *scopes*; returns the key text (shown once, never stored); audited
    with *actor*."""
    for scope in scopes:
        if scope not in SCOPES:
            raise UnknownNameError("API key scope", scope, SCOPES, where="--scope")
    if not scopes:
        raise ConfigError("an API key needs at least one scope", fix="pass --scope consent:write")
    key_id = secrets.token_hex(6)
    key = f"troth_{key_id}_{secrets.token_urlsafe(24)}"
    with connect(engine) as conn, conn.begin():
        conn.execute(
            sa.insert(TABLE).values(
                id=key_id,
                secret_hash=_digest(secret_key, key),
                scopes=" ".join(sorted(set(scopes))),
                label=label[:200],
                created_at=utc_timestamp(),
                revoked_at=None,
            )
        )
    Ledger(engine).append(
        "apikey.created", {"key_id": key_id, "scopes": sorted(set(scopes))}, actor=actor
    )
    return key


def list_keys(engine: Engine) -> list[KeyInfo]:
    with connect(engine) as conn:
        rows = conn.execute(sa.select(TABLE).order_by(TABLE.c.created_at)).mappings().all()
    return [_info(dict(r)) for r in rows]


def revoke_key(engine: Engine, key_id: str, *, actor: str = "cli") -> None:
    with connect(engine) as conn, conn.begin():
        done = conn.execute(
            sa.update(TABLE)
            .where(TABLE.c.id == key_id, TABLE.c.revoked_at.is_(None))
            .values(revoked_at=utc_timestamp())
        ).rowcount
    if not done:
        raise UnknownNameError("active API key id", key_id, [k.id for k in list_keys(engine)])
    Ledger(engine).append("apikey.revoked", {"key_id": key_id}, actor=actor)


def check_key(engine: Engine, secret_key: bytes, key: str | None, scope: str) -> KeyInfo:
    """The key's info if *key* is valid, not revoked and has *scope*; :class:`AuthError` if not."""
    if not key:
        raise AuthError("this endpoint needs an API key")
    parts = key.split("_")
    if len(parts) < 3 or parts[0] != "troth":
        raise AuthError("the API key is malformed")
    with connect(engine) as conn:
        row = conn.execute(sa.select(TABLE).where(TABLE.c.id == parts[1])).mappings().first()
    if row is None or not hmac.compare_digest(row["secret_hash"], _digest(secret_key, key)):
        raise AuthError("the API key is not valid")
    info = _info(dict(row))
    if info.revoked_at:
        raise AuthError("the API key was revoked")
    if not info.allows(scope):
        raise AuthError(f"the API key lacks the scope {scope!r}", forbidden=True)
    return info


def _info(row: dict[str, str | None]) -> KeyInfo:
    return KeyInfo(
        id=str(row["id"]),
        scopes=frozenset(str(row["scopes"]).split()),
        label=str(row["label"]),
        created_at=str(row["created_at"]),
        revoked_at=row["revoked_at"],
    )

"""Identity values of a queued request, sealed until a worker runs it.

A request filed for the workers (by the request API, or the privacy centre after verification)
must keep the person's identity values until it runs: the stores are searched by them. troth keeps
them encrypted (AES-256-GCM under a key derived from troth's secret key, the request id as
associated data, so a sealed value cannot be moved to another request) in ``dsr_sealed``, and
deletes them when the request ends (completed or denied). Nothing else in the state DB holds an
identity value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, mapped_column

from troth.dsr import models as _dsr_models  # noqa: F401  (dsr_request, which its key refers to)
from troth.errors import RequestError
from troth.store.db import read_once, reading
from troth.store.models import Base

if TYPE_CHECKING:  # troth.dsr.identity imports the store: imported where used
    from troth.dsr.identity import Identity


class SealedIdentities(Base):
    """The encrypted identities and scope of one request, until it ends."""

    __tablename__ = "dsr_sealed"

    request_id: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("dsr_request.id", ondelete="CASCADE"), primary_key=True
    )
    #: base64 of nonce (12 bytes) + AES-GCM ciphertext of the JSON
    blob: Mapped[str] = mapped_column(sa.Text)


TABLE: sa.Table = SealedIdentities.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Sealed:
    identities: list[Identity]
    scope: dict[str, str]


def _key(secret_key: bytes) -> bytes:
    return hmac.new(secret_key, b"troth sealed identities v1", hashlib.sha256).digest()


def seal(
    conn: Connection,
    secret_key: bytes,
    request_id: str,
    identities: Sequence[Identity],
    scope: Mapping[str, str] | None = None,
) -> None:
    """Store the values on *conn* (in the caller's transaction)."""
    text = json.dumps(
        {"identities": [[i.name, i.value] for i in identities], "scope": dict(scope or {})}
    ).encode()
    nonce = os.urandom(12)
    blob = nonce + AESGCM(_key(secret_key)).encrypt(nonce, text, request_id.encode())
    conn.execute(
        sa.insert(TABLE).values(request_id=request_id, blob=base64.b64encode(blob).decode())
    )


def unseal(engine: Engine, secret_key: bytes, request_id: str) -> Sealed | None:
    """The values of *request_id*, or None when none are sealed (ended, or not for workers)."""
    with read_once(engine) as conn:
        text = conn.execute(
            sa.select(TABLE.c.blob).where(TABLE.c.request_id == request_id)
        ).scalar_one_or_none()
    if text is None:
        return None
    raw = base64.b64decode(text)
    try:
        plain = AESGCM(_key(secret_key)).decrypt(raw[:12], raw[12:], request_id.encode())
    except InvalidTag:
        raise RequestError(
            f"the sealed identities of request {request_id} do not open with this secret key",
            where="dsr_sealed",
            fix="run the workers with the TROTH_SECRET_KEY the request was filed with",
        ) from None
    from troth.dsr.identity import Identity

    data = json.loads(plain)
    return Sealed([Identity(n, v) for n, v in data["identities"]], dict(data["scope"]))


def is_sealed(engine: Engine | Connection, request_id: str) -> bool:
    with reading(engine) as conn:
        return (
            conn.execute(
                sa.select(TABLE.c.request_id).where(TABLE.c.request_id == request_id)
            ).first()
            is not None
        )


def forget(conn: Connection, request_id: str) -> None:
    """Delete the values (the request ended)."""
    conn.execute(sa.delete(TABLE).where(TABLE.c.request_id == request_id))

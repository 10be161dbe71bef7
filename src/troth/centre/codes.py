"""One-time codes: six digits, valid 15 minutes, five tries; stored as a keyed hash only.

Attempts are counted in the database before the code is compared (``UPDATE ... WHERE tries <
limit``), and the winning attempt marks the code used in one conditional update, so two processes
cannot both use a code or try it more than the limit.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.audit.hashing import keyed_hash
from troth.centre.crypto import Box, derive
from troth.centre.models import CentreCode
from troth.store.db import connect

TABLE: sa.Table = CentreCode.__table__  # type: ignore[assignment]
DIGITS = 6
LIFETIME = timedelta(minutes=15)
MAX_TRIES = 5


class Outcome(StrEnum):
    ok = "ok"
    wrong = "wrong"
    expired = "expired"
    locked = "locked"
    unknown = "unknown"


@dataclass(frozen=True)
class Checked:
    outcome: Outcome
    tries_left: int = 0
    #: the decrypted payload when the code was right
    payload: dict[str, Any] | None = None


def new_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


class Codes:
    def __init__(self, engine: Engine, secret: bytes, *, lifetime: timedelta = LIFETIME) -> None:
        self.engine = engine
        self._key = derive(secret, "code")
        self._box = Box(secret, "code payload")
        self.lifetime = lifetime

    def _hash(self, code_id: str, code: str) -> str:
        return keyed_hash(self._key, f"{code_id}:{code}")

    def issue(
        self,
        purpose: str,
        identity_hash: str,
        payload: dict[str, Any],
        *,
        now: datetime | None = None,
    ) -> tuple[str, str]:
        """A new code for *payload*: ``(code id, code)``. The code goes to the person only."""
        moment = now or datetime.now(UTC)
        code_id, code = uuid.uuid4().hex, new_code()
        row = {
            "id": code_id,
            "purpose": purpose,
            "identity_hash": identity_hash,
            "code_hash": self._hash(code_id, code),
            "created_at": moment.isoformat(),
            "expires_at": (moment + self.lifetime).isoformat(),
            "tries": 0,
            "used_at": None,
            "payload": self._box.seal(payload),
        }
        with connect(self.engine) as conn, conn.begin():
            conn.execute(sa.insert(TABLE), row)
        return code_id, code

    def exists(self, code_id: str, purpose: str) -> bool:
        with connect(self.engine) as conn:
            query = sa.select(TABLE.c.id).where(TABLE.c.id == code_id, TABLE.c.purpose == purpose)
            return conn.execute(query).first() is not None

    def check(
        self, code_id: str, purpose: str, code: str, *, now: datetime | None = None
    ) -> Checked:
        moment = (now or datetime.now(UTC)).isoformat()
        code = code.strip().replace(" ", "")
        with connect(self.engine, write_lock=True) as conn, conn.begin():
            row = (
                conn.execute(
                    sa.select(TABLE).where(TABLE.c.id == code_id, TABLE.c.purpose == purpose)
                )
                .mappings()
                .first()
            )
            if row is None:
                return Checked(Outcome.unknown)
            if row["used_at"] is not None or row["tries"] >= MAX_TRIES:
                return Checked(Outcome.locked)
            if row["expires_at"] < moment:
                return Checked(Outcome.expired)
            counted = conn.execute(
                sa.update(TABLE)
                .where(TABLE.c.id == code_id, TABLE.c.tries < MAX_TRIES, TABLE.c.used_at.is_(None))
                .values(tries=TABLE.c.tries + 1)
            )
            if counted.rowcount != 1:
                return Checked(Outcome.locked)
        tries_left = MAX_TRIES - int(row["tries"]) - 1
        good = len(code) == DIGITS and hmac.compare_digest(
            self._hash(code_id, code), str(row["code_hash"])
        )
        if not good:
            return Checked(Outcome.wrong if tries_left > 0 else Outcome.locked, tries_left)
        with connect(self.engine) as conn, conn.begin():
            won = conn.execute(
                sa.update(TABLE)
                .where(TABLE.c.id == code_id, TABLE.c.used_at.is_(None))
                .values(used_at=moment, payload="")  # what it unlocked is not kept
            )
            if won.rowcount != 1:
                return Checked(Outcome.locked)
        return Checked(Outcome.ok, tries_left, self._box.open(str(row["payload"])))

    def purge(self, *, now: datetime | None = None) -> int:
        """Delete codes that expired (their payload with them)."""
        moment = (now or datetime.now(UTC)).isoformat()
        with connect(self.engine) as conn, conn.begin():
            return int(conn.execute(sa.delete(TABLE).where(TABLE.c.expires_at < moment)).rowcount)

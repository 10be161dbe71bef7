"""Console users: argon2id password hashes, roles, optional TOTP, every change audited.

Names are staff log-in names; the ledger only ever gets the user's random id and role.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from troth.audit import Ledger
from troth.centre.crypto import Box
from troth.console.models import ConsoleSession, ConsoleUser
from troth.console.roles import Role
from troth.errors import ConsoleError
from troth.store.db import connect, translate_errors

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
ISSUER = "troth console"
#: argon2id (the library's default type) with its default cost (RFC 9106 low-memory profile)
HASHER = PasswordHasher()
#: verified against when the name is unknown, so that a wrong name costs as long as a wrong password
_DUMMY = HASHER.hash("troth-console-no-such-user")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class User:
    id: str
    name: str
    role: str
    totp: bool
    disabled: bool
    created_at: str

    @classmethod
    def of(cls, row: ConsoleUser) -> User:
        return cls(
            row.id,
            row.name,
            row.role,
            row.totp_secret is not None,
            row.disabled_at is not None,
            row.created_at,
        )


def check_name(name: str) -> str:
    clean = name.strip().lower()
    if not (1 <= len(clean) <= 80) or not set(clean) <= NAME_CHARS:
        raise ConsoleError(
            f"user name {name!r} is not valid",
            where="user name",
            fix="use 1-80 lower-case letters, digits, '.', '_' or '-' (e.g. 'dpo' or 'a.smith')",
        )
    return clean


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD or len(password) > MAX_PASSWORD:
        raise ConsoleError(
            f"the password has {len(password)} characters",
            where="password",
            fix=f"use {MIN_PASSWORD} to {MAX_PASSWORD} characters (a passphrase is fine)",
        )


class Users:
    def __init__(
        self, engine: Engine, secret: bytes, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.engine = engine
        self.ledger = Ledger(engine)
        self._box = Box(secret, "console totp")
        self.clock = clock

    def _now(self) -> str:
        return self.clock().isoformat()

    def add(self, name: str, role: Role, password: str, *, actor: str) -> User:
        name = check_name(name)
        check_password(password)
        if self.find(name) is not None:
            raise ConsoleError(
                f"user {name!r} exists", where="troth user add", fix="pick another name"
            )
        now = self._now()
        row = ConsoleUser(
            id=uuid.uuid4().hex,
            name=name,
            role=role.value,
            password_hash=HASHER.hash(password),
            created_at=now,
            updated_at=now,
        )
        with self.ledger.transaction() as tx, Session(bind=tx.conn) as s:
            s.add(row)
            s.flush()
            tx.append(
                "console.user_added",
                {"user_id": row.id, "role": role.value},
                actor=actor,
                subject=f"user:{row.id}",
            )
            return User.of(row)

    def find(self, name: str) -> User | None:
        with translate_errors(self.engine), Session(self.engine) as s:
            row = s.scalars(sa.select(ConsoleUser).where(ConsoleUser.name == name)).first()
            return User.of(row) if row else None

    def get(self, user_id: str) -> User | None:
        with translate_errors(self.engine), Session(self.engine) as s:
            row = s.get(ConsoleUser, user_id)
            return User.of(row) if row else None

    def named(self, name: str) -> User:
        user = self.find(check_name(name))
        if user is None:
            raise ConsoleError(
                f"no user {name!r}", where="troth user", fix="list them with `troth user list`"
            )
        return user

    def list(self) -> list[User]:
        with translate_errors(self.engine), Session(self.engine) as s:
            return [User.of(r) for r in s.scalars(sa.select(ConsoleUser).order_by("name"))]

    def _change(
        self, user_id: str, kind: str, data: dict[str, object], actor: str, **values: object
    ) -> None:
        """Update the user's row, end their sessions when asked, audit: one transaction."""
        end_sessions = bool(values.pop("_end_sessions", False))
        with self.ledger.transaction() as tx:
            tx.conn.execute(
                sa.update(ConsoleUser)
                .where(ConsoleUser.id == user_id)
                .values(updated_at=self._now(), **values)
            )
            if end_sessions:
                tx.conn.execute(sa.delete(ConsoleSession).where(ConsoleSession.user_id == user_id))
            tx.append(kind, {"user_id": user_id, **data}, actor=actor, subject=f"user:{user_id}")

    def set_password(self, name: str, password: str, *, actor: str) -> User:
        """A new password; the user's sessions end."""
        check_password(password)
        user = self.named(name)
        self._change(
            user.id,
            "console.password_changed",
            {},
            actor,
            password_hash=HASHER.hash(password),
            _end_sessions=True,
        )
        return user

    def disable(self, name: str, *, actor: str) -> User:
        """The user can no longer sign in; their sessions end at once."""
        user = self.named(name)
        self._change(
            user.id, "console.user_disabled", {}, actor, disabled_at=self._now(), _end_sessions=True
        )
        return user

    def enable_totp(self, name: str, *, actor: str) -> str:
        """A new TOTP secret for the user; returns its provisioning URI (shown once)."""
        user = self.named(name)
        secret = pyotp.random_base32()
        self._change(
            user.id,
            "console.totp_enabled",
            {},
            actor,
            totp_secret=self._box.seal(secret),
            totp_step=None,
        )
        return pyotp.TOTP(secret).provisioning_uri(name=user.name, issuer_name=ISSUER)

    def check_login(self, name: str, password: str, code: str) -> User | None:
        """The user when the name, password and (if set) TOTP code are right and the user is
        enabled; None otherwise (the caller does not learn which part was wrong).

        The password is checked outside any transaction (argon2 takes a while and must not
        hold the state DB's write lock); a TOTP step is claimed with one conditional update, so
        two sign-ins racing with the same code cannot both pass."""
        try:
            clean = check_name(name)
        except ConsoleError:
            clean = ""
        with translate_errors(self.engine), Session(self.engine) as s:
            row = s.scalars(sa.select(ConsoleUser).where(ConsoleUser.name == clean)).first()
            if row is not None:
                s.expunge(row)
        try:
            HASHER.verify(row.password_hash if row else _DUMMY, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled_at is not None:
            return None
        if row.totp_secret is not None and not self._claim_totp(row, code):
            return None
        if HASHER.check_needs_rehash(row.password_hash):
            self._update(row.id, password_hash=HASHER.hash(password))
        return User.of(row)

    def _update(self, user_id: str, *conditions: Any, **values: Any) -> int:
        stmt = sa.update(ConsoleUser).where(ConsoleUser.id == user_id, *conditions).values(**values)
        with connect(self.engine) as conn, conn.begin():
            return int(conn.execute(stmt).rowcount or 0)

    def _claim_totp(self, row: ConsoleUser, code: str) -> bool:
        """One step of clock drift either way; each step's code is accepted once."""
        totp = pyotp.TOTP(str(self._box.open(row.totp_secret or "")))
        at = self.clock()
        code = code.strip().replace(" ", "")
        for drift in (0, -1, 1):
            when = at.timestamp() + drift * totp.interval
            step = int(when // totp.interval)
            if totp.verify(code, for_time=int(when), valid_window=0):
                step_col = ConsoleUser.totp_step
                unused = sa.or_(step_col.is_(None), step_col < step)
                return self._update(row.id, unused, totp_step=step) == 1  # 0: replayed
        return False

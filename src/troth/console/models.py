"""State tables of the console: its users, their sessions, and failed sign-ins (lock-out)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from troth.store.models import Base


class ConsoleUser(Base):
    """A member of the privacy team (never a data subject): a name, a role, an argon2id hash."""

    __tablename__ = "console_user"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    #: the TOTP secret, encrypted under a key derived from troth's secret (None: no TOTP)
    totp_secret: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    #: the last TOTP time step accepted (a code is accepted once)
    totp_step: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    created_at: Mapped[str] = mapped_column(sa.String(32))
    updated_at: Mapped[str] = mapped_column(sa.String(32))
    disabled_at: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)


class ConsoleSession(Base):
    """A signed-in browser; the cookie holds a random id, the table only its SHA-256."""

    __tablename__ = "console_session"
    __table_args__ = (sa.Index("ix_console_session_user_id", "user_id"),)

    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("console_user.id", ondelete="CASCADE")
    )
    created_at: Mapped[str] = mapped_column(sa.String(32))
    seen_at: Mapped[str] = mapped_column(sa.String(32))


class ConsoleAttempt(Base):
    """Failed sign-ins per user name or client address (keyed hashes), for the lock-out."""

    __tablename__ = "console_attempt"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(sa.Integer)
    first_at: Mapped[str] = mapped_column(sa.String(32))
    locked_until: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)

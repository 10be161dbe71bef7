"""SQLAlchemy models of troth's own state.

One declarative :class:`Base` for every table troth owns. This module defines only the audit
ledger's tables; each part of troth defines its own models on :class:`Base` in its own module, and
a process imports only the parts it uses (a ``troth dsr access`` loads no centre, worker or sharing
model). A new part adds its module to :data:`PARTS` (one line) and ships a migration in
``troth/store/migrations/versions``; the migrations, not ``create_all``, create the schema.
:func:`load_all` imports every part: the Alembic environment and the schema tests use it.
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: 64-bit integer that is SQLite's rowid alias when used as the primary key
BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


class AuditEntry(Base):
    """One entry of the hash-chained audit ledger (see :mod:`troth.audit`)."""

    __tablename__ = "audit_entry"
    __table_args__ = (sa.Index("ix_audit_entry_ref", "ref"),)

    seq: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(sa.String(32))
    kind: Mapped[str] = mapped_column(sa.String(100))
    actor: Mapped[str] = mapped_column(sa.String(200))
    subject: Mapped[str | None] = mapped_column(sa.String(200))
    #: the canonical JSON text exactly as it was hashed
    data: Mapped[str] = mapped_column(sa.Text)
    prev: Mapped[str] = mapped_column(sa.String(64))
    #: HMAC-SHA256 of the entry (the column keeps its name from troth 0.1's plain hash)
    hash: Mapped[str] = mapped_column(sa.String(64))
    #: the audited row this entry is about (``consent_event:<uid>``), see troth.audit.coverage
    ref: Mapped[str | None] = mapped_column(sa.String(120))


class AuditHead(Base):
    """The one row that records the ledger's last entry; writers lock it to serialise appends."""

    __tablename__ = "audit_head"
    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    hash: Mapped[str] = mapped_column(sa.String(64))
    #: id of the MAC key the chain is written with; NULL with entries: a troth 0.1 (unkeyed) ledger
    key_id: Mapped[str | None] = mapped_column(sa.String(16))


#: every module that defines models on :class:`Base` (one line per part)
PARTS = (
    "troth.breach.models",  # breach register
    "troth.centre.models",  # privacy centre
    "troth.consent.models",  # consent + api keys
    "troth.console.models",  # console users, sessions
    "troth.dsr.deadlines",  # reminders sent
    "troth.dsr.models",  # DSR tables
    "troth.dsr.sealed",  # queued requests' identities
    "troth.policy.models",  # published versions
    "troth.retention.models",  # retention runs
    "troth.sharing.models",  # disclosure register
    "troth.store.outbox",  # the transactional outbox
    "troth.worker.webhooks",  # endpoints, deliveries
)


def load_all() -> sa.MetaData:
    """Import every part's models: :attr:`Base.metadata` then holds every table troth owns."""
    for name in PARTS:
        importlib.import_module(name)
    return Base.metadata

"""SQLAlchemy models of troth's own state.

One declarative :class:`Base` for every table troth owns. A later slice adds its tables by defining
models on :class:`Base` (in this module or its own ``models`` module imported here) and shipping a
new migration in ``troth/store/migrations/versions``; the migrations, not ``create_all``, create
the schema.
"""

from __future__ import annotations

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


from troth.breach import models as _breach_models  # noqa: E402, F401  (breach register)
from troth.centre import models as _centre_models  # noqa: E402, F401
from troth.consent import models as _consent_models  # noqa: E402,F401  (consent + api keys)
from troth.console import models as _console_models  # noqa: E402, F401  (users, sessions)
from troth.dsr import deadlines as _dsr_deadlines  # noqa: E402, F401  (reminders sent)
from troth.dsr import models as _dsr_models  # noqa: E402, F401  (DSR tables on Base)
from troth.dsr import sealed as _dsr_sealed  # noqa: E402, F401  (queued requests' identities)
from troth.policy import models as _policy_models  # noqa: E402, F401  (published versions)
from troth.retention import models as _retention_models  # noqa: E402, F401
from troth.sharing import models as _sharing_models  # noqa: E402, F401  (disclosure register)
from troth.store import outbox as _outbox  # noqa: E402, F401  (the transactional outbox)
from troth.worker import webhooks as _webhooks  # noqa: E402, F401  (endpoints, deliveries)

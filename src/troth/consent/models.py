"""Tables of the consent ledger and of troth serve's API keys (created by migration ``0003``)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from troth.store.models import Base, BigInt


class ConsentEvent(Base):
    """One consent event; rows are only ever inserted (append-only).

    ``subject`` is troth's keyed hash of the person's identifier (``h:<hex>``), never the
    identifier itself.
    ``event_uid`` is a content hash of the event, so a replayed event is stored once.
    """

    __tablename__ = "consent_event"
    __table_args__ = (
        sa.Index("ix_consent_event_subject_consent", "subject", "consent_id"),
        sa.UniqueConstraint("event_uid", name="uq_consent_event_event_uid"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    event_uid: Mapped[str] = mapped_column(sa.String(64))
    subject: Mapped[str] = mapped_column(sa.String(80))
    consent_id: Mapped[str] = mapped_column(sa.String(80))
    kind: Mapped[str] = mapped_column(sa.String(16))
    notice_version: Mapped[str] = mapped_column(sa.String(40))
    notice_hash: Mapped[str] = mapped_column(sa.String(64))
    event_time: Mapped[str] = mapped_column(sa.String(32))
    recorded_at: Mapped[str] = mapped_column(sa.String(32))
    channel: Mapped[str] = mapped_column(sa.String(80))
    collection_point: Mapped[str | None] = mapped_column(sa.String(80))
    jurisdiction: Mapped[str | None] = mapped_column(sa.String(20))
    gpc: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    user_agent: Mapped[str | None] = mapped_column(sa.String(400))
    ip_hash: Mapped[str | None] = mapped_column(sa.String(80))
    actor: Mapped[str] = mapped_column(sa.String(200))


class ApiKey(Base):
    """A server-to-server API key of ``troth serve``; only an HMAC of the secret is stored."""

    __tablename__ = "api_key"

    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(80))
    scopes: Mapped[str] = mapped_column(sa.String(400))
    label: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[str] = mapped_column(sa.String(32))
    revoked_at: Mapped[str | None] = mapped_column(sa.String(32))

"""The disclosure register (created by migration ``0008``): what left, to whom, never values.

``disclosure_batch``: one row per batch of disclosures to one recipient for one purpose (time,
source table, legal request, actor, and the *shapes* of its records: per shape, the data categories
and the field names that left). ``disclosure``: one narrow row per disclosed record: its batch, its
place ``n`` in it, its shape, and ``subject``, troth's keyed hash of the identity the record carried
(:func:`troth.dsr.identity.identity_hash`). Each batch is sealed by one audit ledger entry
(``disclosure.recorded``) holding a digest of the batch and its rows
(:mod:`troth.sharing.register`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from troth.store.models import Base, BigInt


class DisclosureBatch(Base):
    """Disclosures written together: one recipient, one purpose, one moment."""

    __tablename__ = "disclosure_batch"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(80))
    purpose: Mapped[str] = mapped_column(sa.String(80))
    source: Mapped[str | None] = mapped_column(sa.String(260))
    disclosed_at: Mapped[str] = mapped_column(sa.String(32))
    legal_basis: Mapped[str | None] = mapped_column(sa.String(200))
    authority: Mapped[str | None] = mapped_column(sa.String(200))
    legal_reference: Mapped[str | None] = mapped_column(sa.String(200))
    actor: Mapped[str] = mapped_column(sa.String(200))
    count: Mapped[int] = mapped_column(sa.Integer)
    #: the approved legal request the batch was disclosed on (PL-9), if any
    legal_request: Mapped[str | None] = mapped_column(sa.String(32))
    #: JSON list of [categories, fields] (space-separated keys and field names) per record shape
    shapes: Mapped[str] = mapped_column(sa.Text)


class Disclosure(Base):
    """One record (the part of it the policy let leave) handed to a recipient."""

    __tablename__ = "disclosure"
    __table_args__ = (sa.Index("ix_disclosure_subject", "subject"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    batch: Mapped[str] = mapped_column(sa.String(32))
    n: Mapped[int] = mapped_column(sa.Integer)
    subject: Mapped[str] = mapped_column(sa.String(80))
    shape: Mapped[int] = mapped_column(sa.Integer)


class LegalRequestRow(Base):
    """A request from an authority (PL-9): recorded, then approved or refused by another person.

    ``confidential``: the law lets (or obliges) the controller keep it out of the person's access
    copy; ``reason`` says why, and is in the ledger."""

    __tablename__ = "legal_request"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(80))
    purpose: Mapped[str] = mapped_column(sa.String(80))
    authority: Mapped[str] = mapped_column(sa.String(200))
    basis: Mapped[str] = mapped_column(sa.String(200))
    reference: Mapped[str | None] = mapped_column(sa.String(200))
    categories: Mapped[str] = mapped_column(sa.String(2000))
    confidential: Mapped[bool] = mapped_column(sa.Boolean)
    reason: Mapped[str | None] = mapped_column(sa.String(400))
    status: Mapped[str] = mapped_column(sa.String(16))
    requested_by: Mapped[str] = mapped_column(sa.String(200))
    requested_at: Mapped[str] = mapped_column(sa.String(32))
    decided_by: Mapped[str | None] = mapped_column(sa.String(200))
    decided_at: Mapped[str | None] = mapped_column(sa.String(32))


class OutboundNotice(Base):
    """A notice that leaves troth (created by migration ``0013``): an Art. 19 notice to a
    recipient of the person's data, or a withdrawn consent pushed to a service.

    ``ref``: the request id (``consent:<event uid>`` for a consent push); ``detail``: JSON of the
    disclosure ids, categories and field names concerned (never a value); ``sealed``: the identity
    values a service operation needs, encrypted, dropped once the notice is sent or failed."""

    __tablename__ = "outbound_notice"
    __table_args__ = (
        sa.UniqueConstraint("ref", "recipient", "kind", name="uq_outbound_notice"),
        sa.Index("ix_outbound_notice_status", "status"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(24))
    recipient: Mapped[str] = mapped_column(sa.String(80))
    channel: Mapped[str] = mapped_column(sa.String(16))
    detail: Mapped[str] = mapped_column(sa.Text)
    sealed: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16))
    attempts: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[str] = mapped_column(sa.String(32))
    updated_at: Mapped[str] = mapped_column(sa.String(32))
    sent_at: Mapped[str | None] = mapped_column(sa.String(32))
    #: the last failure's one line (no personal data)
    error: Mapped[str | None] = mapped_column(sa.String(400))


class OutboundNoticeSubject(Base):
    """The keyed hashes of the people an Art. 19 notice told about: the disclosures made to
    that recipient before the notice are not notified again by a later request."""

    __tablename__ = "outbound_notice_subject"
    __table_args__ = (sa.Index("ix_outbound_notice_subject_subject", "subject"),)

    notice_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(sa.String(80), primary_key=True)

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

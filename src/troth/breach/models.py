"""troth's state for breaches (migration ``0011_breaches``): no personal data, counts only."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from troth.store.models import Base


class Breach(Base):
    __tablename__ = "breach"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    detected_at: Mapped[str] = mapped_column(sa.String(32))
    recorded_at: Mapped[str] = mapped_column(sa.String(32))
    updated_at: Mapped[str] = mapped_column(sa.String(32))
    description: Mapped[str] = mapped_column(sa.Text)
    #: confidentiality, integrity, availability (comma-separated)
    nature: Mapped[str] = mapped_column(sa.String(40))
    tables: Mapped[str] = mapped_column(sa.Text)  # JSON list of dataset.table
    categories: Mapped[str] = mapped_column(sa.Text)  # JSON list of category keys
    affected: Mapped[str] = mapped_column(sa.Text)  # JSON {identity table: people}
    #: unknown, unlikely (no notification), risk (authority), high (authority and people)
    risk: Mapped[str] = mapped_column(sa.String(20))
    #: open, contained, closed
    status: Mapped[str] = mapped_column(sa.String(20))
    contained_at: Mapped[str | None] = mapped_column(sa.String(32))
    authority_notified_at: Mapped[str | None] = mapped_column(sa.String(32))
    people_notified_at: Mapped[str | None] = mapped_column(sa.String(32))
    closed_at: Mapped[str | None] = mapped_column(sa.String(32))

"""troth's state for retention: runs, their progress per binding, and person (litigation) holds.

Migration ``0004_retention``. No personal data: person holds store troth's keyed hash of an
identity value (``h:<hex>``) or a row key, never the value.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from troth.store.models import Base, BigInt


class RetentionRun(Base):
    """One ``troth retention run`` (or scheduled sweep)."""

    __tablename__ = "retention_run"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    started_at: Mapped[str] = mapped_column(sa.String(32))
    finished_at: Mapped[str | None] = mapped_column(sa.String(32))
    #: running, done, interrupted, failed
    status: Mapped[str] = mapped_column(sa.String(20))
    dry_run: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    actor: Mapped[str] = mapped_column(sa.String(200))
    rules: Mapped[str] = mapped_column(sa.Text)  # comma-separated rule ids


class RetentionProgress(Base):
    """How far a run got on one binding (rule x table)."""

    __tablename__ = "retention_progress"

    run_id: Mapped[int] = mapped_column(
        BigInt, sa.ForeignKey("retention_run.id", ondelete="CASCADE"), primary_key=True
    )
    binding: Mapped[str] = mapped_column(sa.String(400), primary_key=True)
    rule_id: Mapped[str] = mapped_column(sa.String(80))
    status: Mapped[str] = mapped_column(sa.String(20))
    cutoff: Mapped[str] = mapped_column(sa.String(32))
    deleted: Mapped[int] = mapped_column(sa.Integer, default=0)
    anonymised: Mapped[int] = mapped_column(sa.Integer, default=0)
    held: Mapped[int] = mapped_column(sa.Integer, default=0)
    batches: Mapped[int] = mapped_column(sa.Integer, default=0)
    longest_batch_ms: Mapped[float] = mapped_column(sa.Float, default=0.0)
    duration_ms: Mapped[float] = mapped_column(sa.Float, default=0.0)


class RetentionPersonHold(Base):
    """A litigation hold on one person (by identity hash) or one row (by key)."""

    __tablename__ = "retention_person_hold"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    #: "identity" (identity + value_hash) or "row" (dataset + table_name + row_key)
    kind: Mapped[str] = mapped_column(sa.String(10))
    identity: Mapped[str | None] = mapped_column(sa.String(80))
    value_hash: Mapped[str | None] = mapped_column(sa.String(80), index=True)
    dataset: Mapped[str | None] = mapped_column(sa.String(80))
    table_name: Mapped[str | None] = mapped_column(sa.String(128))
    row_key: Mapped[str | None] = mapped_column(sa.String(200))
    basis: Mapped[str] = mapped_column(sa.String(40))
    reason: Mapped[str] = mapped_column(sa.String(400))
    law: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[str] = mapped_column(sa.String(32))
    released_at: Mapped[str | None] = mapped_column(sa.String(32))

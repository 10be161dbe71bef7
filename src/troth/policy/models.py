"""troth's state for policies: the published versions (migration ``0010_policy_versions``) and
the notices of their changes (``0014_policy_notices``)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from troth.store.models import Base, BigInt


class PolicyVersion(Base):
    __tablename__ = "policy_version"
    __table_args__ = (
        sa.UniqueConstraint("policy_id", "version", name="uq_policy_version_policy_id_version"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    policy_id: Mapped[str] = mapped_column(sa.String(80))
    version: Mapped[str] = mapped_column(sa.String(40))
    effective: Mapped[str | None] = mapped_column(sa.String(32))
    published_at: Mapped[str] = mapped_column(sa.String(32))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    source: Mapped[str] = mapped_column(sa.Text)
    impact: Mapped[str] = mapped_column(sa.Text)  # JSON list of Impact
    actor: Mapped[str] = mapped_column(sa.String(200))


class PolicyNotice(Base):
    """A notice of a published policy change sent to one address (migration
    ``0014_policy_notices``): troth's keyed hash of the address, never the address, so a run
    that is repeated sends nobody a second notice."""

    __tablename__ = "policy_notice"
    __table_args__ = (
        sa.UniqueConstraint(
            "policy_id", "version", "recipient", name="uq_policy_notice_policy_id_version_recipient"
        ),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    policy_id: Mapped[str] = mapped_column(sa.String(80))
    version: Mapped[str] = mapped_column(sa.String(40))
    recipient: Mapped[str] = mapped_column(sa.String(80))  # keyed hash of the address
    kind: Mapped[str] = mapped_column(sa.String(16))  # ask_again | tell
    sent_at: Mapped[str] = mapped_column(sa.String(32))

"""troth's state for data-subject requests (tables created by migration ``0002``).

No table holds an identity value: requests carry keyed hashes only. The key set an erasure
resolved (primary keys of the person's rows) is kept until the request completes, so a run that
died can finish without finding the rows again (after masking, the identity no longer matches).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from troth.store.models import Base


class DsrRequest(Base):
    """One data-subject request and where it is in its lifecycle."""

    __tablename__ = "dsr_request"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    identity_names: Mapped[str] = mapped_column(sa.String(400))
    #: keyed hash of the whole identity set: finds the open request when it is run again
    identity_set: Mapped[str] = mapped_column(sa.String(80), index=True)
    jurisdiction: Mapped[str | None] = mapped_column(sa.String(20))
    received_at: Mapped[str] = mapped_column(sa.String(32))
    due_at: Mapped[str] = mapped_column(sa.String(32))
    updated_at: Mapped[str] = mapped_column(sa.String(32))
    #: when the key set was resolved and saved (erasure), before the first write
    resolved_at: Mapped[str | None] = mapped_column(sa.String(32))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    retryable: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: JSON: counts per table, kept fields and their reasons (never values)
    result: Mapped[str | None] = mapped_column(sa.Text)
    #: while paused (waiting for the person): since when, and the status it resumes to
    paused_at: Mapped[str | None] = mapped_column(sa.String(32))
    paused_from: Mapped[str | None] = mapped_column(sa.String(20))
    #: when the due date was extended (once per request)
    extended_at: Mapped[str | None] = mapped_column(sa.String(32))


class DsrIdentity(Base):
    """The keyed hash of one identity of a request."""

    __tablename__ = "dsr_identity"

    request_id: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("dsr_request.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    hash: Mapped[str] = mapped_column(sa.String(80), primary_key=True)


class DsrKeySet(Base):
    """The keys an erasure finds one table's rows by: resolved once, before the first write."""

    __tablename__ = "dsr_keyset"

    request_id: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("dsr_request.id", ondelete="CASCADE"), primary_key=True
    )
    table_ref: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    column: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    #: set when the keys are the identity's own values: those are not stored (given on re-run)
    identity: Mapped[str | None] = mapped_column(sa.String(80))
    keys: Mapped[str] = mapped_column(sa.Text)


class DsrStoreProgress(Base):
    """One store of an erasure: ``done`` once its transaction committed."""

    __tablename__ = "dsr_store_progress"

    request_id: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("dsr_request.id", ondelete="CASCADE"), primary_key=True
    )
    connection: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20))
    counts: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[str] = mapped_column(sa.String(32))


class Restriction(Base):
    """A person whose processing is restricted, by troth's keyed hash of one identity."""

    __tablename__ = "dsr_restriction"

    identity_hash: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    identity: Mapped[str] = mapped_column(sa.String(80))
    request_id: Mapped[str | None] = mapped_column(sa.String(32))
    restricted_at: Mapped[str] = mapped_column(sa.String(32))

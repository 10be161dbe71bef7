"""Tables of the privacy centre (created by migration ``0006``)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from troth.dsr import models as _dsr_models  # noqa: F401  (dsr_request, which its key refers to)
from troth.store.models import Base


class CentreCode(Base):
    """A one-time code sent to a person: only its keyed hash and the encrypted request it unlocks.

    ``tries`` counts every attempt; a row whose ``used_at`` is set, whose ``tries`` reached the
    limit or whose ``expires_at`` passed unlocks nothing.
    """

    __tablename__ = "centre_code"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    purpose: Mapped[str] = mapped_column(sa.String(20))
    identity_hash: Mapped[str] = mapped_column(sa.String(80), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(80))
    created_at: Mapped[str] = mapped_column(sa.String(32))
    expires_at: Mapped[str] = mapped_column(sa.String(32), index=True)
    tries: Mapped[int] = mapped_column(sa.Integer, default=0)
    used_at: Mapped[str | None] = mapped_column(sa.String(32))
    #: what the code unlocks (kind, identity, details), encrypted
    payload: Mapped[str] = mapped_column(sa.Text)


class CentreRequest(Base):
    """A request filed through the centre: how to reach the person (encrypted) and its flags."""

    __tablename__ = "centre_request"

    request_id: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("dsr_request.id", ondelete="CASCADE"), primary_key=True
    )
    #: keyed hash of the status page token (the token itself is only in the person's link)
    token_hash: Mapped[str] = mapped_column(sa.String(80), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(20))
    #: the e-mail address or phone number to write to, encrypted; NULL once purged
    contact: Mapped[str | None] = mapped_column(sa.Text)
    #: details of the request (fields to correct, purpose objected to, scope), encrypted JSON
    details: Mapped[str | None] = mapped_column(sa.Text)
    #: the team must verify the person before the request runs (phone only, or erasure)
    manual_verification: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[str] = mapped_column(sa.String(32))
    purged_at: Mapped[str | None] = mapped_column(sa.String(32))


class CentreRate(Base):
    """How many attempts one bucket (a keyed hash of an identity or a client address) made in
    one window; shared by every process through the state DB."""

    __tablename__ = "centre_rate"

    bucket: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    slot: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(sa.Integer, default=0)


class CentreDownload(Base):
    """An access copy waiting for its person: a single-use link, the file encrypted at rest."""

    __tablename__ = "centre_download"

    #: keyed hash of the link's token (the token itself is only in the person's notice)
    token_hash: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    request_id: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("dsr_request.id", ondelete="CASCADE"), index=True
    )
    #: file name in the centre's folder (``TROTH_HOME/centre``), encrypted content
    file: Mapped[str] = mapped_column(sa.String(80))
    created_at: Mapped[str] = mapped_column(sa.String(32))
    expires_at: Mapped[str] = mapped_column(sa.String(32), index=True)
    used_at: Mapped[str | None] = mapped_column(sa.String(32))
    deleted_at: Mapped[str | None] = mapped_column(sa.String(32))

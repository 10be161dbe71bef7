"""The access copy: encrypted at rest, fetched once through a link that expires, after a fresh code.

>>> url = Downloads(centre, settings.home / "centre").publish(request_id, export_zip)

:meth:`Downloads.publish` encrypts the zip an access request produced (:mod:`troth.dsr.export`)
into the centre's folder, removes the plain zip, and sends the "completed" notice with the link.
Following the link asks for a new one-time code sent to the requester; the right code returns the
file once and deletes it. :meth:`Downloads.expire` deletes copies nobody fetched in time. Each step
is in the audit ledger (``centre.export_stored``, ``centre.export_downloaded``,
``centre.export_expired``) with the request id only.
"""

from __future__ import annotations

import os
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from troth.audit import Event, keyed_hash
from troth.centre.codes import LIFETIME, Outcome
from troth.centre.crypto import Box, derive
from troth.centre.models import CentreDownload
from troth.centre.ratelimit import Limit, hit
from troth.centre.service import Centre, RateLimitedError
from troth.dsr.requests import Kind, Status
from troth.errors import RequestError
from troth.notify.base import notifier_for
from troth.notify.notices import send_notice
from troth.store.db import connect

TABLE: sa.Table = CentreDownload.__table__  # type: ignore[assignment]
LINK_LIFETIME = timedelta(days=7)
#: codes asked for one download per hour
CODE_LIMIT = Limit(5, 3600)


class Downloads:
    def __init__(
        self, centre: Centre, folder: Path, *, lifetime: timedelta = LINK_LIFETIME
    ) -> None:
        self.centre = centre
        self.folder = folder
        self.lifetime = lifetime
        self._box = Box(centre.secret, "export")
        self._key = derive(centre.secret, "download token")

    def _hash(self, token: str) -> str:
        return keyed_hash(self._key, token)

    def _evidence(self, kind: str, request_id: str, **data: Any) -> None:
        event = Event(
            kind, {"request_id": request_id, **data}, "privacy-centre", f"dsr:{request_id}"
        )
        self.centre.ledger.append_many([event])

    def publish(self, request_id: str, export: Path, *, base_url: str | None = None) -> str:
        """Store the completed access request's zip encrypted, notify the person; the link."""
        info = self.centre.requests.get(request_id)
        if info.kind != Kind.access.value or info.status != Status.completed.value:
            raise RequestError(
                f"request {request_id} is not a completed access request",
                where="privacy centre",
                fix="publish the copy after `troth dsr access` completed the request",
            )
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"{uuid.uuid4().hex}.bin"
        sealed = self._box.seal_bytes(export.read_bytes())
        fd = os.open(self.folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(sealed)
        export.unlink()  # the plain copy is gone; only the encrypted one remains
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        expires = now + self.lifetime
        with connect(self.centre.engine) as conn, conn.begin():
            conn.execute(
                sa.insert(TABLE),
                {
                    "token_hash": self._hash(token),
                    "request_id": request_id,
                    "file": name,
                    "created_at": now.isoformat(),
                    "expires_at": expires.isoformat(),
                    "used_at": None,
                    "deleted_at": None,
                },
            )
        self._evidence("centre.export_stored", request_id, expires_at=expires.isoformat())
        url = f"{self.centre.base(base_url)}/privacy/download/{token}"
        self.centre.notify(
            request_id,
            "completed",
            base_url=base_url,
            extra={"download_url": url, "expires": expires.date().isoformat()},
        )
        return url

    def find(self, token: str, *, now: datetime | None = None) -> dict[str, Any] | None:
        """The download of *token* while it can still be fetched, else ``None``."""
        if not token or len(token) > 100:
            return None
        moment = (now or datetime.now(UTC)).isoformat()
        with connect(self.centre.engine) as conn:
            row = (
                conn.execute(sa.select(TABLE).where(TABLE.c.token_hash == self._hash(token)))
                .mappings()
                .first()
            )
        if row is None or row["used_at"] or row["deleted_at"] or row["expires_at"] < moment:
            return None
        return dict(row)

    def ask_code(self, token: str) -> str | None:
        """Send a fresh code to the requester for this download; the code's id."""
        row = self.find(token)
        if row is None:
            return None
        request_id = str(row["request_id"])
        if not hit(self.centre.engine, "dl:" + row["token_hash"], CODE_LIMIT):
            raise RateLimitedError("too many codes were asked for this download; wait an hour")
        contact = self.centre.filed(request_id)
        if contact["contact"] is None:
            return None
        code_id, code = self.centre.codes.issue(
            "download", str(row["token_hash"]), {"token_hash": row["token_hash"]}
        )
        send_notice(
            self.centre.notices,
            notifier_for(contact["channel"], self.centre.env),
            self.centre.ledger,
            name="code",
            to=str(self.centre.box.open(contact["contact"])),
            channel=contact["channel"],
            request_id=request_id,
            context={
                "organisation": self.centre.organisation,
                "code": code,
                "minutes": int(LIFETIME.total_seconds() // 60),
            },
        )
        return code_id

    def take(self, token: str, code_id: str, code: str) -> tuple[Outcome, int, bytes | None]:
        """With the right code: the zip, once; its file is deleted. ``(outcome, tries left,
        content)``."""
        row = self.find(token)
        if row is None:
            return Outcome.unknown, 0, None
        checked = self.centre.codes.check(code_id, "download", code)
        if checked.outcome is not Outcome.ok:
            return checked.outcome, checked.tries_left, None
        if (checked.payload or {}).get("token_hash") != row["token_hash"]:
            return Outcome.unknown, 0, None
        now = datetime.now(UTC).isoformat()
        with connect(self.centre.engine) as conn, conn.begin():
            won = conn.execute(
                sa.update(TABLE)
                .where(TABLE.c.token_hash == row["token_hash"], TABLE.c.used_at.is_(None))
                .values(used_at=now)
            )
            if won.rowcount != 1:
                return Outcome.locked, 0, None
        path = self.folder / str(row["file"])
        content = self._box.open_bytes(path.read_bytes())
        self._delete(row, now)
        self._evidence("centre.export_downloaded", str(row["request_id"]))
        return Outcome.ok, checked.tries_left, content

    def _delete(self, row: dict[str, Any] | sa.RowMapping, moment: str) -> None:
        (self.folder / str(row["file"])).unlink(missing_ok=True)
        with connect(self.centre.engine) as conn, conn.begin():
            conn.execute(
                sa.update(TABLE)
                .where(TABLE.c.token_hash == row["token_hash"])
                .values(deleted_at=moment)
            )

    def expire(self, *, now: datetime | None = None) -> int:
        """Delete every copy whose link expired unused; one ledger entry per request."""
        moment = (now or datetime.now(UTC)).isoformat()
        with connect(self.centre.engine) as conn:
            rows = (
                conn.execute(
                    sa.select(TABLE).where(
                        TABLE.c.expires_at < moment, TABLE.c.deleted_at.is_(None)
                    )
                )
                .mappings()
                .all()
            )
        for row in rows:
            self._delete(row, moment)
            self._evidence("centre.export_expired", str(row["request_id"]))
        return len(rows)

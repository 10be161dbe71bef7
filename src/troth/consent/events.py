"""Value types of the consent ledger: event kinds, events to record, stored events and states."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from troth.errors import ConsentError

if TYPE_CHECKING:
    from troth.consent.subjects import SubjectRef


class EventKind(StrEnum):
    given = "given"
    refused = "refused"
    withdrawn = "withdrawn"
    expired = "expired"


#: tie-break rank for events with the same event time: a denial wins over a grant
KIND_RANK = {
    EventKind.given: 0,
    EventKind.expired: 1,
    EventKind.refused: 2,
    EventKind.withdrawn: 3,
}


def parse_kind(value: str) -> EventKind:
    try:
        return EventKind(value)
    except ValueError:
        raise ConsentError(
            f"unknown consent event kind {value!r}",
            where="consent event",
            fix=f"use one of: {', '.join(k.value for k in EventKind)}",
        ) from None


#: control characters and lone surrogates: no text field of the ledger may hold them
_BAD_TEXT = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
#: event times more than this far from now are refused (``TROTH_CONSENT_MAX_*``)
MAX_FUTURE = timedelta(minutes=5)
MAX_PAST = timedelta(days=3650)


def check_text(value: str, where: str, *, max_length: int | None = None) -> None:
    """Refuse text that is too long, has control characters (NUL...) or invalid Unicode."""
    if max_length is not None and len(value) > max_length:
        raise ConsentError(f"{where} is longer than {max_length} characters", where="consent event")
    if _BAD_TEXT.search(value):
        raise ConsentError(
            f"{where} contains a control character (such as NUL) or invalid Unicode",
            where="consent event",
            fix=f"send {where} as plain text",
        )


def parse_time(moment: datetime | str | None, now: datetime) -> datetime:
    """*moment* (default: *now*) as an aware UTC datetime; :class:`ConsentError` if invalid."""
    if moment is None:
        return now
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            raise ConsentError(
                "event time is not an ISO-8601 date-time",
                where="consent event time",
                fix="send e.g. 2026-01-31T12:00:00Z",
            ) from None
    if moment.tzinfo is None:
        raise ConsentError(
            "event time has no time zone",
            where="consent event time",
            fix="send a UTC time such as 2026-01-31T12:00:00Z",
        )
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset
        raise ConsentError(
            "event time is out of range", where="consent event time", fix="send a UTC time"
        ) from None


@dataclass(frozen=True)
class TimeWindow:
    """Event times troth accepts: from *past* before now to *future* after (clock skew)."""

    future: timedelta = MAX_FUTURE
    past: timedelta = MAX_PAST

    def check(self, moment: datetime, now: datetime) -> None:
        if moment - now > self.future:
            raise ConsentError(
                f"event time is more than {_span(self.future)} in the future",
                where="consent event time",
                fix="send the time the choice was made, from a clock in sync "
                "(TROTH_CONSENT_MAX_FUTURE_SECONDS sets the allowed skew)",
            )
        if now - moment > self.past:
            raise ConsentError(
                f"event time is more than {_span(self.past)} in the past",
                where="consent event time",
                fix="check the date; to import older events set TROTH_CONSENT_MAX_PAST_DAYS",
            )


def _span(delta: timedelta) -> str:
    if delta.days >= 2:
        return f"{delta.days} days"
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} minutes" if seconds >= 120 else f"{seconds} seconds"


def utc_iso(moment: datetime | str | None) -> str:
    """*moment* (default: now) as UTC ISO-8601 with microseconds, which sorts as text."""
    return parse_time(moment, datetime.now(UTC)).isoformat(timespec="microseconds")


def text_hash(text: str) -> str:
    """SHA-256 hex of a notice text exactly as shown (whitespace-normalised)."""
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


@dataclass(frozen=True)
class NewEvent:
    """A consent event to record; *subject* is an identifier (troth hashes it) or a
    :class:`~troth.consent.subjects.SubjectRef` troth made."""

    subject: str | SubjectRef
    consent_id: str
    kind: EventKind | str
    channel: str | None = None
    event_time: datetime | str | None = None
    notice_version: str | None = None
    notice_hash: str | None = None
    collection_point: str | None = None
    jurisdiction: str | None = None
    gpc: bool = False
    user_agent: str | None = None
    ip: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class StoredEvent:
    """A consent event as the ledger holds it (no personal data)."""

    id: int
    event_uid: str
    subject: str
    consent_id: str
    kind: EventKind
    notice_version: str
    notice_hash: str
    event_time: str
    recorded_at: str
    channel: str
    collection_point: str | None
    jurisdiction: str | None
    gpc: bool
    user_agent: str | None
    ip_hash: str | None
    actor: str

    def order_key(self) -> tuple[str, int, str]:
        """Latest event time wins; ties: denial over grant, then the event's content hash.

        An event counts as no later than when troth recorded it: a grant dated in the future
        cannot outrank a withdrawal recorded after it.
        """
        return (min(self.event_time, self.recorded_at), KIND_RANK[self.kind], self.event_uid)

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_uid,
            "subject": self.subject,
            "consent_id": self.consent_id,
            "kind": self.kind.value,
            "notice_version": self.notice_version,
            "notice_hash": self.notice_hash,
            "event_time": self.event_time,
            "recorded_at": self.recorded_at,
            "channel": self.channel,
            "collection_point": self.collection_point,
            "jurisdiction": self.jurisdiction,
            "gpc": self.gpc,
            "user_agent": self.user_agent,
            "ip_hash": self.ip_hash,
            "actor": self.actor,
        }


@dataclass(frozen=True)
class ConsentState:
    """The current state of one consent for one subject (from its latest event)."""

    consent_id: str
    kind: EventKind
    notice_version: str
    event_time: str
    event_uid: str
    channel: str

    @property
    def given(self) -> bool:
        return self.kind is EventKind.given

    def to_dict(self) -> dict[str, Any]:
        return {
            "consent_id": self.consent_id,
            "state": self.kind.value,
            "given": self.given,
            "notice_version": self.notice_version,
            "event_time": self.event_time,
            "event_id": self.event_uid,
            "channel": self.channel,
        }


def fold(events: list[StoredEvent]) -> dict[str, ConsentState]:
    """Current state per consent id: the same result whatever order the events arrived in."""
    latest: dict[str, StoredEvent] = {}
    for ev in events:
        cur = latest.get(ev.consent_id)
        if cur is None or ev.order_key() > cur.order_key():
            latest[ev.consent_id] = ev
    return {
        cid: ConsentState(cid, e.kind, e.notice_version, e.event_time, e.event_uid, e.channel)
        for cid, e in sorted(latest.items())
    }

"""One ledger entry, and how it is checked before it is written."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from troth.audit.guard import check_data, check_text
from troth.errors import AuditError

_quote = json.encoder.encode_basestring  # JSON string, UTF-8 kept
_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class Entry:
    """An entry as stored: ``data_json`` is the canonical JSON text the MAC covers, ``hash`` the
    MAC and ``ref`` the audited row it is about (``consent_event:<uid>``), if any."""

    seq: int
    ts: str
    kind: str
    actor: str
    subject: str | None
    data_json: str
    prev: str
    hash: str
    ref: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.data_json)
        return value

    def to_json_line(self) -> str:
        """One JSONL line with every field; ``data`` is embedded as the exact hashed text."""
        q = _quote
        subject = "null" if self.subject is None else q(self.subject)
        ref = "null" if self.ref is None else q(self.ref)
        return (
            f'{{"seq": {int(self.seq)}, "ts": {q(self.ts)}, "kind": {q(self.kind)}, '
            f'"actor": {q(self.actor)}, "subject": {subject}, "data": {self.data_json}, '
            f'"prev": {q(self.prev)}, "hash": {q(self.hash)}, "ref": {ref}}}'
        )

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Entry:
        seq, ts, kind, actor, subject, data_json, prev, hash_, ref = row
        return cls(int(seq), ts, kind, actor, subject, data_json, prev, hash_, ref)


def check_fields(kind: str, data: Any, actor: str, subject: str | None) -> None:
    """Raise :class:`AuditError` for a malformed kind/actor/subject or personal data."""
    if not isinstance(kind, str) or len(kind) > 100 or not _KIND.match(kind):
        raise AuditError(
            f"audit entry kind {kind!r} is not a dotted lower-case name",
            where="audit entry kind",
            fix="use a kind like 'policy.version', 'dsr.transition' or 'consent.given'",
        )
    for field, value in (("actor", actor), ("subject", subject)):
        if value is None and field == "subject":
            continue
        if not isinstance(value, str) or not value or len(value) > MAX_TEXT or "|" in value:
            raise AuditError(
                f"the {field} of a {kind!r} entry must be 1-{MAX_TEXT} characters without '|'",
                where=f"audit entry {field}",
                fix="pass an id such as 'cli' or 'api-key:abc', or a keyed hash",
            )
        check_text(value, field=field, kind=kind)
    check_data(data, kind=kind)

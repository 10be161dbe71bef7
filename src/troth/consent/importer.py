"""Import consents a company already holds (``troth consent import``), once, from a CSV file.

Columns (header row required): ``subject`` (the person's identifier, e.g. an e-mail address),
``consent`` (a consent id of the policy), ``state`` (``given``, ``refused`` or ``withdrawn``),
``time`` (when it happened, ISO-8601 with a time zone), and optionally ``source`` (where it was
collected, e.g. ``newsletter-2019``), ``notice_version`` and ``notice_hash`` (the notice shown
then; the current notice when absent). Each event is recorded with its original time, channel
``import`` and its source as the collection point, so decisions start from what the company holds
and the ledger shows where each consent came from. Errors name the file and line, never a value.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from troth.audit import Event
from troth.consent.events import EventKind, NewEvent
from troth.consent.ledger import ConsentLedger
from troth.errors import ConsentError, TrothError

REQUIRED = ("subject", "consent", "state", "time")
STATES = (EventKind.given.value, EventKind.refused.value, EventKind.withdrawn.value)
BATCH = 1000


@dataclass(frozen=True)
class ImportResult:
    rows: int
    recorded: int
    file_sha256: str
    dry_run: bool


def read_events(path: Path, *, source: str | None = None) -> Iterator[tuple[int, NewEvent]]:
    """``(line, event)`` for each row of the CSV file; a bad row raises with its line."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ConsentError(f"cannot read the file ({exc.strerror})", where=str(path)) from exc
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ConsentError(
                f"the CSV file has no column {', '.join(missing)}",
                where=f"{path}:1",
                fix=f"the header must name {', '.join(REQUIRED)} (and optionally source, "
                "notice_version, notice_hash)",
            )
        for row in reader:
            line = reader.line_num
            state = (row.get("state") or "").strip().lower()
            if state not in STATES:
                raise ConsentError(
                    "the state is not one of " + ", ".join(STATES),
                    where=f"{path}:{line}",
                    fix="write given, refused or withdrawn",
                )
            if not (row.get("time") or "").strip():
                raise ConsentError(
                    "the time is empty", where=f"{path}:{line}", fix="e.g. 2024-05-01T09:30:00Z"
                )
            yield (
                line,
                NewEvent(
                    (row.get("subject") or "").strip(),
                    (row.get("consent") or "").strip(),
                    state,
                    channel="import",
                    event_time=row["time"].strip(),
                    notice_version=(row.get("notice_version") or "").strip() or None,
                    notice_hash=(row.get("notice_hash") or "").strip() or None,
                    collection_point=(row.get("source") or "").strip() or source or None,
                ),
            )


def import_csv(
    ledger: ConsentLedger,
    path: Path,
    *,
    source: str | None = None,
    dry_run: bool = False,
    actor: str = "import",
) -> ImportResult:
    """Check every row first (nothing is written when one is wrong), then record them in
    batches; replaying the same file records nothing twice (events are content-addressed)."""
    events: list[NewEvent] = []
    for line, event in read_events(path, source=source):
        try:
            ledger.check(event, actor=actor)  # consent id, time window, text
        except TrothError as exc:
            raise ConsentError(exc.message, where=f"{path}:{line}", fix=exc.fix) from None
        events.append(event)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if dry_run:
        return ImportResult(len(events), 0, digest, True)
    before = ledger.count()
    for i in range(0, len(events), BATCH):
        ledger.record_many(events[i : i + BATCH], actor=actor)
    recorded = ledger.count() - before
    ledger.audit.append_many(
        [
            Event(
                "consent.imported",
                {"rows": len(events), "recorded": recorded, "file_sha256": digest},
                actor,
            )
        ]
    )
    return ImportResult(len(events), recorded, digest, False)

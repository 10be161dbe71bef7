"""What a column holds: from its name and type (:mod:`troth.datamap.guesses`) and from its values
(the detectors), mapped to the fideslang data categories, with a confidence.

Values are added one at a time to a :class:`ColumnEvidence` (counts only, constant memory: a
streamed full scan and a sample are classified the same way), then :func:`classify` decides:

* most values (``WHOLE_SHARE``) are each one entity: the column is of that entity's category
  (``evidence: values``; ``name+values`` when the name says the same);
* else the name's guess, if any (``evidence: name``; below ``PERSONAL_CONFIDENCE`` for a name
  that is personal only on a person's table, such as ``name`` or ``address``, unless the values
  show it);
* a text column of long or many-word values is *free text*; the categories of the identifiers
  found inside it are listed (``found``) whatever the column's own category is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from troth.datamap.guesses import Scope, guess_column, is_time_type
from troth.datamap.model import is_personal_category
from troth.discovery.detectors.google import RESTRICTED_ENTITIES
from troth.discovery.engine import Scanner, default_scanner
from troth.policy.taxonomy import covers

#: the share of values that must each be one entity for the column to be of its category
WHOLE_SHARE = 0.5
#: a value is "one entity" when a span covers this share of it (trimmed)
_COVER = 0.9
_FREE_TEXT_LENGTH = 40
_FREE_TEXT_WORDS = 4
_TEXT_TYPES = ("char", "text", "clob", "string", "json")
_NOT_READ = ("bool", "decimal", "numeric", "float", "double", "real", "blob", "bytea", "binary")
#: what a column that is not free text must show before its values count as personal data
MIN_FOUND = 2
MIN_SHARE = 0.05
#: below this, a classification is reported but not taken as personal data
PERSONAL_CONFIDENCE = 0.5


def is_text_type(data_type: str | None) -> bool:
    return data_type is None or any(t in data_type.lower() for t in _TEXT_TYPES)


@dataclass
class ColumnEvidence:
    """Counts of what the detectors found in a column's values (never the values)."""

    values: int = 0
    #: category -> values that are entirely one entity of it
    whole: Counter[str] = field(default_factory=Counter)
    #: category -> values that contain at least one entity of it
    found: Counter[str] = field(default_factory=Counter)
    #: entity type -> values that contain it
    entities: Counter[str] = field(default_factory=Counter)
    total_length: int = 0
    wordy: int = 0
    #: words read before each value by the detectors' context checks (the column's name)
    context: str = ""

    def add(self, value: object, scanner: Scanner | None = None) -> None:
        if value is None or isinstance(value, bool | date | datetime | time | float | Decimal):
            return
        if isinstance(value, bytes | bytearray | memoryview):
            return
        text = value if isinstance(value, str) else str(value)
        text = text.strip()
        if not text:
            return
        self.values += 1
        self.total_length += len(text)
        if text.count(" ") >= _FREE_TEXT_WORDS - 1 and (
            sum(1 for w in text.split() if any(ch.isalpha() for ch in w)) >= _FREE_TEXT_WORDS
        ):
            self.wordy += 1  # a sentence, not a number written in groups
        spans = (scanner or default_scanner()).scan(text, self.context)
        if not spans:
            return
        cats = {s.category for s in spans}
        self.found.update(cats)
        self.entities.update({s.entity for s in spans})
        if len(spans) == 1 and spans[0].end - spans[0].start >= _COVER * len(text):
            self.whole[spans[0].category] += 1


@dataclass(frozen=True)
class Classification:
    """A column's proposed category and what supports it."""

    column: str
    data_type: str | None
    category: str | None
    confidence: float
    #: ``values``, ``name``, ``name+values`` or ``none``
    evidence: str
    free_text: bool
    sampled: int
    #: category -> sampled values containing it
    found: dict[str, int]
    #: entity type -> sampled values containing it
    entities: dict[str, int]

    @property
    def personal(self) -> bool:
        """The column's category, or something found in its values, is personal data."""
        own = (
            self.category is not None
            and is_personal_category(self.category)
            and self.confidence >= PERSONAL_CONFIDENCE
        )
        return own or bool(self.personal_in_values)

    @property
    def personal_in_values(self) -> list[str]:
        """Personal categories found in enough values (any in free text; else at least
        ``MIN_FOUND`` values and ``MIN_SHARE`` of them), most frequent first."""
        least = 1 if self.free_text else max(MIN_FOUND, MIN_SHARE * self.sampled)
        return [
            c
            for c, n in sorted(self.found.items(), key=lambda x: -x[1])
            if is_personal_category(c) and n >= least
        ]

    @property
    def restricted(self) -> list[str]:
        """Entity types of restricted-source data (Google API shapes) found in the values."""
        return sorted(e for e in self.entities if e in RESTRICTED_ENTITIES)

    def as_dict(self) -> dict[str, object]:
        return {
            "column": self.column,
            "type": self.data_type,
            "category": self.category,
            "confidence": self.confidence,
            "evidence": self.evidence,
            "free_text": self.free_text,
            "sampled": self.sampled,
            "found": dict(self.found),
            "entities": dict(self.entities),
        }


def reads_values(data_type: str | None) -> bool:
    """Whether a column's values are worth scanning: not a date/time, number or boolean (SQLite
    returns timestamps as text; their digits are never an identifier)."""
    low = (data_type or "").lower()
    return not (is_time_type(low) or any(t in low for t in _NOT_READ))


def classify(name: str, data_type: str | None, ev: ColumnEvidence) -> Classification:
    """The category of column ``name`` of type ``data_type`` given the evidence of its values."""
    guess = guess_column(name, data_type)
    by_name = guess.category if guess else None
    free_text = (
        is_text_type(data_type)
        and ev.values > 0
        and (ev.total_length / ev.values >= _FREE_TEXT_LENGTH or ev.wordy / ev.values >= 0.5)
    )
    category: str | None = None
    confidence = 0.0
    evidence = "none"
    if ev.whole and not free_text:
        top, hits = ev.whole.most_common(1)[0]
        share = hits / ev.values
        if share >= WHOLE_SHARE:
            category = top
            confidence = 0.5 + share / 2
            evidence = "values"
            if by_name and (covers(by_name, top) or covers(top, by_name)):
                category = by_name if covers(top, by_name) else top
                confidence = min(1.0, confidence + 0.1)
                evidence = "name+values"
    if category is None and by_name:
        category = by_name
        confidence = 0.7 if ev.found.get(by_name) else 0.6
        evidence = "name"
        if guess is not None and guess.scope is not Scope.anywhere and not ev.found.get(by_name):
            # `name`, `title`, `address`: personal only on a person's table, which the values
            # have not shown
            confidence = 0.4
    if category is None and free_text and any(is_personal_category(c) for c in ev.found):
        category = "user.content.private"
        confidence = 0.6
        evidence = "values"
    return Classification(
        column=name,
        data_type=data_type,
        category=category,
        confidence=round(confidence, 3),
        evidence=evidence,
        free_text=free_text,
        sampled=ev.values,
        found=dict(ev.found),
        entities=dict(ev.entities),
    )

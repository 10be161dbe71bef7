"""The detector protocol, its registry, and what a detector returns.

A detector is declarative: its :class:`Rule` patterns (regular expressions), the context words
that raise its confidence when they stand just before a match, and a validator that checks each
candidate (a checksum, a parse, a word list) and gives its confidence or rejects it. Detectors
never scan text themselves: :class:`troth.discovery.engine.Scanner` compiles the rules of every
detector into ONE regular expression, passes over a text once, and calls a validator only on the
candidates its rules matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple, Protocol, runtime_checkable

from troth.plugins import Registry


@dataclass(frozen=True)
class Rule:
    """One pattern of a detector.

    ``pattern`` is a regular expression without named groups or back-references (it is one
    alternative of a larger pattern; plain groups are fine);
    ``confidence`` is the confidence of a candidate the validator accepts without saying otherwise;
    ``ignore_case`` compiles the pattern case-insensitively (scoped to this rule).
    A match never starts right after a letter or digit (the scanner skips those positions); a
    rule says which characters its matches start with (``first``, ``""`` for any).
    """

    name: str
    #: the characters a match can start with, as the body of a character class (``\\d``,
    #: ``A-Za-z0-9``); the scanner tries a rule only where the text has one of them
    first: str
    pattern: str
    confidence: float
    ignore_case: bool = False
    #: the span is the pattern's first group, not the whole match (a cue word stays outside)
    group: bool = False
    #: the entity type and category of this rule's spans when not the detector's own
    entity: str | None = None
    category: str | None = None
    #: lower-case strings of which a text must hold one for this rule to find anything in it: a
    #: literal its pattern requires (``@``), or the context words its validator requires near a
    #: candidate. The scanner leaves the rule out of a text that holds none of them (a test of
    #: a few substrings instead of the rule's pattern tried at every word); ``()``: every text
    needs: tuple[str, ...] = ()


class Span(NamedTuple):
    """A detected entity: ``text[start:end]``, its entity type and data category, how sure the
    detector is, and the rule that fired (never the value itself, so a span can be logged).

    A named tuple: immutable, and built several times cheaper than a frozen dataclass (the
    scanner makes one per entity found)."""

    start: int
    end: int
    entity: str
    category: str
    confidence: float
    rule: str

    def value(self, text: str) -> str:
        return text[self.start : self.end]


@dataclass(slots=True)
class Candidate:
    """A rule's match, handed to the detector's validator."""

    text: str
    start: int
    end: int
    rule: Rule

    @property
    def value(self) -> str:
        return self.text[self.start : self.end]

    def before(self, window: int = 40) -> str:
        """Up to ``window`` characters before the match, lower-cased."""
        return self.text[max(0, self.start - window) : self.start].lower()

    def after(self, window: int = 40) -> str:
        return self.text[self.end : self.end + window].lower()

    def near(self, words: tuple[str, ...], window: int = 40) -> bool:
        """True when one of ``words`` (lower-case, whole words) stands within ``window``
        characters before the match (or just after it, within a quarter of the window)."""
        if not words:
            return False
        pattern = words_pattern(words)
        return bool(pattern.search(self.before(window)) or pattern.search(self.after(window // 4)))


@cache
def words_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern finding any of ``words`` as whole words (in lower-case text)."""
    alts = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{alts})(?![a-z0-9])")


@runtime_checkable
class Detector(Protocol):
    """A kind of personal data (or secret) found in text."""

    #: the registry name (``email``)
    name: str
    #: the entity type of its spans (``EMAIL_ADDRESS``)
    entity: str
    #: the fideslang data category of what it finds
    category: str
    rules: tuple[Rule, ...]
    #: words that raise a candidate's confidence by ``CONTEXT_BOOST`` when near it
    context: tuple[str, ...]

    def validate(self, candidate: Candidate) -> float | None:
        """The candidate's confidence, or ``None`` when it is not this entity."""
        ...


#: how much a context word near a candidate raises its confidence
CONTEXT_BOOST = 0.25

DETECTORS: Registry[Detector] = Registry("detector", ("troth.discovery.detectors",))

"""The scanner: every detector's rules compiled into ONE regular expression, one pass per text.

The rules of all detectors are the alternatives of a single pattern, ordered by the detectors'
priority (the most specific shapes first: a card number before a phone number). Two things keep
the pass cheap: a match never starts right after a letter or digit (one look-behind skips the
inside of every word), and the alternatives are split by the kind of their first character
(lower-case letter, capital, digit, other), so at the start of a lower-case word only the rules
that can start with one are tried.

For each match, the scanner finds the rule that matched (the first of its section that matches at
that position, as the alternation chose) and asks only that rule's detector to validate it. When
the validator rejects it, the later rules of the section are tried at the same position (a
16-digit run that fails Luhn may still be a phone number) before the pass moves on, so a rejected
candidate never hides a valid one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from troth.discovery.base import (
    CONTEXT_BOOST,
    DETECTORS,
    Candidate,
    Detector,
    Rule,
    Span,
    words_pattern,
)

#: detectors scanned first when several rules can match at one position (lower first)
PRIORITY = {
    "secret": 0,
    "google": 1,
    "email": 2,
    "iban": 3,
    "payment_card": 4,
    "national_id": 5,
    "ip_address": 6,
    "date_of_birth": 7,
    "street_address": 8,
    "postal_code": 8,
    "phone": 9,
    "person_name": 10,
}

#: sections of the combined pattern: the look-ahead that selects it, and sample characters
_SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("lower", "(?=[a-z])", "abcdefghijklmnopqrstuvwxyz"),
    ("upper", "(?=[A-Z])", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    ("digit", "(?=[0-9])", "0123456789"),
    ("other", "(?![a-zA-Z0-9])", "+(-/_.:#$%&*!~[{<'\"\\ÄÖÜÉäöüéßøåñ"),
)


@dataclass(frozen=True)
class _Alt:
    detector: Detector
    rule: Rule
    compiled: re.Pattern[str]
    #: the entity type and category of the rule's spans
    entity: str
    category: str
    #: finds one of the detector's context words (None: it has none)
    context: Callable[[str], re.Match[str] | None] | None


def _admits(rule: Rule, sample: str) -> bool:
    if not rule.first:
        return True
    cls = re.compile(f"[{rule.first}]", re.IGNORECASE if rule.ignore_case else 0)
    return any(cls.match(c) for c in sample)


class Scanner:
    """Scans texts with a set of detectors (all registered ones by default)."""

    def __init__(
        self, detectors: Sequence[str] | None = None, *, min_confidence: float = 0.5
    ) -> None:
        names = list(detectors) if detectors is not None else DETECTORS.names()
        chosen = [DETECTORS.get(n) for n in names]
        chosen.sort(key=lambda d: (PRIORITY.get(d.name, 50), d.name))
        self.detectors = tuple(chosen)
        self.min_confidence = min_confidence
        alts: list[_Alt] = []
        for det in chosen:
            for rule in det.rules:
                flags = re.IGNORECASE if rule.ignore_case else 0
                alts.append(
                    _Alt(
                        det,
                        rule,
                        re.compile(rule.pattern, flags),
                        rule.entity or det.entity,
                        rule.category or det.category,
                        words_pattern(det.context).search if det.context else None,
                    )
                )
        #: the rules of each section, in priority order
        self._sections: list[tuple[_Alt, ...]] = []
        #: group name -> (section, position of its rule in the section)
        self._groups: dict[str, tuple[int, int]] = {}
        branches: list[str] = []
        named: list[str] = []
        for k, (_, ahead, sample) in enumerate(_SECTIONS):
            members = tuple(a for a in alts if _admits(a.rule, sample))
            self._sections.append(members)
            if not members:
                continue
            bodies = [
                f"(?i:{a.rule.pattern})" if a.rule.ignore_case else f"(?:{a.rule.pattern})"
                for a in members
            ]
            branches.append(f"{ahead}(?:{'|'.join(bodies)})")
            for i in range(len(bodies)):
                self._groups[f"s{k}r{i}"] = (k, i)
            named.append(
                f"{ahead}(?:{'|'.join(f'(?P<s{k}r{i}>{b})' for i, b in enumerate(bodies))})"
            )
        pattern = r"(?<![^\W_])(?:{})"
        self._combined = re.compile(pattern.format("|".join(branches)))
        # the same pattern with a named group per rule, matched only where the first found
        # something: which rule matched, in one call
        self._which = re.compile(pattern.format("|".join(named)))
        #: (section, rule) -> the section's later rules as one named pattern (compiled on use)
        self._later: dict[tuple[int, int], re.Pattern[str]] = {}

    def _compile_later(self, k: int, i: int) -> re.Pattern[str]:
        """The rules after rule ``i`` of section ``k``, each a named group, in one pattern: which
        later rule matches at a position, in one call."""
        parts = [
            f"(?P<s{k}r{j}>{'(?i:' if a.rule.ignore_case else '(?:'}{a.rule.pattern}))"
            for j, a in enumerate(self._sections[k])
            if j > i
        ]
        later = re.compile("|".join(parts))
        self._later[k, i] = later
        return later

    @property
    def pattern(self) -> str:
        """The one pattern the scanner passes over a text with."""
        return self._combined.pattern

    def _accept(self, alt: _Alt, m: re.Match[str]) -> Span | None:
        rule = alt.rule
        text = m.string
        start, end = m.span(1) if rule.group else m.span()
        if start < 0:
            return None
        conf = alt.detector.validate(Candidate(text, start, end, rule))
        if conf is None:
            return None
        near = alt.context  # as Candidate.near, without its calls
        if (
            near is not None
            and conf < 1.0
            and (
                near(text[max(0, start - 40) : start].lower()) or near(text[end : end + 10].lower())
            )
        ):
            conf = min(1.0, conf + CONTEXT_BOOST)
        if conf < self.min_confidence:
            return None
        return Span(start, end, alt.entity, alt.category, round(conf, 3), rule.name)

    def scan(self, text: str, context: str = "") -> list[Span]:
        """The spans found in ``text``, in order, not overlapping.

        ``context``: words that stand before the text without being part of it (a column's
        name, ``message id``), read by the detectors' context checks only.
        """
        if context:
            # on a line of its own: read by context checks, never part of a match or a cue
            head = len(context) + 1
            return [
                replace(s, start=s.start - head, end=s.end - head)
                for s in self._scan(f"{context}\n{text}")
                if s.start >= head
            ]
        return self._scan(text)

    def _scan(self, text: str) -> list[Span]:
        out: list[Span] = []
        search = self._combined.search
        sections = self._sections
        groups = self._groups
        which_match = self._which.match
        accept = self._accept
        pos = 0
        while True:
            found = search(text, pos)
            if found is None:
                break
            start = found.start()
            end = start + 1
            which = which_match(text, start)
            k, i = groups[which.lastgroup] if which and which.lastgroup else (0, 0)
            section = sections[k]
            alt = section[i]
            m = found if not alt.rule.group else alt.compiled.match(text, start)
            span = accept(alt, m) if m is not None else None
            if span is not None:
                end = max(found.end(), span.end)
            else:  # the later rules of the section, at the same position
                while span is None and i + 1 < len(section):
                    later = self._later.get((k, i)) or self._compile_later(k, i)
                    which = later.match(text, start)
                    if which is None or not which.lastgroup:
                        break
                    k, i = groups[which.lastgroup]
                    alt = section[i]
                    m = which if not alt.rule.group else alt.compiled.match(text, start)
                    span = accept(alt, m) if m is not None else None
                    if span is not None:
                        end = max(which.end(), span.end)
            if span is not None:
                out.append(span)
            pos = end
        return out

    def scan_many(self, texts: Iterable[str | None]) -> Iterator[list[Span]]:
        """Spans of each text (``None`` gives no spans)."""
        scan = self.scan
        for t in texts:
            yield scan(t) if t else []


_default: Scanner | None = None


def default_scanner() -> Scanner:
    """A shared scanner with every registered detector."""
    global _default
    if _default is None:
        _default = Scanner()
    return _default


def scan(text: str) -> list[Span]:
    """Spans of every registered detector in ``text``."""
    return default_scanner().scan(text)

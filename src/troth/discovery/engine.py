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
from dataclasses import dataclass

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


def _body(rule: Rule) -> str:
    return f"(?i:{rule.pattern})" if rule.ignore_case else f"(?:{rule.pattern})"


#: what the pass needs of a rule that matched, resolved once: the rule, its validator, where its
#: span is in the combined pattern's match (the number of its group), its context search, entity
#: type and category, its section and position there
_Hit = tuple[
    Rule,
    Callable[[Candidate], "float | None"],
    int,
    "Callable[[str], re.Match[str] | None] | None",
    str,
    str,
    int,
    int,
]


_LOWER = "abcdefghijklmnopqrstuvwxyz"

#: at most this many gate masks get a pattern of their own (the others use the full pattern)
_MAX_VARIANTS = 128


def _cover(needs: tuple[str, ...]) -> tuple[str, ...]:
    """``needs`` without the strings that hold another of them (``telephone`` holds ``tel``: a
    text with ``telephone`` has ``tel``), sorted."""
    return tuple(sorted({n for n in needs if not any(m != n and m in n for m in needs)}))


def _gate_function(sets: Sequence[tuple[str, ...]]) -> Callable[[str], int]:
    """A function of a lower-cased text giving a mask: bit ``b`` set when the text holds one
    of ``sets[b]``.

    Generated as one expression (``("@" in s) << 0 | ("tel" in s or "call" in s) << 1 ...``):
    the substring tests run without a Python loop around them. The source is built only from
    ``repr`` of the registered rules' strings.
    """
    if not sets:
        return lambda s: 0
    terms = []
    for bit, needles in enumerate(sets):
        test = " or ".join(f"{n!r} in s" for n in needles)
        common = set.intersection(*(set(n) for n in needles)) - set(_LOWER)
        if len(needles) > 1 and common:  # one test first: '_' before 'ghp_' or 'gho_'...
            test = f"{min(common)!r} in s and ({test})"
        terms.append(f"(({test}) << {bit})")
    code = compile(f"lambda s: {' | '.join(terms)}", "<troth.discovery gates>", "eval")
    gate: Callable[[str], int] = eval(code)
    return gate


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
        self._sections = [
            tuple(a for a in alts if _admits(a.rule, sample)) for _, _, sample in _SECTIONS
        ]
        # gates: the distinct sets of strings rules need (one bit each), and each rule's bit
        self._gate_sets: list[tuple[str, ...]] = []
        self._bits: dict[str, int] = {}
        for k, section in enumerate(self._sections):
            for i, a in enumerate(section):
                if a.rule.needs:
                    needles = _cover(a.rule.needs)
                    if needles not in self._gate_sets:
                        self._gate_sets.append(needles)
                    self._bits[f"s{k}r{i}"] = self._gate_sets.index(needles)
        self._gate = _gate_function(self._gate_sets)
        # an empty named group after each rule of each section: the match says which rule
        # matched (its group closes last), and a rule that fails costs no group bookkeeping
        # (a scanner without rules: a pattern that never matches)
        self._combined = self._compile(lambda name: True) or re.compile("(?!)")
        #: group name -> what the pass needs of its rule
        self._hits: dict[str, _Hit] = self._resolve(self._combined)
        #: the pattern of each gate mask met so far and its groups (None: no rule left)
        self._variants: dict[int, tuple[re.Pattern[str], dict[str, _Hit]] | None] = {
            (1 << len(self._gate_sets)) - 1: (self._combined, self._hits)
        }
        #: (section, rule) -> the section's later rules as one named pattern, and what the pass
        #: needs of each (compiled on use)
        self._later: dict[tuple[int, int], tuple[re.Pattern[str], dict[str, _Hit]]] = {}

    def _compile(self, keep: Callable[[str], bool]) -> re.Pattern[str] | None:
        """The combined pattern of the rules ``keep`` keeps (by group name), None when none."""
        branches: list[str] = []
        for k, (section, select, _) in enumerate(_SECTIONS):
            ahead = select
            kept = [(i, a) for i, a in enumerate(self._sections[k]) if keep(f"s{k}r{i}")]
            if not kept:
                continue
            if section == "other" and all(a.rule.first for _, a in kept):
                # punctuation and spaces: only where one of the rules can start ('+', '(')
                firsts = "|".join(
                    f"(?i:[{a.rule.first}])" if a.rule.ignore_case else f"[{a.rule.first}]"
                    for _, a in kept
                )
                ahead = f"(?={firsts}){ahead}"
            named = "|".join(f"{_body(a.rule)}(?P<s{k}r{i}>)" for i, a in kept)
            branches.append(f"{ahead}(?:{named})")
        if not branches:
            return None
        return re.compile(r"(?<![^\W_])(?:{})".format("|".join(branches)))

    def _variant(self, mask: int) -> tuple[re.Pattern[str], dict[str, _Hit]] | None:
        """The combined pattern without the rules whose gate is not in ``mask``, and its groups."""
        if mask in self._variants:
            return self._variants[mask]
        if len(self._variants) >= _MAX_VARIANTS:
            # the rules left out would find nothing there: the same spans, a slower pass
            return self._combined, self._hits
        bits = self._bits
        pattern = self._compile(lambda name: name not in bits or bool(mask >> bits[name] & 1))
        found = self._variants[mask] = (pattern, self._resolve(pattern)) if pattern else None
        return found

    def _resolve(self, pattern: re.Pattern[str]) -> dict[str, _Hit]:
        hits: dict[str, _Hit] = {}
        for name, index in pattern.groupindex.items():
            k, i = (int(x) for x in name[1:].split("r"))
            a = self._sections[k][i]
            # the rule's own groups come just before its (empty) named group
            span_group = index - a.compiled.groups if a.rule.group else 0
            hits[name] = (
                a.rule,
                a.detector.validate,
                span_group,
                a.context,
                a.entity,
                a.category,
                k,
                i,
            )
        return hits

    def _later_rules(self, k: int, i: int) -> tuple[re.Pattern[str], dict[str, _Hit]]:
        """The rules after rule ``i`` of section ``k``, each a named group, in one pattern: which
        later rule matches at a position, in one call."""
        found = self._later.get((k, i))
        if found is None:
            section = self._sections[k]
            later = re.compile(
                "|".join(
                    f"{_body(section[j].rule)}(?P<s{k}r{j}>)" for j in range(i + 1, len(section))
                )
            )
            found = self._later[k, i] = (later, self._resolve(later))
        return found

    @property
    def pattern(self) -> str:
        """The one pattern the scanner passes over a text with."""
        return self._combined.pattern

    def _accept(self, alt: _Alt, m: re.Match[str]) -> Span | None:
        """The span of ``alt``'s rule matched alone (``m``), if its validator accepts it."""
        start, end = m.span(1) if alt.rule.group else m.span()
        if start < 0:
            return None
        k, i = next(
            (k, i)
            for k, section in enumerate(self._sections)
            for i, a in enumerate(section)
            if a is alt
        )
        return self._span(self._hits[f"s{k}r{i}"], m.string, start, end)

    def _span(self, hit: _Hit, text: str, start: int, end: int) -> Span | None:
        rule, validate, _, near, entity, category, _, _ = hit
        conf = validate(Candidate(text, start, end, rule))
        if conf is None:
            return None
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
        if conf != rule.confidence:
            conf = round(conf, 3)
        return Span(start, end, entity, category, conf, rule.name)

    def scan(self, text: str, context: str = "") -> list[Span]:
        """The spans found in ``text``, in order, not overlapping.

        ``context``: words that stand before the text without being part of it (a column's
        name, ``message id``), read by the detectors' context checks only.
        """
        if context:
            # on a line of its own: read by context checks, never part of a match or a cue
            head = len(context) + 1
            return [
                s._replace(start=s.start - head, end=s.end - head)
                for s in self._scan(f"{context}\n{text}")
                if s.start >= head
            ]
        return self._scan(text)

    def _scan(self, text: str) -> list[Span]:
        out: list[Span] = []
        variant = self._variant(self._gate(text.lower()))
        if variant is None:
            return out
        finditer = variant[0].finditer
        hits = variant[1]
        span_of = self._span
        pos = 0
        while True:
            # the matches in one C-level pass; it stops only where a validator rejects a
            # candidate, to try the section's later rules there and go on after it
            for m in finditer(text, pos):
                hit = hits[m.lastgroup]  # type: ignore[index]
                start, end = m.span(hit[2])
                span = span_of(hit, text, start, end) if start >= 0 else None
                if span is not None:
                    out.append(span)  # the pass goes on after the match
                    continue
                pos = self._after_rejected(text, m.start(), hit, out)
                break
            else:
                return out

    def _after_rejected(self, text: str, start: int, hit: _Hit, out: list[Span]) -> int:
        """Where the pass goes on after a rejected candidate at ``start``: the section's later
        rules tried there (appending the first accepted span), else the next position."""
        k, i = hit[6], hit[7]
        section_size = len(self._sections[k])
        while i + 1 < section_size:
            later, later_hits = self._later_rules(k, i)
            which = later.match(text, start)
            if which is None:
                break
            hit = later_hits[which.lastgroup]  # type: ignore[index]
            s, e = which.span(hit[2])
            span = self._span(hit, text, s, e) if s >= 0 else None
            if span is not None:
                out.append(span)
                return max(which.end(), span.end)
            k, i = hit[6], hit[7]
        return start + 1

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

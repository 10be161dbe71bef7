"""Person names: a capitalised name after a cue (``Dear``, ``Mr``, ``my name is``, ``Name:``), or
a first name of the shipped list followed by a capitalised family name.

The lists (``troth/discovery/data/first_names.txt`` and ``last_names.txt``) are small and
international; a name that is on neither list is found only after a cue.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from troth.discovery.base import DETECTORS, Candidate, Rule

_CAP = r"[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?"

#: capitalised words that follow a cue without being a name
_NOT_NAMES = frozenset(
    [
        "Team",
        "Support",
        "Customer",
        "Customers",
        "Sir",
        "Madam",
        "All",
        "Everyone",
        "There",
        "Again",
        "Admin",
        "Service",
        "Sales",
        "The",
        "This",
        "That",
        "Thanks",
        "Thank",
        "Regards",
        "Please",
        "Order",
        "Invoice",
        "Account",
        "Ticket",
        "Best",
        "Kind",
        "Hello",
        "Hi",
        "Dear",
        "Name",
        "Number",
        "Date",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "User",
    ]
)


_CUES = (
    "dear ", "hi ", "hello ", "my name is ", "name: ", "signed ", "signed: ", "regards, ",
    "sincerely, ", "contact: ", "customer: ", "from: ", "thanks, ",
)  # fmt: skip


@cache
def _names(file: str) -> frozenset[str]:
    text = resources.files("troth.discovery").joinpath("data", file).read_text("utf-8")
    return frozenset(
        w for line in text.splitlines() if not line.startswith("#") for w in line.split()
    )


def first_names() -> frozenset[str]:
    return _names("first_names.txt")


def last_names() -> frozenset[str]:
    return _names("last_names.txt")


class PersonNameDetector:
    name: str = "person_name"
    entity: str = "PERSON"
    category: str = "user.name"
    context: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = (
        Rule(
            "name.title",
            r"A-Z",
            rf"(?<![\w])(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.? ({_CAP}(?: {_CAP})?)(?![\w])",
            0.8,
            group=True,
        ),
        Rule(
            "name.cue",
            r"A-Za-z",
            rf"(?<![\w])(?:[Dd]ear|[Hh]i|[Hh]ello|[Mm]y name is|[Nn]ame:|[Ss]igned:?|[Rr]egards,|"
            rf"[Ss]incerely,|[Cc]ontact:|[Cc]ustomer:|[Ff]rom:|[Tt]hanks,) "
            rf"({_CAP}(?: {_CAP})?)(?![\w])",
            0.6,
            group=True,
            needs=_CUES,  # each cue and the space after it, lower-cased
        ),
        Rule(
            "name.after",
            r"A-Za-z",
            rf"(?<![\w])(?:by|[Uu]ser|[Aa]gent|[Cc]ustomer|[Cc]lient|[Pp]atient|[Aa]pplicant) "
            rf"({_CAP} {_CAP})(?![\w])",
            0.55,
            group=True,
        ),
        Rule("name.listed", r"A-Z", rf"(?<![\w])[A-Z][a-z]+ {_CAP}(?![\w])", 0.85),
    )

    @staticmethod
    def validate(candidate: Candidate) -> float | None:
        parts = candidate.value.split()
        if any(p in _NOT_NAMES for p in parts):
            return None
        first, last = first_names(), last_names()
        rule = candidate.rule
        if rule.name == "name.listed":
            if parts[0] not in first:
                return None
            return rule.confidence if parts[1] in last else 0.45
        if parts[0] in first or parts[-1] in last:
            return min(1.0, rule.confidence + 0.15)
        return rule.confidence


DETECTORS.add("person_name", PersonNameDetector())

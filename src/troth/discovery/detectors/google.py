"""Shapes of Google API data: Gmail message and thread ids, Contacts resource names, Calendar
event ids and Google OAuth refresh tokens.

Finding one in a store is evidence that data from a restricted source (Google user data under
Limited Use) is kept there. A bare 16-hex-digit Gmail id or a Calendar event id is accepted only
near a context word (``message``, ``thread``, ``gmail``, ``event``, ``calendar``).
"""

from __future__ import annotations

from troth.discovery.base import DETECTORS, Candidate, Rule

#: entity types of this detector: each is data from the ``google`` restricted source
RESTRICTED_ENTITIES = frozenset(
    {"GMAIL_ID", "GOOGLE_CONTACT", "GOOGLE_CALENDAR_EVENT", "GOOGLE_REFRESH_TOKEN"}
)
_GMAIL_WORDS = ("message", "messageid", "message_id", "msg", "thread", "threadid", "thread_id",
                "gmail", "mail id", "mail")  # fmt: skip
_CALENDAR_WORDS = ("event", "eventid", "event_id", "calendar", "meeting", "invite")


class GoogleDataDetector:
    name: str = "google"
    entity: str = "GMAIL_ID"
    category: str = "user.content.private"
    context: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = (
        Rule(
            "google.refresh_token",
            r"1",
            r"(?<![\w/])1//0[0-9A-Za-z_-]{30,}(?![\w-])",
            0.95,
            needs=("1//0",),
            entity="GOOGLE_REFRESH_TOKEN",
            category="system.authentication",
        ),
        Rule(
            "google.contact",
            r"poc",
            r"(?<![\w/])(?:people|otherContacts)/c\d{10,20}(?![\w])|(?<![\w/])contactGroups/[0-9a-f]{6,20}(?![\w])",
            0.95,
            needs=("people/", "othercontacts/", "contactgroups/"),
            entity="GOOGLE_CONTACT",
            category="user.contact",
        ),
        Rule(
            "google.gmail_legacy",
            r"mt",
            r"(?<![\w])(?:msg|thread)-[af]:\d{18,20}(?![\w])",
            0.95,
            needs=("msg-", "thread-"),
        ),
        Rule(
            "google.gmail_id",
            r"1",
            r"(?<![\w])1[0-9a-f]{15}(?![\w])",
            0.8,
        ),
        Rule(
            "google.calendar_event",
            r"a-v0-9",
            r"(?<![\w])[a-v0-9]{26}(?:_\d{8}(?:T\d{6}Z)?)?(?![\w])",
            0.8,
            needs=_CALENDAR_WORDS,  # the validator wants one near
            entity="GOOGLE_CALENDAR_EVENT",
        ),
    )

    @staticmethod
    def validate(candidate: Candidate) -> float | None:
        rule = candidate.rule
        value = candidate.value
        if rule.name == "google.gmail_id":
            if not candidate.near(_GMAIL_WORDS, 30):
                return None
        elif rule.name == "google.calendar_event":
            head = value[:26]
            if (
                not any(c.isalpha() for c in head)
                or sum(c.isdigit() for c in head) < 3
                or not candidate.near(_CALENDAR_WORDS, 30)
            ):
                return None
        return rule.confidence


DETECTORS.add("google", GoogleDataDetector())

"""What a column's name (and type) suggests: a data category, a timestamp, or nothing.

Names in any case style are split into lower-case words first (``BillingPostalCode``,
``billingPostalCode``, ``billing_postal_code`` and ``BILLING_POSTAL_CODE`` all read
``billing postal code``), then matched word-wise, so ``emailed`` or ``telemetry`` match nothing.

Some names are personal only where the table is about a person (:class:`Scope`): ``name`` is a
person's name on a table of people and a product's name elsewhere; an address, a company or free
text (``body``, ``notes``) belongs to a person on the tables a person's rows reach, not on a lookup
or tenant table. Which tables those are is decided from the schema's shape, see
:mod:`troth.datamap.introspect`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

_CAMEL_LOWER_UPPER = re.compile(r"([a-z0-9])([A-Z])")
_CAMEL_ACRONYM = re.compile(r"([A-Z]+)([A-Z][a-z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def words(name: str) -> tuple[str, ...]:
    """The lower-case words of a name in any case style: ``IPAddress`` -> ``("ip", "address")``."""
    spaced = _CAMEL_ACRONYM.sub(r"\1_\2", _CAMEL_LOWER_UPPER.sub(r"\1_\2", name))
    return tuple(w for w in _NON_WORD.split(spaced.lower()) if w)


def snake(name: str) -> str:
    """The name in snake case: ``SupportRepId`` -> ``support_rep_id``."""
    return "_".join(words(name))


def singular(word: str) -> str:
    """A plain English singular, good enough for table names (``companies`` -> ``company``)."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


class Scope(IntEnum):
    """Where a name is taken as personal data."""

    #: on any table (an e-mail address is personal wherever it is)
    anywhere = 0
    #: on the tables about a person: people, their rows, their links (an address, free text)
    person_rows = 1
    #: only on a table of people (``name``, ``title``)
    people = 2


@dataclass(frozen=True)
class Guess:
    """What a column name suggests."""

    category: str | None = None
    scope: Scope = Scope.anywhere
    #: a date/time that can start a retention period
    timestamp: bool = False
    #: a state/province/region: an address part only beside other address parts
    needs_address: bool = False


_A = Scope.anywhere
_ROWS = Scope.person_rows
_PEOPLE = Scope.people
_STAMP = Guess(timestamp=True)
_NOTHING = Guess()

#: (pattern on the snake-case name, guess); the first match wins
_RULES: list[tuple[str, Guess]] = [
    (
        r"(^|_)(dob|birth_?date|birth_?day|date_of_birth|born_on)$",
        Guess("user.demographic.date_of_birth"),
    ),
    (r"(^|_)ip(_?addr|_address)?$", Guess("user.device.ip_address")),
    (r"(^|_)(mac|wallet|web|url|server|host|contract)_address$", _NOTHING),
    # timestamps before names: `last_login` is a time, never a user name
    (r"(^|_)(at|date|time|timestamp|datetime|ts|dt)$", _STAMP),
    (r"^(created|updated|modified|deleted|registered|signed_up|first_seen)$", _STAMP),
    (r"(^|_)(created|updated|modified|posted|sent|published|registered)_on$", _STAMP),
    (
        r"^last_(login|logon|sign_?in|seen|active|activity|visit|access|accessed|used|modified)$",
        _STAMP,
    ),
    (r"(^|_)e_?mail(_address|_addr)?$", Guess("user.contact.email")),
    (
        r"(^|_)(phone|tel|telephone|mobile|cell|cellphone)(_number|_no|_num)?$",
        Guess("user.contact.phone_number"),
    ),
    (r"(^|_)fax(_number|_no|_num)?$", Guess("user.contact.fax_number")),
    (r"(^|_)(first|given|fore)_?name$", Guess("user.name.first")),
    (r"(^|_)(last|family|sur)_?name$", Guess("user.name.last")),
    (r"(^|_)middle_?name$", Guess("user.name")),
    (r"^(full|display|legal|nick)_?name$", Guess("user.name")),
    (
        r"^(customer|contact|person|requester|recipient|sender|billing|shipping|employee|"
        r"agent|member|client|patient|owner|author)_(full_)?name$",
        Guess("user.name"),
    ),
    (
        r"(^|_)(password|passwd|pass_hash|password_hash|password_digest|pwd)$",
        Guess("user.authorization.credentials"),
    ),
    (r"(^|_)(gender|sex)$", Guess("user.demographic.gender")),
    (
        r"(^|_)(username|login_name|screen_name)$|^(user_name|login|handle)$",
        Guess("user.account.username"),
    ),
    (
        r"(^|_)(street|street_address|address|address_line_?\d|address_?\d|addr)$",
        Guess("user.contact.address.street", _ROWS),
    ),
    (r"(^|_)(city|town)$", Guess("user.contact.address.city", _ROWS)),
    (
        r"(^|_)(zip|zip_?code|post_?code|postal_?code)$",
        Guess("user.contact.address.postal_code", _ROWS),
    ),
    (
        r"(^|_)(state|province|region|county)$",
        Guess("user.contact.address.state", _ROWS, needs_address=True),
    ),
    (r"(^|_)country(_code)?$", Guess("user.contact.address.country", _ROWS)),
    (
        r"(^|_)(company|company_name|organization|organisation|organization_name|"
        r"organisation_name|org_name)$",
        Guess("user.contact.organization", _ROWS),
    ),
    (r"(^|_)(employer|workplace)$", Guess("user.workplace", _ROWS)),
    (r"(^|_)job_title$", Guess("user.job_title", _ROWS)),
    (
        r"(^|_)(body|description|message|comment|comments|note|notes|content|remarks|bio|subject)$"
        r"|^(text|about|about_me)$",
        Guess("user.content.private", _ROWS),
    ),
    (r"^name$", Guess("user.name", _PEOPLE)),
    (r"^title$", Guess("user.job_title", _PEOPLE)),
]
_COMPILED = [(re.compile(p), g) for p, g in _RULES]

#: address parts that make a `state`/`region` column an address part too
ADDRESS_CATEGORIES = frozenset(
    {
        "user.contact.address.street",
        "user.contact.address.city",
        "user.contact.address.postal_code",
    }
)


def is_time_type(data_type: str | None) -> bool:
    """A DATE/TIME/TIMESTAMP/DATETIME column (the types retention can compare)."""
    return data_type is not None and ("date" in data_type.lower() or "time" in data_type.lower())


_JSON_NAMES = frozenset(
    {
        "metadata",
        "meta",
        "payload",
        "attributes",
        "attrs",
        "properties",
        "props",
        "extra",
        "extras",
        "fields",
        "context",
        "data",
        "details",
        "settings",
        "json",
        "document",
    }
)


def is_json(name: str, data_type: str | None) -> bool:
    """A JSON column: its type says so, or (MariaDB stores JSON as LONGTEXT) a JSON-like name
    (``metadata``, ``payload``, ``custom_fields``...) on a text column."""
    low = (data_type or "").lower()
    if "json" in low:
        return True
    w = words(name)
    return bool(w) and w[-1] in _JSON_NAMES and ("text" in low or "clob" in low)


def guess_column(name: str, data_type: str | None = None) -> Guess | None:
    """The guess for a column, or None when its name (and type) suggest nothing."""
    low = snake(name)
    for pattern, guess in _COMPILED:
        if pattern.search(low):
            return None if guess is _NOTHING else guess
    if is_time_type(data_type):
        return _STAMP
    return None


#: retention candidates, best first: the last activity, the row's own date (``InvoiceDate`` on
#: ``Invoice``), its creation or event time, its last change, any other date
_LAST_ACTIVITY = re.compile(
    r"^last_(login|logon|sign_?in|seen|active|activity|visit|access|accessed|used)(_at|_on|_date)?$"
)
_EVENT = re.compile(
    r"(^|_)(created|creation|inserted|registered|signed_up|sent|occurred|issued|checked|"
    r"started|received|submitted|first_seen|placed|ordered|posted|published)(_|$)"
)
_CHANGE = re.compile(r"(^|_)(updated|modified|changed|last_modified)(_|$)")
_NOT_A_START = re.compile(
    r"(^|_)(expires|expiry|expiration|due|until|deleted|valid|end|ends|ended|scheduled|"
    r"birth|dob)(_|$)"
)


def timestamp_rank(column: str, table: str) -> int:
    """How good a start of a retention period the timestamp column is (lower is better)."""
    name = snake(column)
    if _LAST_ACTIVITY.match(name):
        return 0
    if _NOT_A_START.search(name):
        return 5
    own = {singular(w) for w in words(table)}
    if own & set(words(column)[:-1]):
        return 1
    if _EVENT.search(name):
        return 2
    if _CHANGE.search(name):
        return 3
    return 4


# -- table and reference-column names (used by troth.datamap.introspect) --

#: nouns of tables people register in, most likely first
PERSON_NOUNS = (
    "user",
    "customer",
    "client",
    "account",
    "member",
    "person",
    "people",
    "profile",
    "contact",
    "subscriber",
)
#: nouns of tables of people of a kind other than the main person table's
PEOPLE_NOUNS = frozenset(
    {
        *PERSON_NOUNS,
        "employee",
        "staff",
        "agent",
        "rep",
        "representative",
        "admin",
        "administrator",
        "operator",
        "manager",
        "patient",
        "student",
        "teacher",
        "lead",
        "candidate",
        "applicant",
        "guest",
        "visitor",
        "recipient",
        "participant",
        "attendee",
        "driver",
        "courier",
        "author",
        "partner",
        "vendor",
        "supplier",
    }
)
#: people who work for the business: their table's subject is ``employee``
STAFF_NOUNS = frozenset(
    {"employee", "staff", "agent", "rep", "representative", "admin", "administrator", "operator"}
)
#: nouns of tables shared by many people (tenants and their like)
HUB_NOUNS = frozenset(
    {
        "tenant",
        "organization",
        "organisation",
        "org",
        "workspace",
        "company",
        "business",
        "account",
        "brand",
        "team",
        "group",
        "realm",
        "site",
        "store",
        "shop",
    }
)
#: words of a reference column that names someone acting on the row, not the row's person
ACTOR_WORDS = frozenset(
    {
        "assignee",
        "assigned",
        "agent",
        "rep",
        "representative",
        "staff",
        "employee",
        "handler",
        "reviewer",
        "approver",
        "manager",
        "supervisor",
        "operator",
        "moderator",
        "admin",
        "by",
    }
)
#: words of a reference column that names the row's own person, of several to the same table
OWNER_WORDS = frozenset(
    {"user", "customer", "client", "person", "owner", "requester", "author", "sender", "creator"}
)
#: tenant-like columns that scope a person's rows even without a declared foreign key
TENANT_COLUMNS = ("tenant_id", "workspace_id", "org_id", "organization_id", "organisation_id")

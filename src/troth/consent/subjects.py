"""How troth names a person in its consent state: always its own keyed hash, never a client's.

A subject reaches troth in one of three forms:

- a raw identifier (an e-mail address, a user id, ``visitor:<id>``): troth hashes it
  (:func:`subject_ref`, trimmed and lower-cased, HMAC-SHA256 under troth's secret key);
- a *subject token* that troth issued (:func:`issue_token`): ``tsub1.<ref hex>.<tag>``, where the
  tag is an HMAC that troth verifies (:func:`read_token`), so a client can refer to a person
  again without sending the identifier;
- inside troth, a :class:`SubjectRef` made from a ref troth stored itself.

A string that merely looks like a ref (``h:`` and 64 hex digits) is refused, never stored
verbatim. Browser visitors get a signed random pseudonym (:func:`issue_visitor`), so a visitor id
that troth did not issue is never used.

>>> token = issue_token(key, subject_ref(key, "ada@example.com"))
>>> read_token(key, token).value == subject_ref(key, "ada@example.com")
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from troth.audit.hashing import KEYED_PREFIX, keyed_hash
from troth.consent.events import check_text
from troth.errors import ConsentError

#: the shape of troth's keyed hash (:func:`troth.audit.keyed_hash`)
REF = re.compile(r"^h:[0-9a-f]{64}$")
TOKEN_PREFIX = "tsub1"
VISITOR_PREFIX = "visitor:"
MAX_IDENTIFIER = 320
_TOKEN = re.compile(r"^tsub1\.([0-9a-f]{64})\.([A-Za-z0-9_-]{43})$")
_VISITOR = re.compile(r"^([A-Za-z0-9_-]{24})\.([A-Za-z0-9_-]{22})$")


@dataclass(frozen=True, slots=True)
class SubjectRef:
    """A subject as troth stored it (read from its own state, or from a token it verified).

    Rows an older troth stored verbatim (any ``h:`` text) stay usable, e.g. to expire them.
    """

    value: str

    def __post_init__(self) -> None:
        if not self.value.startswith(KEYED_PREFIX) or len(self.value) > 80:
            raise ConsentError(
                "a subject ref is h: followed by troth's hash",
                where="subject ref",
                fix="use a ref troth returned",
            )


#: what the ledger and decisions take as a subject
Subject = str | SubjectRef


def subject_ref(key: bytes, subject: Subject) -> str:
    """troth's keyed hash of a person's identifier (trimmed, lower-case); typed refs pass."""
    if isinstance(subject, SubjectRef):
        return subject.value
    ident = subject.strip().lower()
    check_text(ident, "consent subject")
    if not ident:
        raise ConsentError("the subject identifier is empty", where="consent subject")
    if len(ident) > MAX_IDENTIFIER:
        raise ConsentError(
            f"the subject identifier is longer than {MAX_IDENTIFIER} characters",
            where="consent subject",
        )
    if REF.match(ident):
        raise ConsentError(
            "the subject looks like a troth subject ref (h: and 64 hex digits); troth hashes "
            "subjects itself and never takes a hash from a client",
            where="consent subject",
            fix="send the raw identifier, or the subject_token troth returned for it",
        )
    return keyed_hash(key, ident)


def identifier_ref(key: bytes, value: str) -> str | None:
    """The ref of an identifier read from a data store, or None if no subject can have it."""
    try:
        return subject_ref(key, value)
    except ConsentError:
        return None


def _derived(key: bytes, purpose: bytes) -> bytes:
    return hmac.new(key, purpose, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def issue_token(key: bytes, ref: str) -> str:
    """The subject token of *ref*: ``tsub1.<hex>.<HMAC tag>`` (no personal data in it)."""
    if not REF.match(ref):
        raise ConsentError("only troth's own refs get a token", where="subject ref")
    hexpart = ref.removeprefix(KEYED_PREFIX)
    tag = hmac.new(_derived(key, b"troth subject token v1"), hexpart.encode(), hashlib.sha256)
    return f"{TOKEN_PREFIX}.{hexpart}.{_b64(tag.digest())}"


def read_token(key: bytes, token: str) -> SubjectRef:
    """The ref inside a token troth issued; :class:`ConsentError` for anything else."""
    found = _TOKEN.match(token)
    if found:
        expected = issue_token(key, KEYED_PREFIX + found.group(1))
        if hmac.compare_digest(expected.encode(), token.encode()):
            return SubjectRef(KEYED_PREFIX + found.group(1))
    raise ConsentError(
        "the subject token is not one troth issued, or it was altered",
        where="subject_token",
        fix="send the subject_token exactly as troth returned it, or the raw identifier",
    )


def issue_visitor(key: bytes) -> tuple[str, str]:
    """A new browser visitor: its cookie value (a random pseudonym with troth's tag, cookie
    ``troth_vid``) and its subject (``visitor:<id>``)."""
    rand = secrets.token_urlsafe(18)
    return f"{rand}.{_visitor_tag(key, rand)}", VISITOR_PREFIX + rand


def read_visitor(key: bytes, cookie: str | None) -> str | None:
    """The visitor subject (``visitor:<id>``) of a cookie troth issued, else None."""
    found = _VISITOR.match(cookie or "")
    if not found:
        return None
    if not hmac.compare_digest(found.group(2), _visitor_tag(key, found.group(1))):
        return None
    return VISITOR_PREFIX + found.group(1)


def _visitor_tag(key: bytes, rand: str) -> str:
    mac = hmac.new(_derived(key, b"troth visitor id v1"), rand.encode(), hashlib.sha256)
    return _b64(mac.digest()[:16])


def scope_text(scope: Mapping[str, str] | None) -> str:
    """A scope (``{"tenant": "42"}``) as one canonical text (``tenant=42``; empty: none)."""
    if not scope:
        return ""
    for name, value in scope.items():
        check_text(str(name), "scope name")
        check_text(str(value), "scope value")
    return ";".join(f"{k}={str(v).strip()}" for k, v in sorted(scope.items()))


def scoped_subject(key: bytes, subject: Subject, scope: Mapping[str, str] | None) -> SubjectRef:
    """The person in one scope (a tenant): troth's keyed hash of their ref and the scope, so the
    same person's consent and restriction in two tenants are two subjects."""
    base = subject_ref(key, subject)
    text = scope_text(scope)
    if not text:
        return SubjectRef(base)
    return SubjectRef(keyed_hash(key, f"{base}|scope|{text}"))

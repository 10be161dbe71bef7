"""Identity normalisation: the same person is found whatever the spelling, on every engine.

A request's value becomes a set of *candidates* (:func:`candidates`: trimmed of every white space);
a stored value becomes its *column form* (:func:`column_form`: trimmed of spaces, which is what
SQL's ``TRIM`` does), which every engine computes in SQL the same way
(:mod:`troth.connectors.match`; on SQLite through the ``troth_norm`` function that calls this
module). A row matches when its column form is one of the candidates, compared byte for byte (so
a case- or accent-insensitive collation changes nothing).

``email``  column form: trimmed, lower-cased (the whole address; with
           ``case: sensitive`` the domain only). Candidates: the same, with the domain also in its
           IDNA (punycode) form, so ``josé@bücher.example`` finds ``josé@xn--bcher-kva.example``.
``phone``  column form: its digits. Candidates: the E.164 digits (country code and number), with
           ``00`` in front, and, when the number is in the identity's ``region``, its national
           forms (``5550199``, ``02079460958``), via ``phonenumbers``.
``exact``  column form: trimmed. Candidates: the trimmed value.
"""

from __future__ import annotations

import re
import unicodedata

from troth.datamap.model import IdentityKind, IdentitySpec
from troth.errors import RequestError

WHITESPACE = " \t\r\n"
_NOT_DIGIT = re.compile(r"[^0-9]")
#: names of the column forms SQL computes (``troth_norm(form, value)`` on SQLite)
FORMS = ("email", "email_cs", "phone", "exact")


def form_of(spec: IdentitySpec) -> str:
    """The column form an identity spec compares by."""
    if spec.kind is IdentityKind.email:
        return "email_cs" if spec.case == "sensitive" else "email"
    return spec.kind.value


def column_form(form: str, value: object) -> str | None:
    """What SQL computes from a stored value (``None`` stays ``None``)."""
    if value is None:
        return None
    text = str(value).strip(" ")
    if form == "email":
        return text.lower()
    if form == "email_cs":
        local, at, domain = text.rpartition("@")
        return f"{local}@{domain.lower()}" if at else text
    if form == "phone":
        return _NOT_DIGIT.sub("", text)
    return text


def candidates(spec: IdentitySpec, value: str, *, where: str = "identity") -> list[str]:
    """The column forms that mean the same identity as ``value``; never echoes the value."""
    if "\x00" in value:
        raise RequestError(
            "an identity value contains a NUL character", where=where, fix="remove it"
        )
    text = unicodedata.normalize("NFC", value.strip(WHITESPACE))
    if not text:
        raise RequestError("an identity value is empty", where=where, fix="give a value")
    if spec.kind is IdentityKind.email:
        return _email(text, spec.case == "sensitive", where)
    if spec.kind is IdentityKind.phone:
        return _phone(text, spec.region, where)
    return [text]


def _email(text: str, sensitive: bool, where: str) -> list[str]:
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise RequestError(
            "an e-mail identity is not an address (no local part, @ and domain)",
            where=where,
            fix="give the whole address, e.g. name@example.com",
        )
    local = local if sensitive else local.lower()
    domain = domain.lower().rstrip(".")
    out = [f"{local}@{domain}"]
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_domain = domain
    if ascii_domain != domain:
        out.append(f"{local}@{ascii_domain}")
    return out


def _phone(text: str, region: str | None, where: str) -> list[str]:
    import phonenumbers

    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        fix = (
            "give the number with its country code (+1 555 0199)"
            if region is None and not text.startswith("+")
            else "give the number in international form (+1 555 0199)"
        )
        if region is None:
            fix += ", or set the identity's region in the map (identities: {phone: {region: US}})"
        raise RequestError("a phone identity is not a phone number", where=where, fix=fix) from None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    out = [e164, f"00{e164}"]
    if region is not None and number.country_code == phonenumbers.country_code_for_region(region):
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        out += [_NOT_DIGIT.sub("", national), phonenumbers.national_significant_number(number)]
    return list(dict.fromkeys(out))

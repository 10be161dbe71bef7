"""Checks on processors and transfers out of the EEA/UK (GDPR Art. 28, Chapter V)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from troth.policy.checks.base import CheckContext, Issue, check
from troth.policy.model import Jurisdiction, Recipient, RecipientType, TransferMechanism

#: EU member states and the EEA (ISO 3166-1 alpha-2)
EEA = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
        "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
    }
)  # fmt: skip
#: countries with an EU adequacy decision (Art. 45); the US only for organisations certified
#: under the Data Privacy Framework
ADEQUATE = frozenset(
    {"AD", "AR", "CA", "FO", "GG", "IL", "IM", "JP", "JE", "NZ", "KR", "CH", "GB", "UY", "US"}
)
#: a few country names as policies write them
NAMES = {
    "united kingdom": "GB", "uk": "GB", "great britain": "GB", "united states": "US",
    "usa": "US", "switzerland": "CH", "japan": "JP", "canada": "CA", "israel": "IL",
    "new zealand": "NZ", "south korea": "KR", "korea": "KR", "argentina": "AR",
    "uruguay": "UY", "germany": "DE", "france": "FR", "netherlands": "NL", "ireland": "IE",
    "spain": "ES", "italy": "IT", "sweden": "SE", "norway": "NO", "denmark": "DK",
    "finland": "FI", "poland": "PL", "belgium": "BE", "austria": "AT", "thailand": "TH",
    "india": "IN", "china": "CN", "brazil": "BR", "singapore": "SG", "australia": "AU",
}  # fmt: skip


def country_code(text: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of ``text`` (a code or a common English name), or None."""
    t = text.strip()
    if len(t) == 2 and t.isalpha():
        return t.upper()
    return NAMES.get(t.lower())


def _third_country(ctx: CheckContext, r: Recipient) -> str | None:
    """The recipient's country when a transfer there leaves the GDPR's (or UK GDPR's) area."""
    laws = set(ctx.policy.jurisdictions)
    if not r.country or not laws & {Jurisdiction.gdpr, Jurisdiction.uk_gdpr}:
        return None
    code = country_code(r.country)
    inside = (Jurisdiction.gdpr in laws and code in EEA) or (
        Jurisdiction.uk_gdpr in laws and code == "GB"
    )
    return None if inside else (code or r.country)


@check("transfer.no-safeguard", "error", "A transfer out of the EEA/UK without a safeguard")
def transfer_no_safeguard(ctx: CheckContext) -> Iterator[Issue]:
    for r in ctx.policy.recipients:
        country = _third_country(ctx, r)
        if country is None:
            continue
        if r.transfer is None:
            yield ctx.issue(
                r,
                f"recipient {r.id!r} is in {country}, outside the EEA/UK, and no transfer "
                "mechanism is declared",
                field="country",
                fix="declare `transfer: adequacy|sccs|bcrs|derogation` (GDPR Art. 44-49)",
            )
        elif r.transfer is TransferMechanism.adequacy and country not in ADEQUATE:
            yield ctx.issue(
                r,
                f"recipient {r.id!r} relies on adequacy, but {country} has no adequacy decision",
                field="transfer",
                fix="use standard contractual clauses (`transfer: sccs`) or binding corporate "
                "rules",
            )


@check("processor.no-dpa", "warning", "A processor without a data processing agreement")
def processor_no_dpa(ctx: CheckContext) -> Iterator[Issue]:
    for r in ctx.policy.recipients:
        if r.type is RecipientType.processor and r.dpa is None:
            yield ctx.issue(
                r,
                f"processor {r.id!r} has no data processing agreement on record",
                fix="record it: `dpa: {signed: YYYY-MM-DD, expires: ..., sub_processors: [...]}` "
                "(GDPR Art. 28(3))",
            )


@check("processor.dpa-expired", "error", "A processor whose data processing agreement expired")
def processor_dpa_expired(ctx: CheckContext) -> Iterator[Issue]:
    today = date.today()
    for r in ctx.policy.recipients:
        if r.dpa is not None and r.dpa.expires is not None and r.dpa.expires < today:
            yield ctx.issue(
                r,
                f"the data processing agreement with {r.id!r} expired on {r.dpa.expires}",
                field="dpa.expires",
                fix="renew it and record the new dates, or stop sending data to the processor",
            )

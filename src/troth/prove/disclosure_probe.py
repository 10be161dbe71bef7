"""Conformance probes of the disclosure gateway (``POST /api/v1/disclosures``, e.g. PL-8, MD-7).

- **disclosure** (each recipient the policy gives concrete categories and a purpose): a
  synthetic canary record carrying every field of a mapped table that holds some of the
  recipient's categories is disclosed through the live API; the answer must hold exactly the
  fields the policy and the data map allow the recipient for the purpose (for the courier of
  Plus: the four address fields), nothing else;
- **no third-party sharing** (a ``no_third_party_sharing`` commitment): a canary disclosure to a
  recipient the policy does not declare must be refused (403).

The canary record is built here from the data map: its identity fields hold the canary's address
in the reserved ``.invalid`` domain (RFC 6761), every other field the text ``troth-canary``. It is
sent in the request body; nothing is read from or written to a customer store. The deployment's
register keeps the disclosure under troth's keyed hash of the canary, the ledger its refusal.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from troth.datamap.model import DataMap
from troth.policy.model import CommitmentKind, Policy, Recipient
from troth.policy.taxonomy import covered_by_any
from troth.prove.probes import Post, ProbeError, ProbeResult

#: the reserved domain of canary e-mail addresses (RFC 6761: no one can have one)
CANARY_DOMAIN = "canary.invalid"
FILLER = "troth-canary"


def canary_email() -> str:
    return f"troth-canary-{secrets.token_hex(8)}@{CANARY_DOMAIN}"


def _allowed(recipient: Recipient, purpose_cats: list[str], cats: list[str]) -> bool:
    if not cats or recipient.categories == "all":
        return False
    return all(
        covered_by_any(c, recipient.categories)
        and (not purpose_cats or covered_by_any(c, purpose_cats))
        for c in cats
    )


def _source(
    datamap: DataMap, recipient: Recipient, purpose_cats: list[str]
) -> tuple[str, list[Any], set[str]] | None:
    """The first mapped table holding a field the recipient may receive: its name, fields and
    the names of the allowed ones."""
    for ds, table in datamap.tables():
        allowed = {
            f.name for f in table.fields if _allowed(recipient, purpose_cats, list(f.categories))
        }
        if allowed:
            return f"{ds.name}.{table.name}", list(table.fields), allowed
    return None


def _record(fields: list[Any], email: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        if f.identity == "email":
            out[f.name] = email
        elif f.identity == "phone":
            out[f.name] = "+1 555 0100"
        else:
            out[f.name] = FILLER
    return out


def disclosure_probes(policy: Policy, datamap: DataMap | None, post: Post) -> list[ProbeResult]:
    out: list[ProbeResult] = []
    for rec in policy.recipients:
        if rec.categories == "all" or rec.legal_request_required or not rec.purposes:
            continue  # nothing the probe can hold the answer against (or a legal request needed)
        purpose = policy.purpose(rec.purposes[0])
        if purpose is None or datamap is None:
            continue
        found = _source(datamap, rec, list(purpose.categories))
        if found is None:
            continue
        table, fields, allowed = found
        out.append(_disclose(rec, purpose.id, table, fields, allowed, post))
    refusal = [c for c in policy.commitments if c.kind is CommitmentKind.no_third_party_sharing]
    if refusal and policy.purposes:
        promises = tuple(p for c in refusal for p in c.promises)
        out.append(_refused(promises, policy.purposes[0].id, post))
    return out


def _disclose(
    rec: Recipient, purpose: str, table: str, fields: list[Any], allowed: set[str], post: Post
) -> ProbeResult:
    name = f"disclosure: {rec.id}"
    promises = tuple(rec.promises)
    email = canary_email()
    record = _record(fields, email)
    body: dict[str, Any] = {"recipient": rec.id, "purpose": purpose, "table": table}
    body["records"] = [record]
    if not any(f.identity for f in fields):
        body["subjects"] = [{"name": "email", "value": email}]
    start = time.monotonic()
    try:
        answer = post("/api/v1/disclosures", body)
        got = set(answer["disclosures"][0]["fields"])
    except (ProbeError, OSError, KeyError, IndexError, TypeError, ValueError) as exc:
        reason = str(exc) if isinstance(exc, ProbeError) else type(exc).__name__
        return ProbeResult(name, promises, False, f"the deployment failed: {reason}")
    took = time.monotonic() - start
    beyond, missing = sorted(got - allowed), sorted(allowed - got)
    if beyond:
        reason = f"{rec.id} received {', '.join(beyond)} beyond what the policy allows"
        return ProbeResult(name, promises, False, reason, took)
    if missing:
        reason = f"{rec.id} did not receive {', '.join(missing)}, which the policy allows"
        return ProbeResult(name, promises, False, reason, took)
    withheld = len(record) - len(got)
    reason = f"{rec.id} received only {', '.join(sorted(got))} of {table} ({withheld} withheld)"
    return ProbeResult(name, promises, True, reason, took)


def _refused(promises: tuple[str, ...], purpose: str, post: Post) -> ProbeResult:
    name = "no third-party sharing"
    body = {
        "recipient": "troth_canary_recipient",
        "purpose": purpose,
        "records": [{"email": canary_email()}],
        "subjects": [{"name": "email", "value": canary_email()}],
    }
    start = time.monotonic()
    try:
        post("/api/v1/disclosures", body)
    except ProbeError as exc:
        took = time.monotonic() - start
        if exc.status == 403:
            reason = "a disclosure to an undeclared recipient is refused (403)"
            return ProbeResult(name, promises, True, reason, took)
        return ProbeResult(name, promises, False, f"the deployment failed: {exc}", took)
    except OSError as exc:
        return ProbeResult(name, promises, False, f"the deployment failed: {type(exc).__name__}")
    reason = "a disclosure to a recipient the policy does not declare was accepted"
    return ProbeResult(name, promises, False, reason, time.monotonic() - start)

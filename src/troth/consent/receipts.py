"""Consent receipts in the shape of ISO/IEC TS 27560 (consent record information structure).

A receipt lists, for one subject, the controller, the policy version and each consent's current
state with its purposes, notice version and hash, channel and time. :func:`sign` wraps it as a
compact JWS (``HS256``, RFC 7515) under a configured key; :func:`verify` checks and opens one.
HS256 needs only the standard library; whoever verifies holds the same key (troth itself, or an
auditor given the receipt key).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

from troth.audit.hashing import canonical_json, utc_timestamp
from troth.consent.ledger import ConsentLedger
from troth.consent.subjects import Subject
from troth.errors import ConsentError

SCHEMA = "ISO/IEC TS 27560:2023 (troth profile 1)"


def receipt_key(secret_key: bytes) -> bytes:
    """The receipt signing key derived from troth's secret key (``TROTH_RECEIPT_KEY`` overrides)."""
    return hmac.new(secret_key, b"troth consent receipt signing key v1", hashlib.sha256).digest()


def build_receipt(ledger: ConsentLedger, subject: Subject) -> dict[str, Any]:
    """The receipt of *subject*'s current consent states (raises for an unknown subject)."""
    policy = ledger.policy
    states = ledger.state(subject)
    org = policy.organisation
    records: list[dict[str, Any]] = []
    for cid, st in states.items():
        consent = ledger.consents.get(cid)
        purposes = []
        for pid in consent.purposes if consent else []:
            p = policy.purpose(pid)
            if p:
                basis = p.legal_basis.value if p.legal_basis else None
                purposes.append({"id": p.id, "name": p.name, "legal_basis": basis})
        records.append(
            {
                "consent_id": cid,
                "name": consent.name if consent else cid,
                "state": st.kind.value,
                "purposes": purposes,
                "notice": {
                    "version": st.notice_version,
                    "url": consent.notice.url if consent else None,
                },
                "mechanism": consent.mechanism.value if consent else None,
                "channel": st.channel,
                "event_time": st.event_time,
                "event_id": st.event_uid,
            }
        )
    history = ledger.history(subject)
    hashes = {e.event_uid: e.notice_hash for e in history}
    for rec in records:
        notice: dict[str, Any] = rec["notice"]
        notice["hash"] = hashes.get(str(rec["event_id"]))
    return {
        "schema": SCHEMA,
        "receipt_id": str(uuid.uuid4()),
        "issued_at": utc_timestamp(),
        "controller": {
            "name": org.legal_name or org.name,
            "contact": org.contact.email if org.contact else None,
        },
        "policy": {"id": policy.policy.id, "version": policy.policy.version},
        "subject": ledger.subject_ref(subject),
        "consents": records,
        "events": len(history),
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(receipt: dict[str, Any], key: bytes) -> str:
    """Compact JWS (HS256) of the receipt's canonical JSON."""
    header = _b64(canonical_json({"alg": "HS256", "typ": "JWT", "cty": "consent-receipt"}).encode())
    payload = _b64(canonical_json(receipt).encode())
    mac = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(mac)}"


def verify(token: str, key: bytes) -> dict[str, Any]:
    """The receipt inside a JWS made by :func:`sign`; :class:`ConsentError` if it was altered."""
    parts = token.split(".")
    bad = ConsentError(
        "the consent receipt signature does not verify",
        where="consent receipt",
        fix="use the receipt exactly as issued and the same receipt key",
    )
    if len(parts) != 3:
        raise bad
    header_b64, payload_b64, mac_b64 = parts
    try:
        header = json.loads(_unb64(header_b64))
        mac = _unb64(mac_b64)
    except ValueError:
        raise bad from None
    if header.get("alg") != "HS256":
        raise bad
    expected = hmac.new(key, f"{header_b64}.{payload_b64}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected):
        raise bad
    result: dict[str, Any] = json.loads(_unb64(payload_b64))
    return result

"""Deliver one outbound notice through its channel, with its outcome in the ledger.

- ``email``: the e-mail notifier (``TROTH_NOTIFY_EMAIL``, SMTP by default) to the recipient's
  address in the policy;
- ``webhook``: a JSON POST to the recipient's URL, signed ``X-Troth-Signature: t=<unix
  time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` under the key in the environment variable the
  policy names (:func:`troth.notify.webhook.verify_signature` checks it); any 2xx is delivery;
- ``service``: an operation of a data-map service (:meth:`HttpService.call`), retried there on
  429 and 5xx; a 404 means the service does not hold the person: delivered, outcome
  ``not_found``.

:func:`deliver_notice` is idempotent: a notice already sent or failed is left alone. A failed
attempt counts, keeps its one-line reason on the row, and leaves the notice pending: the job
raises so the worker retries it with back-off; after :data:`MAX_ATTEMPTS` it is ``failed``
(ledger ``recipient.notice_failed``). A delivery is ``recipient.notified`` (notice id, request id,
recipient, channel, outcome; never a value).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.audit import Ledger
from troth.connectors.http import HttpService
from troth.connectors.names import resolve_connection
from troth.datamap.model import DataMap
from troth.errors import ConfigError, NotifyError, TrothError
from troth.notify.base import Message, notifier_for
from troth.notify.webhook import SIGNATURE_HEADER, signature
from troth.policy.model import Policy
from troth.sharing.notices import TABLE, unseal_values
from troth.store.db import connect
from troth.store.outbox import now, stamp

#: attempts before a notice is kept as failed (the worker's back-off: 5 s, 10 s, ... 1 h)
MAX_ATTEMPTS = 8
TIMEOUT_S = 10.0
VERBS = {
    "erasure": ("erased", "erase the records you received"),
    "rectification": ("rectified", "correct the records you received (ask us for the values)"),
    "restriction": ("restricted the processing of", "restrict your processing of those records"),
}


def deliver_notice(
    engine: Engine,
    key: bytes,
    policy: Policy,
    datamap: DataMap | None,
    notice_id: str,
    env: Mapping[str, str],
) -> str:
    """Send one notice; returns its status afterwards (``sent``, ``pending`` or ``failed``)."""
    with connect(engine) as conn:
        found = conn.execute(sa.select(TABLE).where(TABLE.c.id == notice_id)).mappings().first()
    row: dict[str, Any] | None = dict(found) if found is not None else None
    if row is None or row["status"] != "pending":
        return "missing" if row is None else str(row["status"])
    attempts = int(row["attempts"]) + 1
    evidence: dict[str, Any] = {
        "notice_id": notice_id,
        "request_id": row["ref"],
        "recipient": row["recipient"],
        "kind": row["kind"],
        "channel": row["channel"],
        "attempts": attempts,
    }
    try:
        outcome = _send(row, key, policy, datamap, env)
    except TrothError as exc:
        final = attempts >= MAX_ATTEMPTS
        status = "failed" if final else "pending"
        with Ledger(engine).transaction() as tx:
            tx.conn.execute(
                sa.update(TABLE)
                .where(TABLE.c.id == notice_id)
                .values(
                    attempts=attempts,
                    status=status,
                    error=exc.one_line()[:400],
                    updated_at=stamp(now()),
                    **({"sealed": None} if final else {}),
                )
            )
            if final:
                data = {**evidence, "outcome": "failed", "error": exc.one_line()[:400]}
                tx.append("recipient.notice_failed", data, actor="worker", subject=_subject(row))
        return status
    at = stamp(now())
    with Ledger(engine).transaction() as tx:
        tx.conn.execute(
            sa.update(TABLE)
            .where(TABLE.c.id == notice_id)
            .values(
                attempts=attempts, status="sent", sent_at=at, updated_at=at, sealed=None, error=None
            )
        )
        tx.append(
            "recipient.notified",
            {**evidence, "outcome": outcome},
            actor="worker",
            subject=_subject(row),
        )
    return "sent"


def _subject(row: Mapping[str, Any]) -> str:
    ref = str(row["ref"])
    return ref if ref.startswith("consent:") else f"dsr:{ref}"


def _send(
    row: dict[str, Any],
    key: bytes,
    policy: Policy,
    datamap: DataMap | None,
    env: Mapping[str, str],
) -> str:
    detail = json.loads(row["detail"])
    if row["kind"] == "consent_withdrawn":
        return _call_service(row, key, datamap, env, row["recipient"], detail["operation"])
    recipient = next((r for r in policy.recipients if r.id == row["recipient"]), None)
    notify = recipient.notify if recipient is not None else None
    if notify is None or notify.channel != row["channel"]:
        raise ConfigError(
            f"recipient {row['recipient']!r} no longer declares its {row['channel']} channel",
            where=f"policy recipients.{row['recipient']}.notify",
            fix="declare the channel again; the notice stays pending until it can be sent",
        )
    if notify.email is not None:
        message = Message(notify.email, *_email(policy, row, detail))
        notifier_for("email", env).send(message)
        return "sent"
    if notify.webhook is not None:
        return _post(notify.webhook, env.get(notify.secret or "") or "", notify.secret, row, detail)
    return _call_service(row, key, datamap, env, notify.service or "", notify.operation or "")


def _email(policy: Policy, row: Mapping[str, Any], detail: Mapping[str, Any]) -> tuple[str, str]:
    org = policy.organisation.name
    done, ask = VERBS[row["kind"]]
    lines = [
        f"Under Article 19 GDPR, {org} tells you that it has {done} personal data of a person",
        "whose data it disclosed to you.",
        "",
        f"Request: {row['ref']}",
        f"Notice: {row['id']}",
        f"Records concerned: {detail['count']} (the disclosure ids you received with them below)",
        *(f"  {d}" for d in detail["disclosures"]),
        f"Categories: {', '.join(detail['categories'])}",
    ]
    if detail.get("fields"):
        lines.append(f"Fields rectified: {', '.join(detail['fields'])}")
    lines += ["", f"Please {ask}."]
    contact = policy.organisation.contact
    if contact is not None and getattr(contact, "email", None):
        lines.append(f"Questions: {contact.email}")
    return f"{org}: personal data {done} (GDPR Art. 19, request {row['ref']})", "\n".join(lines)


def _post(
    url: str,
    secret: str,
    secret_name: str | None,
    row: Mapping[str, Any],
    detail: Mapping[str, Any],
) -> str:
    import httpx

    if not secret:
        raise ConfigError(
            f"the webhook of recipient {row['recipient']!r} needs its key in {secret_name}",
            where="environment",
            fix=f"set {secret_name} to the key shared with the recipient",
        )
    body = json.dumps(
        {
            "type": "troth.art19_notice",
            "notice_id": row["id"],
            "request_id": row["ref"],
            "kind": row["kind"],
            "recipient": row["recipient"],
            **{k: detail[k] for k in ("disclosures", "count", "categories", "subjects", "fields")},
        },
        sort_keys=True,
    ).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(secret.encode(), int(time.time()), body),
        "Troth-Notice-Id": str(row["id"]),
    }
    try:
        with httpx.Client(timeout=TIMEOUT_S, follow_redirects=False) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise NotifyError(
            f"the webhook of recipient {row['recipient']!r} did not answer ({type(exc).__name__})",
            where=f"policy recipients.{row['recipient']}.notify.webhook",
            fix="check the URL and that the recipient's server is up; the notice is retried",
        ) from None
    if not response.is_success:
        raise NotifyError(
            f"the webhook of recipient {row['recipient']!r} answered {response.status_code}",
            where=f"policy recipients.{row['recipient']}.notify.webhook",
            fix="check the recipient's server and the shared key; the notice is retried",
        )
    return "sent"


def _call_service(
    row: Mapping[str, Any],
    key: bytes,
    datamap: DataMap | None,
    env: Mapping[str, str],
    service_name: str,
    operation: str,
) -> str:
    svc = next((s for s in (datamap.services if datamap else []) if s.name == service_name), None)
    if svc is None or operation not in svc.operations:
        raise ConfigError(
            f"service {service_name!r} or its operation {operation!r} is not in the data map",
            where="data map services",
            fix="declare it again; the notice stays pending until it can be sent",
        )
    values = {
        "request_id": str(row["ref"]),
        "kind": str(row["kind"]),
        "recipient": str(row["recipient"]),
        "notice_id": str(row["id"]),
        **unseal_values(key, str(row["id"]), row["sealed"]),
    }
    client = HttpService(svc, resolve_connection(svc.connection, env), env)
    try:
        response = client.call(f"{operation}", svc.operations[operation], values)
    finally:
        client.close()
    return "not_found" if response.status_code == 404 else "sent"

"""Withdrawn consents leave troth: pushed to the services that act on them (a mailing service's
unsubscribe), declared in the data map (``services[].withdrawals: {<consent id>: <operation>}``).

When the consent ledger stores a ``withdrawn`` event, :meth:`WithdrawalPushes.queue` writes, in
the SAME transaction, one outbound notice per service that declares the consent (kind
``consent_withdrawn``, ref ``consent:<event uid>``), its outbox job and its
``consent.push_queued`` ledger entry; the worker sends it with retry and back-off
(:mod:`troth.sharing.channels`; ``recipient.notified`` records the outcome). The identity values the
operation sends (``{email}``) are kept encrypted on the notice until it is sent.

The one-click unsubscribe link and the preference centre's session carry the address encrypted.
A withdrawal that named the person only by troth's keyed hash (a subject token of the consent
API) gives troth no address to send: its notice is stored ``failed`` at once, with
the reason and the fix, so the console shows it and nothing is silently skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from troth.datamap.model import DataMap
from troth.datamap.services import placeholders
from troth.sharing.notices import BUILTINS, insert_notice

if TYPE_CHECKING:
    from troth.audit.ledger import LedgerTransaction

KIND = "consent_withdrawn"
NO_ADDRESS = (
    "the withdrawal named the person only by troth's keyed hash, so troth has no {need} to "
    "send; record withdrawals with the person's identifier, or unsubscribe them in {service} "
    "by hand"
)


def identifier_values(identifier: str | None) -> dict[str, str]:
    """The placeholders a raw consent subject fills: ``email`` for an address, else
    ``subject``."""
    if not identifier:
        return {}
    value = identifier.strip()
    return {"email": value.lower()} if "@" in value else {"subject": value}


class WithdrawalPushes:
    """Per consent id, the (service, operation, identity placeholders) that receive its
    withdrawals."""

    def __init__(self, datamap: DataMap | None, key: bytes) -> None:
        self.key = key
        self.routes: dict[str, list[tuple[str, str, frozenset[str]]]] = {}
        for svc in datamap.services if datamap is not None else []:
            for consent_id, op in svc.withdrawals.items():
                needs = frozenset(placeholders(svc.operations[op]) - BUILTINS)
                self.routes.setdefault(consent_id, []).append((svc.name, op, needs))

    def __bool__(self) -> bool:
        return bool(self.routes)

    def queue(
        self,
        tx: LedgerTransaction,
        rows: Sequence[Mapping[str, Any]],
        identifiers: Mapping[str, str],
    ) -> int:
        """Queue the pushes of the newly stored withdrawals in *rows* (on the ledger
        transaction that stores them); returns how many."""
        n = 0
        for row in rows:
            if row["kind"] != "withdrawn" or row["consent_id"] not in self.routes:
                continue
            values = identifier_values(identifiers.get(row["event_uid"]))
            for service, op, needs in self.routes[row["consent_id"]]:
                missing = sorted(needs - values.keys())
                error = (
                    NO_ADDRESS.format(need=", ".join(missing), service=service) if missing else None
                )
                ref = f"consent:{row['event_uid']}"
                notice_id = insert_notice(
                    tx.conn,
                    ref=ref,
                    kind=KIND,
                    recipient=service,
                    channel="service",
                    detail={"consent": row["consent_id"], "operation": op},
                    sealed=None if missing else {k: values[k] for k in needs},
                    key=self.key,
                    status="failed" if missing else "pending",
                    error=error,
                )
                tx.append(
                    "consent.push_queued",
                    {
                        "notice_id": notice_id,
                        "consent_id": row["consent_id"],
                        "service": service,
                        "operation": op,
                        "status": "failed" if missing else "pending",
                        **({"reason": error} if error else {}),
                    },
                    actor="troth",
                    subject=ref,
                )
                n += 1
        return n

"""Requests from authorities (PL-9): recorded with their legal basis and authority, approved (or
refused) by a second person, and only then usable for a disclosure through the gateway.

>>> req = LegalRequests(engine).record("legal_authorities", "legal_disclosure",
...     authority="State police", basis="Court order 2026/17", actor="alice")
>>> LegalRequests(engine).approve(req.id, actor="bob")     # not the person who recorded it
>>> gateway.disclose("legal_authorities", "legal_disclosure", row, legal_request=req.id)

``confidential`` keeps the request's disclosures out of the person's access copy where the law
allows it (an investigation); the ``reason`` is required then, and goes to the ledger. Every state
change commits with its ledger entry (``legal_request.recorded|approved|refused``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.audit import Ledger
from troth.audit.hashing import utc_timestamp
from troth.errors import DisclosureRefusedError, UnknownNameError
from troth.sharing.models import LegalRequestRow
from troth.sharing.rules import LegalRequest
from troth.store.db import connect

TABLE: sa.Table = LegalRequestRow.__table__  # type: ignore[assignment]


class LegalRequests:
    """The legal requests in troth's state DB."""

    def __init__(self, engine: Engine, ledger: Ledger | None = None) -> None:
        self.engine = engine
        self.ledger = ledger if ledger is not None else Ledger(engine)

    def record(
        self,
        recipient: str,
        purpose: str,
        *,
        authority: str,
        basis: str,
        reference: str | None = None,
        categories: Sequence[str] = (),
        confidential: bool = False,
        reason: str | None = None,
        actor: str,
    ) -> LegalRequest:
        """Record a request (status ``pending``); it discloses nothing until approved."""
        req = LegalRequest(authority, basis, reference, tuple(categories))  # checks the texts
        if confidential and not (reason and reason.strip()):
            raise DisclosureRefusedError(
                "a confidential legal request needs the reason the law allows it",
                where="legal_request.reason",
                fix="name the provision that allows keeping it from the person",
            )
        rid = uuid.uuid4().hex
        row = {
            "id": rid, "recipient": recipient, "purpose": purpose, "authority": req.authority,
            "basis": req.basis, "reference": req.reference, "categories": " ".join(categories),
            "confidential": confidential, "reason": reason, "status": "pending",
            "requested_by": actor, "requested_at": utc_timestamp(), "decided_by": None,
            "decided_at": None,
        }  # fmt: skip
        data = {
            "legal_request_id": rid, "recipient": recipient, "purpose": purpose,
            "authority": req.authority, "legal_basis": req.basis, "categories": list(categories),
            "confidential": confidential, "confidential_reason": reason,
        }  # fmt: skip
        with self.ledger.transaction() as tx:
            tx.conn.execute(sa.insert(TABLE).values(**row))
            tx.append("legal_request.pending", data, actor=actor)
        return self.get(rid)

    def approve(self, request_id: str, *, actor: str) -> LegalRequest:
        return self._decide(request_id, "approved", actor)

    def refuse(self, request_id: str, *, actor: str) -> LegalRequest:
        return self._decide(request_id, "refused", actor)

    def _decide(self, request_id: str, status: str, actor: str) -> LegalRequest:
        with self.ledger.transaction() as tx:
            row = tx.conn.execute(sa.select(TABLE).where(TABLE.c.id == request_id)).first()
            if row is None:
                raise UnknownNameError("legal request", request_id, [], where="legal request")
            if row.status != "pending":
                raise DisclosureRefusedError(
                    f"legal request {request_id} is already {row.status}",
                    where="legal request",
                    fix="record a new request",
                )
            if row.requested_by == actor:
                raise DisclosureRefusedError(
                    f"legal request {request_id} must be {status} by someone other than who "
                    "recorded it",
                    where="legal request",
                    fix="ask a second person (the DPO) to decide",
                )
            tx.conn.execute(
                sa.update(TABLE)
                .where(TABLE.c.id == request_id)
                .values(status=status, decided_by=actor, decided_at=utc_timestamp())
            )
            tx.append(f"legal_request.{status}", {"legal_request_id": request_id}, actor=actor)
        return self.get(request_id)

    def status(self, request_id: str) -> str:
        with connect(self.engine) as conn:
            found = conn.execute(sa.select(TABLE.c.status).where(TABLE.c.id == request_id)).first()
        if found is None:
            raise UnknownNameError("legal request", request_id, [], where="legal request")
        return str(found[0])

    def get(self, request_id: str) -> LegalRequest:
        with connect(self.engine) as conn:
            row = conn.execute(sa.select(TABLE).where(TABLE.c.id == request_id)).first()
        if row is None:
            raise UnknownNameError("legal request", request_id, [], where="legal request")
        return LegalRequest(
            row.authority,
            row.basis,
            row.reference,
            tuple(row.categories.split()),
            id=row.id,
            confidential=bool(row.confidential),
        )

    def check_approved(self, request_id: str, recipient: str, purpose: str) -> LegalRequest:
        """The request, if it is approved for this recipient and purpose; refused otherwise."""
        with connect(self.engine) as conn:
            row = conn.execute(sa.select(TABLE).where(TABLE.c.id == request_id)).first()
        if row is None or row.status != "approved":
            raise DisclosureRefusedError(
                f"legal request {request_id[:32]} is not approved"
                + ("" if row is None else f" (it is {row.status})"),
                where="legal_request",
                fix="record the request, then have a second person approve it",
            )
        if (row.recipient, row.purpose) != (recipient, purpose):
            raise DisclosureRefusedError(
                f"legal request {request_id} was approved for another recipient or purpose",
                where="legal_request",
                fix=f"disclose to {row.recipient} for {row.purpose}, or record a new request",
            )
        return self.get(request_id)

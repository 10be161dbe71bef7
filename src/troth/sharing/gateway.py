"""The disclosure gateway: ``disclose(recipient, purpose, record)`` returns only what may leave.

>>> gw = Gateway.from_project("examples/plus", Settings.from_env())
>>> d = gw.disclose("courier_service", "courier_delivery", row, table="plus.crm_contacts")
>>> d.fields        # the delivery address; names, e-mail, phone and ids are withheld
>>> gw.disclose_many("courier_service", "courier_delivery", rows, table="plus.crm_contacts")

The record's person is named by the identity fields the data map declares (``identity: email``),
or by ``subject`` / ``subjects`` (:class:`~troth.dsr.identity.Identity`); the register stores
troth's keyed hash of it. A refused disclosure raises :class:`~troth.errors.DisclosureRefusedError`
and is recorded as ``disclosure.refused`` in the ledger (ids and reason, no subject).
"""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from troth.audit import Ledger
from troth.audit.hashing import KEYED_PREFIX, utc_timestamp
from troth.config import Settings
from troth.datamap.model import DataMap
from troth.dsr.identity import Identity, identity_hash
from troth.errors import DisclosureRefusedError, RequestError, TrothError
from troth.policy.model import Policy
from troth.sharing.legal import LegalRequests
from troth.sharing.register import RowTuple, Statements, write_batch
from troth.sharing.rules import LegalRequest, Rule, Rules, Shape, shown

#: rows per register batch (one transaction and one ledger entry each)
BATCH = 5000


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One disclosure: the fields that may leave, and what was recorded (no values)."""

    recipient: str
    purpose: str
    fields: dict[str, Any]
    categories: tuple[str, ...]
    withheld: tuple[str, ...]
    subject: str
    batch: str
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipient": self.recipient,
            "purpose": self.purpose,
            "fields": self.fields,
            "categories": list(self.categories),
            "withheld": list(self.withheld),
            "subject": self.subject,
            "id": f"{self.batch}:{self.n}",
        }


class Gateway:
    """Disclosures of one policy and data map, registered in troth's state DB."""

    def __init__(
        self,
        policy: Policy,
        datamap: DataMap,
        engine: Engine,
        *,
        key: bytes,
        ledger: Ledger | None = None,
    ) -> None:
        self.rules = Rules(policy, datamap)
        self.engine = engine
        self.key = key
        self.ledger = ledger if ledger is not None else Ledger(engine)
        self._sql = Statements.of(engine)
        self.legal = LegalRequests(engine, self.ledger)
        self._hmac = hmac.new(key, digestmod="sha256")

    @classmethod
    def from_project(cls, project: Path | str, settings: Settings | None = None) -> Gateway:
        from troth.dsr.run import project_of
        from troth.store import open_store

        s = settings or Settings.from_env()
        proj, datamap = project_of(project)
        return cls(proj.policy.policy, datamap, open_store(s), key=s.secret_key)

    def disclose(
        self,
        recipient: str,
        purpose: str,
        record: Mapping[str, Any],
        *,
        table: str | None = None,
        subject: Identity | None = None,
        legal_request: LegalRequest | str | None = None,
        actor: str = "troth",
    ) -> Disclosure:
        """The part of *record* the recipient may receive for the purpose, registered."""
        subjects = None if subject is None else [subject]
        return self.disclose_many(
            recipient,
            purpose,
            [record],
            table=table,
            subjects=subjects,
            legal_request=legal_request,
            actor=actor,
        )[0]

    def disclose_many(
        self,
        recipient: str,
        purpose: str,
        records: Sequence[Mapping[str, Any]],
        *,
        table: str | None = None,
        subjects: Sequence[Identity | None] | None = None,
        legal_request: LegalRequest | str | None = None,
        actor: str = "troth",
    ) -> list[Disclosure]:
        """Many records to one recipient for one purpose: all are minimised and registered, or
        (a refusal, a record naming no person) none."""
        if subjects is not None and len(subjects) != len(records):
            raise RequestError(
                f"{len(subjects)} subjects for {len(records)} records",
                where="subjects",
                fix="pass one subject (or None) per record",
            )
        try:
            legal_request = self._approved(recipient, purpose, legal_request)
            rule = self.rules.rule(recipient, purpose, table, legal_request)
        except DisclosureRefusedError as exc:
            self._refused(recipient, purpose, exc, len(records), actor)
            raise
        now = utc_timestamp()
        legal = rule.legal
        tail = (legal.basis, legal.authority, legal.reference) if legal else (None, None, None)
        rid, pid = rule.recipient.id, rule.purpose.id
        out: list[Disclosure] = []
        batches: list[tuple[str, list[RowTuple], dict[int, tuple[int, Shape]]]] = []
        rows: list[RowTuple] = []
        shapes: dict[int, tuple[int, Shape]] = {}
        batch = ""
        for i, record in enumerate(records):
            if i % BATCH == 0:
                batch, rows, shapes = uuid.uuid4().hex, [], {}
                batches.append((batch, rows, shapes))
            shape = rule.shape(tuple(record))
            given = subjects[i] if subjects is not None else None
            subject = self._subject(given, record, shape.identities, i)
            found = shapes.get(id(shape))  # shapes are cached by the rule: one object each
            if found is None:
                found = shapes[id(shape)] = (len(shapes), shape)
            k = found[0]
            n = len(rows)
            rows.append((batch, n, subject, k))
            fields = {f: record[f] for f in shape.keep}
            out.append(Disclosure(rid, pid, fields, shape.split, shape.withheld, subject, batch, n))
        # every record checked before anything is written; then one transaction per batch
        for batch, rows, shapes in batches:
            kinds = json.dumps([[s.categories, s.fields] for _k, s in shapes.values()])
            legal_id = legal.id if legal else None
            head = (batch, rid, pid, rule.source, now, *tail, actor, len(rows), kinds, legal_id)
            write_batch(self.ledger, self._sql, head, rows, actor)
        return out

    def rule(
        self,
        recipient: str,
        purpose: str,
        table: str | None = None,
        legal_request: LegalRequest | None = None,
    ) -> Rule:
        """The compiled rule (raises when the policy refuses), without disclosing anything."""
        return self.rules.rule(recipient, purpose, table, legal_request)

    def record_legal_request(
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
        """Record a legal request for a recipient and purpose the policy declares (pending)."""
        request = LegalRequest(authority, basis, reference, tuple(categories))
        self.rules.rule(recipient, purpose, None, request)  # refuses an undeclared pair
        return self.legal.record(
            recipient, purpose, authority=authority, basis=basis, reference=reference,
            categories=categories, confidential=confidential, reason=reason, actor=actor,
        )  # fmt: skip

    def _approved(
        self, recipient: str, purpose: str, legal: LegalRequest | str | None
    ) -> LegalRequest | None:
        """The approved legal request a recipient that needs one gets (loaded by its id)."""
        rec = self.rules.recipients.get(recipient)
        if rec is None or not rec.legal_request_required:
            return legal if isinstance(legal, LegalRequest) else None
        if legal is None:
            return None  # the rule refuses: a legal request is required
        request_id = legal if isinstance(legal, str) else legal.id
        if not request_id:
            raise DisclosureRefusedError(
                f"recipient {rec.id!r} may receive data only on a recorded, approved legal request",
                where="legal_request",
                fix="record it (LegalRequests.record), have a second person approve it, and pass "
                "its id",
            )
        return self.legal.check_approved(request_id, recipient, purpose)

    def _subject(
        self,
        given: Identity | None,
        record: Mapping[str, Any],
        identities: tuple[tuple[str, str], ...],
        index: int,
    ) -> str:
        if given is not None:
            return identity_hash(self.key, given)
        for fld, name in identities:
            value = record.get(fld)
            if value is None or value == "":
                continue
            if name == "email":  # identity_hash inlined: the hot path of a batch
                h = self._hmac.copy()
                h.update(f"email:{str(value).strip().lower()}".encode())
                return KEYED_PREFIX + h.hexdigest()
            try:
                return identity_hash(self.key, Identity(name, str(value)))
            except RequestError:
                continue
        raise RequestError(
            f"record {index} names no identity of its person",
            where="record",
            fix="include an identity field the data map declares (e.g. email), or pass subject",
        )

    def _refused(
        self, recipient: str, purpose: str, exc: TrothError, count: int, actor: str
    ) -> None:
        data = {
            "recipient": recipient if shown(recipient) != "(not an id)" else None,
            "purpose": purpose if shown(purpose) != "(not an id)" else None,
            "reason": exc.where or "policy",
            "count": count,
        }
        self.ledger.append("disclosure.refused", data, actor=actor)

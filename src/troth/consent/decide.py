"""Purpose decisions: may troth's user process this subject's data for this purpose?

``Decider.allows(subject, purpose, gpc=False)`` combines, in this order:

1. a restriction or objection set by a data-subject request (``dsr_restriction`` table, see
   :func:`table_restrictions`); legal-obligation purposes go on;
2. Global Privacy Control: an opt-out of sale, sharing and targeted advertising (purposes whose use
   is under ``marketing.advertising``, ``sales`` or ``third_party_sharing``, unless the basis is a
   legal obligation);
3. the legal basis: contract, legal obligation, vital interest and public task need no consent;
   legitimate interest is allowed unless the subject objected (step 1);
4. consent: one of the purpose's consents is currently given, for the current notice version and
   not expired.

Decisions are cached in process and dropped when the ledger records an event for the subject
(:meth:`ConsentLedger.on_change`) or on :meth:`Decider.invalidate`. Another process (a restriction
by ``troth dsr restrict``, a consent given through another server) is seen within
:data:`FRESHNESS` seconds: every audited change moves the audit ledger's head, and a decider that
has not looked for :data:`FRESHNESS` seconds reads the head (one indexed row) before answering
from its cache, and drops the cache when it moved. A denied decision says why.

A decision can be *scoped* (a tenant: ``scope={"tenant": "42"}``): consent is then the person's
consent given in that scope (:func:`~troth.consent.subjects.scoped_subject`), and a restriction
made in that scope, or without one, applies.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.consent.ledger import ConsentLedger
from troth.consent.subjects import Subject, scope_text, scoped_subject
from troth.errors import UnknownNameError
from troth.policy.model import LegalBasis, Purpose

#: uses that a GPC signal opts out of (sale, sharing, targeted advertising)
GPC_USES = ("marketing.advertising", "sales", "third_party_sharing")
NO_CONSENT_NEEDED = {
    LegalBasis.contract,
    LegalBasis.legal_obligation,
    LegalBasis.vital_interest,
    LegalBasis.public_task,
}
#: table the DSR slice writes restrictions/objections to (subject, purpose NULL = all, lifted_at)
RESTRICTION_TABLE = "dsr_restriction"

#: ``subject ref -> purposes restricted for it ("*" = all)``
RestrictionCheck = Callable[[str], frozenset[str]]


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    purpose: str
    reason: str
    basis: str | None = None
    consent_id: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


def under(use: str, roots: tuple[str, ...]) -> bool:
    return any(use == r or use.startswith(r + ".") for r in roots)


def table_restrictions(engine: Engine) -> RestrictionCheck:
    """Read ``dsr_restriction``: a subject ref recorded there by a restriction request is
    restricted for every purpose (``troth dsr restrict``, :mod:`troth.dsr.restriction`).

    A missing table means nobody is restricted.
    """

    def check(subject: str) -> frozenset[str]:
        sql = sa.text(f"SELECT COUNT(*) FROM {RESTRICTION_TABLE} WHERE identity_hash = :s")
        try:
            with engine.connect() as conn:
                found = conn.execute(sql, {"s": subject}).scalar()
        except sa.exc.DBAPIError:
            return frozenset()
        return frozenset({"*"}) if found else frozenset()

    return check


#: seconds a decider answers from its cache before it looks for changes made by other processes
FRESHNESS = 0.5


def ledger_version(engine: Engine) -> int | None:
    """The audit ledger's head seq: it moves with every audited change, in any process."""
    try:
        with engine.connect() as conn:
            row = conn.exec_driver_sql("SELECT seq FROM audit_head WHERE id = 1").first()
    except sa.exc.DBAPIError:
        return None
    return int(row[0]) if row is not None else None


class Decider:
    """``allows(subject, purpose)`` over one consent ledger, cached in process."""

    def __init__(
        self,
        ledger: ConsentLedger,
        *,
        restrictions: RestrictionCheck | None = None,
        freshness: float = FRESHNESS,
    ) -> None:
        self.ledger = ledger
        self.policy = ledger.policy
        self.purposes: dict[str, Purpose] = {p.id: p for p in self.policy.purposes}
        self.restrictions = restrictions or table_restrictions(ledger.engine)
        self.freshness = freshness
        self._cache: dict[tuple[Subject, str], dict[tuple[str, bool], Decision]] = {}
        self._aliases: dict[str, set[tuple[Subject, str]]] = {}
        self._version = ledger_version(ledger.engine)
        self._checked = time.monotonic()
        ledger.on_change(self._changed)

    def allows(
        self,
        subject: Subject,
        purpose: str,
        *,
        gpc: bool = False,
        scope: Mapping[str, str] | None = None,
    ) -> Decision:
        self._refresh()
        key = (subject, scope_text(scope))
        try:
            return self._cache[key][(purpose, gpc)]
        except KeyError:
            pass
        decision, cacheable = self._decide(subject, purpose, gpc, scope)
        if cacheable:
            ref = self.ledger.subject_ref(subject)
            self._cache.setdefault(key, {})[(purpose, gpc)] = decision
            self._aliases.setdefault(ref, set()).add(key)
            if scope:
                self._aliases.setdefault(self._scoped_ref(subject, scope), set()).add(key)
        return decision

    def _refresh(self) -> None:
        """Drop the cache when another process changed troth's state since the last look."""
        now = time.monotonic()
        if now - self._checked < self.freshness:
            return
        self._checked = now
        version = ledger_version(self.ledger.engine)
        if version != self._version:
            self._version = version
            self._cache.clear()
            self._aliases.clear()

    def _scoped_ref(self, subject: Subject, scope: Mapping[str, str]) -> str:
        return scoped_subject(self.ledger.key, subject, scope).value

    def invalidate(self, subject: Subject | None = None) -> None:
        """Forget cached decisions of *subject* (identifier or ref), or all of them."""
        if subject is None:
            self._cache.clear()
            self._aliases.clear()
            return
        self._changed({self.ledger.subject_ref(subject)})

    def _changed(self, refs: set[str]) -> None:
        for ref in refs:
            for alias in self._aliases.pop(ref, ()):
                self._cache.pop(alias, None)

    def _decide(
        self, subject: Subject, pid: str, gpc: bool, scope: Mapping[str, str] | None = None
    ) -> tuple[Decision, bool]:
        purpose = self.purposes.get(pid)
        if purpose is None:
            raise UnknownNameError("purpose", pid, self.purposes, where="policy.purposes")
        basis = purpose.legal_basis
        basis_text = basis.value if basis else None
        ref = self.ledger.subject_ref(subject)

        def deny(reason: str, consent_id: str | None = None) -> tuple[Decision, bool]:
            return Decision(False, pid, reason, basis_text, consent_id), True

        restricted = self.restrictions(ref)
        if scope:  # a restriction made without a scope applies in every scope
            scoped = scoped_subject(self.ledger.key, subject, scope)
            restricted = restricted | self.restrictions(scoped.value)
            subject = scoped
        if basis is not LegalBasis.legal_obligation and ("*" in restricted or pid in restricted):
            return deny("processing is restricted or objected to by a data-subject request")
        if gpc and basis is not LegalBasis.legal_obligation and under(purpose.use, GPC_USES):
            return deny(
                f"Global Privacy Control opts out of {purpose.use} (sale, sharing or targeted "
                "advertising)"
            )
        if basis is None:
            return deny("the purpose has no legal basis in the policy")
        if basis in NO_CONSENT_NEEDED:
            return Decision(True, pid, f"legal basis {basis.value}", basis_text), True
        if basis is LegalBasis.legitimate_interest:
            return Decision(True, pid, "legitimate interest, no objection", basis_text), True
        if not purpose.consents:
            return deny("consent is the legal basis but the purpose names no consent")
        states = self.ledger.state_or_empty(subject)
        reasons = []
        for cid in purpose.consents:
            consent = self.ledger.consents.get(cid)
            st = states.get(cid)
            if consent is None or st is None:
                reasons.append(f"no consent {cid!r} recorded")
                continue
            if not st.given:
                reasons.append(f"consent {cid!r} is {st.kind.value}")
                continue
            if st.notice_version != consent.notice.version:
                reasons.append(
                    f"consent {cid!r} was given to notice version {st.notice_version!r}, "
                    f"the current one is {consent.notice.version!r}; ask again"
                )
                continue
            if consent.expires_after is not None:
                given_at = datetime.fromisoformat(st.event_time)
                if given_at < consent.expires_after.before(datetime.now(UTC)):
                    reasons.append(f"consent {cid!r} expired")
                    continue
                ok = Decision(True, pid, f"consent {cid!r} given", basis_text, cid)
                return ok, False  # time-dependent: not cached
            return Decision(True, pid, f"consent {cid!r} given", basis_text, cid), True
        return deny("; ".join(reasons), purpose.consents[0])

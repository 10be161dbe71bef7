"""The privacy centre's flow, without HTTP: ask, send a code, verify, file the request.

>>> centre = Centre(engine, policy, datamap, secret=key, env=os.environ, project_dir=folder)
>>> code_id = centre.start(Ask("access", Identity("email", "ada@example.com")), ip="192.0.2.1")
>>> result = centre.verify(code_id, "123456")   # the code the person received

:meth:`Centre.start` answers the same whether or not the identity is known to any store (it never
looks): a code goes to whatever address was given. The request exists only after the right code
(:meth:`Centre.verify`), filed through :class:`troth.dsr.requests.Requests`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.audit import Event, Ledger, keyed_hash
from troth.centre.codes import LIFETIME, Checked, Codes, Outcome
from troth.centre.crypto import Box, derive
from troth.centre.models import CentreRequest
from troth.centre.ratelimit import Limit, hit
from troth.consent.events import EventKind, NewEvent
from troth.consent.ledger import ConsentLedger
from troth.consent.subjects import SubjectRef
from troth.datamap.model import DataMap
from troth.dsr.filing import QUEUED_KINDS, file_new
from troth.dsr.identity import Identity, identity_hash
from troth.dsr.requests import Kind, RequestInfo, Requests, Status
from troth.errors import NotifyError, RequestError
from troth.notify.base import notifier_for
from troth.notify.notices import Notices, send_notice
from troth.policy.model import Policy
from troth.store.db import connect

TABLE: sa.Table = CentreRequest.__table__  # type: ignore[assignment]
log = logging.getLogger("troth.centre")
#: the longest value a person may give for a field to correct
MAX_VALUE = 1000
#: what a person can ask for on the request form
KINDS = ("access", "erasure", "rectification", "restriction", "objection", "withdraw_consent")
KIND_LABELS = {
    "access": "access",
    "erasure": "erasure",
    "rectification": "correction",
    "restriction": "restriction",
    "objection": "objection",
    "withdraw_consent": "consent withdrawal",
    "preferences": "preferences",
}
#: per keyed identity and per client address, codes asked for in one hour
IDENTITY_LIMIT = Limit(5, 3600)
IP_LIMIT = Limit(30, 3600)
#: a verified person's session in the preference centre
SESSION_SECONDS = 30 * 60


class RateLimitedError(RequestError):
    """Too many codes asked for one identity or from one address."""


@dataclass(frozen=True)
class Ask:
    """What a person asks for: a kind, one identity, and the kind's details."""

    kind: str
    identity: Identity
    #: rectification: ``{"changes": {"table.field": value}}``; objection: ``{"purpose": id}``;
    #: withdraw_consent: ``{"consent": id}``; any: ``{"scope": {name: value}}``
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verified:
    """The outcome of a code: on success the filed request and a status token, or a session."""

    outcome: Outcome
    tries_left: int = 0
    kind: str | None = None
    request: RequestInfo | None = None
    status_token: str | None = None
    manual: bool = False
    #: the consent ledger's ref of the person (for the preference centre session)
    subject: str | None = None
    #: the verified identifier (kept encrypted in the session, for withdrawal pushes)
    identifier: str | None = field(default=None, repr=False)


class Centre:
    def __init__(
        self,
        engine: Engine,
        policy: Policy,
        datamap: DataMap | None,
        *,
        secret: bytes,
        env: Mapping[str, str],
        project_dir: Path | None = None,
        consents: ConsentLedger | None = None,
        manual_erasure: bool = False,
        base_url: str = "",
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.datamap = datamap
        self.secret = secret
        self.env = dict(env)
        self.codes = Codes(engine, secret)
        self.box = Box(secret, "contact")
        self.requests = Requests(engine, secret, actor="privacy-centre")
        self.ledger = Ledger(engine)
        self.consents = consents
        self.notices = Notices(project_dir, policy.policy.language)
        self.manual_erasure = manual_erasure
        self.base_url = base_url.rstrip("/")
        self.project_dir = project_dir
        self._token_key = derive(secret, "status token")

    # --- facts from the policy and the map ----------------------------------------------------

    @property
    def organisation(self) -> str:
        return self.policy.organisation.name

    def scopes(self) -> list[str]:
        if self.datamap is None:
            return []
        names = {n for _, t in self.datamap.tables() for n in t.scope}
        return sorted(names)

    def fields(self) -> list[tuple[str, str]]:
        """Personal fields a person can ask to correct: ``(address, label)``."""
        if self.datamap is None:
            return []
        out = []
        for ds, table, fld in self.datamap.fields():
            if fld.categories and not fld.primary_key and not fld.references:
                label = fld.label or fld.name.replace("_", " ")
                where = table.label or table.name.replace("_", " ")
                out.append((f"{ds.name}.{table.name}.{fld.name}", f"{label} ({where})"))
        return out

    # --- asking ---------------------------------------------------------------------------------

    def check_ask(self, ask: Ask) -> None:
        if ask.kind not in (*KINDS, "preferences"):
            raise RequestError(f"unknown request type {ask.kind!r}", fix=f"use one of {KINDS}")
        if ask.identity.name not in ("email", "phone"):
            raise RequestError("identify with an e-mail address or a phone number")
        if ask.identity.name == "email" and "@" not in ask.identity.value:
            raise RequestError("the e-mail address has no @", where="e-mail address")
        d = ask.details
        if ask.kind == "rectification":
            valid = {a for a, _ in self.fields()}
            changes = d.get("changes") or {}
            if not changes or any(a not in valid for a in changes):
                raise RequestError("name at least one field to correct, and its new value")
            if any(len(str(v)) > MAX_VALUE for v in changes.values()):
                raise RequestError(f"a new value is longer than {MAX_VALUE} characters")
        if ask.kind == "objection" and d.get("purpose") not in {p.id for p in self.policy.purposes}:
            raise RequestError("choose the purpose you object to")
        if ask.kind == "withdraw_consent" and d.get("consent") not in {
            c.id for c in self.policy.consents
        }:
            raise RequestError("choose the consent you withdraw")
        scope = d.get("scope") or {}
        if any(k not in self.scopes() for k in scope):
            raise RequestError("unknown scope", fix=f"scopes of this map: {self.scopes()}")

    def start(self, ask: Ask, *, ip: str | None) -> str:
        """Send a one-time code for *ask* to its identity; the code's id (for the verify page).

        Raises :class:`RateLimitedError` when the identity or the address asked too often."""
        self.check_ask(ask)
        ident_hash = identity_hash(self.secret, ask.identity)
        allowed = hit(self.engine, "id:" + ident_hash, IDENTITY_LIMIT)
        if ip is not None:
            allowed = hit(self.engine, "ip:" + keyed_hash(self.secret, ip), IP_LIMIT) and allowed
        if not allowed:
            raise RateLimitedError(
                "too many codes were asked for; wait an hour and try again",
                where="privacy centre",
            )
        payload = {
            "kind": ask.kind,
            "identity": [ask.identity.name, ask.identity.value],
            "details": dict(ask.details),
        }
        code_id, code = self.codes.issue(
            "preferences" if ask.kind == "preferences" else "request", ident_hash, payload
        )
        send_notice(
            self.notices,
            notifier_for(ask.identity.name, self.env),
            self.ledger,
            name="code",
            to=ask.identity.value,
            channel=ask.identity.name,
            request_id=None,
            context={
                "organisation": self.organisation,
                "code": code,
                "minutes": int(LIFETIME.total_seconds() // 60),
            },
        )
        return code_id

    def verify(
        self, code_id: str, code: str, purpose: str = "request", base_url: str | None = None
    ) -> Verified:
        """Check the code and, when it is right, do what it unlocks (:meth:`complete`)."""
        return self.complete(self.codes.check(code_id, purpose, code), base_url)

    def complete(self, checked: Checked, base_url: str | None = None) -> Verified:
        """What a checked code unlocks: a session, a withdrawal, or a filed request. Kept apart
        from the check so a server can run the (slower, ledger-writing) filing in its own pool
        and never make a wrong code wait behind it."""
        if checked.outcome is not Outcome.ok or checked.payload is None:
            return Verified(checked.outcome, checked.tries_left)
        payload = checked.payload
        kind = str(payload["kind"])
        identity = Identity(*payload["identity"])
        details: dict[str, Any] = payload.get("details") or {}
        subject = self.subject_of(identity)
        if kind == "preferences":
            return Verified(
                Outcome.ok, kind=kind, subject=subject, identifier=identity.normalised()
            )
        if kind == "withdraw_consent":
            self.set_consent(
                subject, str(details["consent"]), give=False, identifier=identity.normalised()
            )
            return Verified(Outcome.ok, kind=kind, subject=subject)
        return self._file(kind, identity, details, subject, base_url)

    def subject_of(self, identity: Identity) -> str:
        """The consent ledger's ref of the person: the keyed hash of the identifier."""
        from troth.consent.subjects import subject_ref

        return subject_ref(self.secret, identity.normalised())

    def _file(
        self,
        kind: str,
        identity: Identity,
        details: dict[str, Any],
        subject: str,
        base_url: str | None,
    ) -> Verified:
        scope = details.get("scope") or {}
        manual = identity.name == "phone" or (kind == "erasure" and self.manual_erasure)
        if Kind(kind) in QUEUED_KINDS and self.project_dir is not None:
            # filed for the workers: identities sealed until the run, verified by the code
            # (unless the team must verify), approved as the policy's approval rules say
            info, _ = file_new(
                self.engine,
                self.secret,
                self.project_dir,
                Kind(kind),
                [identity],
                scope=scope,
                actor="privacy-centre",
                verified=not manual,
                verified_how="one_time_code",
            )
        else:  # rectification and objection carry details an operator acts on
            identities = [
                identity,
                *(Identity(f"scope_{k}", str(v)) for k, v in sorted(scope.items())),
            ]
            jurisdictions = [j.value for j in self.policy.jurisdictions]
            info = self.requests.submit(Kind(kind), identities, jurisdictions)
        token = secrets.token_urlsafe(24)
        now = datetime.now(UTC).isoformat()
        with connect(self.engine) as conn, conn.begin():
            conn.execute(
                sa.insert(TABLE),
                {
                    "request_id": info.id,
                    "token_hash": keyed_hash(self._token_key, token),
                    "channel": identity.name,
                    "contact": self.box.seal(identity.value),
                    "details": self.box.seal(details),
                    "manual_verification": manual,
                    "created_at": now,
                    "purged_at": None,
                },
            )
        if manual:
            self.ledger.append_many(
                [
                    Event(
                        "centre.manual_verification",
                        {
                            "request_id": info.id,
                            "reason": "phone" if identity.name == "phone" else kind,
                        },
                        "privacy-centre",
                        f"dsr:{info.id}",
                    )
                ]
            )
        elif info.status == Status.received:
            info = self.requests.transition(
                info.id,
                Status.identity_verified,
                data={"method": "one_time_code", "channel": identity.name},
            )
        try:
            self.notify(info.id, "received", token=token, base_url=base_url)
        except NotifyError as exc:  # the request stands; the person sees its status page now
            log.error("privacy centre: the received notice failed (%s)", type(exc).__name__)
            self.ledger.append_many(
                [
                    Event(
                        "notice.failed",
                        {"request_id": info.id, "notice": "received", "error": type(exc).__name__},
                        "privacy-centre",
                        f"dsr:{info.id}",
                    )
                ]
            )
        return Verified(
            Outcome.ok, kind=kind, request=info, status_token=token, manual=manual, subject=subject
        )

    # --- following a request ------------------------------------------------------------------

    def base(self, base_url: str | None) -> str:
        """The public address of the centre: ``TROTH_PUBLIC_URL``, else the request's."""
        return self.base_url or (base_url or "").rstrip("/")

    def status_url(self, token: str, base_url: str | None = None) -> str:
        return f"{self.base(base_url)}/privacy/status/{token}"

    def by_token(self, token: str) -> tuple[RequestInfo, bool] | None:
        """The request of a status token, and whether it waits for manual verification."""
        if not token or len(token) > 100:
            return None
        wanted = keyed_hash(self._token_key, token)
        with connect(self.engine) as conn:
            row = conn.execute(
                sa.select(TABLE.c.request_id, TABLE.c.manual_verification).where(
                    TABLE.c.token_hash == wanted
                )
            ).first()
        if row is None:
            return None
        return self.requests.get(row[0]), bool(row[1])

    def details(self, request_id: str) -> dict[str, Any]:
        """The decrypted details of a centre request (fields to correct, purpose, scope)."""
        row = self.filed(request_id)
        return dict(self.box.open(row["details"])) if row["details"] else {}

    def filed(self, request_id: str) -> Mapping[str, Any]:
        with connect(self.engine) as conn:
            row = (
                conn.execute(sa.select(TABLE).where(TABLE.c.request_id == request_id))
                .mappings()
                .first()
            )
        if row is None:
            raise RequestError(f"request {request_id} was not filed through the privacy centre")
        return dict(row)

    def notify(
        self,
        request_id: str,
        notice: str,
        *,
        token: str | None = None,
        reason: str | None = None,
        extra: Mapping[str, Any] | None = None,
        base_url: str | None = None,
    ) -> None:
        """Send notice *notice* (received, verified, completed, denied, extended) to the person
        who filed *request_id*; recorded in the ledger without the address."""
        row = self.filed(request_id)
        if row["contact"] is None:
            raise RequestError(
                f"the contact data of request {request_id} was purged", where="privacy centre"
            )
        info = self.requests.get(request_id)
        contact = self.policy.organisation.contact
        context: dict[str, Any] = {
            "organisation": self.organisation,
            "kind_label": KIND_LABELS.get(info.kind, info.kind),
            "received": info.received_at[:10],
            "due": info.due_at[:10],
            "status_url": self.status_url(token, base_url)
            if token
            else f"{self.base(base_url)}/privacy",
            "manual": bool(row["manual_verification"]),
            "reason": reason or info.reason or "",
            "contact": (contact.email or contact.url or "") if contact else "",
            "download_url": None,
            "expires": None,
            **(extra or {}),
        }
        send_notice(
            self.notices,
            notifier_for(row["channel"], self.env),
            self.ledger,
            name=notice,
            to=str(self.box.open(row["contact"])),
            channel=row["channel"],
            request_id=request_id,
            context=context,
        )

    # --- consents --------------------------------------------------------------------------------

    def set_consent(
        self,
        subject: str,
        consent_id: str,
        *,
        give: bool,
        identifier: str | None = None,
        **extra: Any,
    ) -> None:
        """Record the choice of the person *subject* (a ref); *identifier*: their identifier,
        when known (a withdrawal is then pushed to the services that act on it)."""
        if self.consents is None:
            raise RequestError("the privacy centre has no consent ledger")
        if identifier is not None and self.consents.subject_ref(identifier) != subject:
            identifier = None  # not this person's: recorded by the ref alone
        self.consents.record(
            NewEvent(
                identifier if identifier is not None else SubjectRef(subject),
                consent_id,
                EventKind.given if give else EventKind.withdrawn,
                channel="privacy_centre",
                **extra,
            ),
            actor="privacy-centre",
        )

    # --- upkeep ----------------------------------------------------------------------------------

    def contacts_cutoff(self, keep: timedelta | None, moment: datetime) -> datetime:
        """The moment before which a closed request's contact data is past its keeping: *keep*
        before *moment*, or the policy's ``requests.contact_retention`` (calendar months)."""
        if keep is not None:
            return moment - keep
        return self.policy.requests.contact_retention.before(moment)

    def _closed_before(self, cutoff: datetime) -> sa.Select[tuple[str]]:
        from troth.dsr.models import DsrRequest

        req: sa.Table = DsrRequest.__table__  # type: ignore[assignment]
        return sa.select(req.c.id).where(
            req.c.status.in_([Status.completed.value, Status.denied.value]),
            req.c.updated_at < cutoff.isoformat(),
        )

    def contacts_overdue(self, *, now: datetime | None = None) -> int:
        """How many closed requests still hold contact data past the policy's period (0 when
        ``troth centre upkeep`` runs as often as the policy needs)."""
        cutoff = self.contacts_cutoff(None, now or datetime.now(UTC))
        with connect(self.engine) as conn:
            count = conn.execute(
                sa.select(sa.func.count())
                .select_from(TABLE)
                .where(
                    TABLE.c.request_id.in_(self._closed_before(cutoff)),
                    TABLE.c.purged_at.is_(None),
                )
            ).scalar_one()
        return int(count)

    def purge_contacts(self, keep: timedelta | None = None, *, now: datetime | None = None) -> int:
        """Forget the contact data and details of requests closed more than *keep* ago (by
        default the policy's ``requests.contact_retention``)."""
        moment = now or datetime.now(UTC)
        closed = self._closed_before(self.contacts_cutoff(keep, moment))
        with connect(self.engine) as conn, conn.begin():
            count = conn.execute(
                sa.update(TABLE)
                .where(TABLE.c.request_id.in_(closed), TABLE.c.purged_at.is_(None))
                .values(contact=None, details=None, purged_at=moment.isoformat())
            ).rowcount
        if count:
            self.ledger.append_many(
                [Event("centre.contacts_purged", {"count": int(count)}, "privacy-centre")]
            )
        self.codes.purge(now=moment)
        return int(count)

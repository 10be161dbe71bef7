"""Signed webhooks on every change of a request, retried with back-off, each delivery recorded.

An endpoint (``troth webhook add URL``) gets a POST for every outbox event it subscribes to. The
body is JSON with ids, statuses and dates, never personal data. Each POST carries:

- ``Troth-Webhook-Id``: the delivery id (the same on every retry: receivers drop repeats);
- ``Troth-Timestamp``: Unix seconds when this attempt was signed;
- ``Troth-Signature``: ``v1=`` and the hex HMAC-SHA256, under the endpoint's secret, of
  ``"{timestamp}.{body}"``.

A receiver recomputes the MAC over the raw body, compares in constant time, and refuses a
timestamp more than :data:`REPLAY_WINDOW` seconds from its clock (:func:`verify_signature` does
all three). The endpoint's secret is derived from troth's secret key and the endpoint id (shown
once by ``troth webhook add``, never stored). A delivery that does not get a 2xx is retried by the
job's back-off (exponential, 8 attempts), then kept as ``failed``; ``troth webhook deliveries``
lists them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, mapped_column

from troth.errors import ConfigError, UnknownNameError
from troth.store.db import connect, reading
from troth.store.models import Base, BigInt
from troth.store.outbox import now, stamp

if TYPE_CHECKING:
    import httpx

#: seconds a receiver accepts between the signed timestamp and its clock
REPLAY_WINDOW = 300
#: attempts before a delivery is kept as failed
MAX_ATTEMPTS = 8
TIMEOUT_S = 10.0


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoint"

    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    #: event prefix it subscribes to (``dsr.`` for every request change)
    events: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[str] = mapped_column(sa.String(32))
    disabled_at: Mapped[str | None] = mapped_column(sa.String(32))


class WebhookDelivery(Base):
    __tablename__ = "webhook_delivery"
    __table_args__ = (sa.UniqueConstraint("endpoint_id", "event_id"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str] = mapped_column(
        sa.String(16), sa.ForeignKey("webhook_endpoint.id", ondelete="CASCADE")
    )
    #: the outbox row of the event
    event_id: Mapped[int] = mapped_column(BigInt)
    body: Mapped[str] = mapped_column(sa.Text)
    #: pending, delivered, failed
    status: Mapped[str] = mapped_column(sa.String(12), index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer)
    last_code: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[str] = mapped_column(sa.String(32))
    updated_at: Mapped[str] = mapped_column(sa.String(32))


ENDPOINTS: sa.Table = WebhookEndpoint.__table__  # type: ignore[assignment]
DELIVERIES: sa.Table = WebhookDelivery.__table__  # type: ignore[assignment]


def endpoint_secret(secret_key: bytes, endpoint_id: str) -> str:
    return hmac.new(secret_key, f"troth webhook {endpoint_id}".encode(), hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now_s: float | None = None,
    window: int = REPLAY_WINDOW,
) -> bool:
    """What a receiver checks: the MAC over the raw body, and a timestamp inside the window."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        ts = int(lower.get("troth-timestamp", ""))
    except ValueError:
        return False
    if abs((now_s if now_s is not None else time.time()) - ts) > window:
        return False
    return hmac.compare_digest(lower.get("troth-signature", ""), sign(secret, ts, body))


@dataclass(frozen=True)
class Endpoint:
    id: str
    url: str
    events: str
    created_at: str
    disabled_at: str | None


def add_endpoint(engine: Engine, secret_key: bytes, url: str, events: str = "dsr.") -> str:
    """Register *url*; returns the endpoint id (its secret: :func:`endpoint_secret`)."""
    import httpx  # only where webhooks are used: troth's state models import this module

    parsed = httpx.URL(url)
    if parsed.scheme not in {"http", "https"} or not parsed.host or len(url) > 500:
        raise ConfigError(
            f"webhook URL {url!r} is not an http(s) URL",
            where="troth webhook add",
            fix="give https://host/path",
        )
    endpoint_id = secrets.token_hex(6)
    with connect(engine) as conn, conn.begin():
        conn.execute(
            sa.insert(ENDPOINTS).values(
                id=endpoint_id, url=url, events=events, created_at=stamp(now()), disabled_at=None
            )
        )
    from troth.audit import Ledger

    Ledger(engine).append(
        "webhook.added", {"endpoint_id": endpoint_id, "events": events}, actor="cli"
    )
    return endpoint_id


def list_endpoints(engine: Engine | Connection) -> list[Endpoint]:
    with reading(engine) as conn:
        rows = conn.execute(sa.select(ENDPOINTS).order_by(ENDPOINTS.c.created_at)).all()
    return [Endpoint(r.id, r.url, r.events, r.created_at, r.disabled_at) for r in rows]


def disable_endpoint(engine: Engine, endpoint_id: str) -> None:
    with connect(engine) as conn, conn.begin():
        done = conn.execute(
            sa.update(ENDPOINTS)
            .where(ENDPOINTS.c.id == endpoint_id, ENDPOINTS.c.disabled_at.is_(None))
            .values(disabled_at=stamp(now()))
        ).rowcount
    if not done:
        active = [e.id for e in list_endpoints(engine) if not e.disabled_at]
        raise UnknownNameError("active webhook endpoint id", endpoint_id, active)
    from troth.audit import Ledger

    Ledger(engine).append("webhook.removed", {"endpoint_id": endpoint_id}, actor="cli")


#: ``Connection.info`` key of the active endpoints read in the connection's current transaction
_IN_TRANSACTION = "troth.webhooks.active"


def has_endpoints(engine: Engine | Connection, topic: str) -> bool:
    """Whether an active endpoint takes *topic*. On a connection inside a transaction, the
    endpoints are read once per transaction (a filing's three state changes ask three times)."""
    return any(topic.startswith(e.events) for e in _active(engine))


def hooked_once(engine: Engine) -> Callable[[str], bool]:
    """Whether a topic has active webhook endpoints, the endpoints read at the first question
    only (one batch of outbox messages asks once, not once per message)."""
    endpoints: list[Endpoint] | None = None

    def hooked(topic: str) -> bool:
        nonlocal endpoints
        if endpoints is None:
            endpoints = _active(engine)
        return any(topic.startswith(e.events) for e in endpoints)

    return hooked


def _active(bind: Engine | Connection) -> list[Endpoint]:
    tx = bind.get_transaction() if isinstance(bind, Connection) else None
    if tx is not None:
        cached = bind.info.get(_IN_TRANSACTION)  # type: ignore[union-attr]
        if cached is not None and cached[0] is tx:
            return list(cached[1])
    active = [e for e in list_endpoints(bind) if not e.disabled_at]
    if tx is not None:
        bind.info[_IN_TRANSACTION] = (tx, active)  # type: ignore[union-attr]
    return active


def event_body(event_id: int, topic: str, payload: Mapping[str, Any]) -> str:
    return json.dumps({"event_id": event_id, "topic": topic, **payload}, sort_keys=True)


def deliver(
    engine: Engine, secret_key: bytes, event_id: int, topic: str, payload: Mapping[str, Any]
) -> int:
    """Post the event to each subscribed endpoint not yet served; returns how many are still
    pending (the caller retries later while any are)."""
    body = event_body(event_id, topic, payload)
    at = stamp(now())
    endpoints = list_endpoints(engine)
    with connect(engine, write_lock=True) as conn, conn.begin():
        have = set(
            conn.execute(
                sa.select(DELIVERIES.c.endpoint_id).where(DELIVERIES.c.event_id == event_id)
            ).scalars()
        )
        new = [
            e
            for e in endpoints
            if not e.disabled_at and topic.startswith(e.events) and e.id not in have
        ]
        if new:
            conn.execute(
                sa.insert(DELIVERIES),
                [
                    {
                        "endpoint_id": e.id,
                        "event_id": event_id,
                        "body": body,
                        "status": "pending",
                        "attempts": 0,
                        "created_at": at,
                        "updated_at": at,
                    }
                    for e in new
                ],
            )
        pending = conn.execute(
            sa.select(DELIVERIES.c.id, DELIVERIES.c.attempts, ENDPOINTS.c.id, ENDPOINTS.c.url)
            .join(ENDPOINTS, ENDPOINTS.c.id == DELIVERIES.c.endpoint_id)
            .where(DELIVERIES.c.event_id == event_id, DELIVERIES.c.status == "pending")
        ).all()
    import httpx

    left = 0
    with httpx.Client(timeout=TIMEOUT_S, follow_redirects=False) as client:
        for delivery_id, attempts, endpoint_id, url in pending:
            code, error = _post(
                client, url, endpoint_secret(secret_key, endpoint_id), delivery_id, body
            )
            ok = code is not None and 200 <= code < 300
            status = (
                "delivered" if ok else ("failed" if attempts + 1 >= MAX_ATTEMPTS else "pending")
            )
            left += status == "pending"
            with connect(engine) as conn, conn.begin():
                conn.execute(
                    sa.update(DELIVERIES)
                    .where(DELIVERIES.c.id == delivery_id)
                    .values(
                        status=status,
                        attempts=attempts + 1,
                        last_code=code,
                        last_error=error,
                        updated_at=stamp(now()),
                    )
                )
    return left


def httpx_error() -> type[Exception]:
    import httpx

    return httpx.HTTPError


def _post(
    client: httpx.Client, url: str, secret: str, delivery_id: int, body: str
) -> tuple[int | None, str | None]:
    ts = int(time.time())
    raw = body.encode()
    headers = {
        "Content-Type": "application/json",
        "Troth-Webhook-Id": str(delivery_id),
        "Troth-Timestamp": str(ts),
        "Troth-Signature": sign(secret, ts, raw),
        "User-Agent": "troth-webhooks",
    }
    try:
        r = client.post(url, content=raw, headers=headers)
    except httpx_error() as exc:
        return None, type(exc).__name__
    return r.status_code, None if r.is_success else f"HTTP {r.status_code}"


def deliveries(engine: Engine, *, limit: int = 50) -> list[dict[str, Any]]:
    """The latest deliveries, newest first (what the console and the CLI show)."""
    cols = [c for c in DELIVERIES.c if c.name != "body"]
    with connect(engine) as conn:
        rows = conn.execute(
            sa.select(*cols).order_by(DELIVERIES.c.id.desc()).limit(limit)
        ).mappings()
        return [dict(r) for r in rows]

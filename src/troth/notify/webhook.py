"""``webhook``: a signed JSON POST per message, for an SMS gateway (or any service).

``TROTH_SMS_WEBHOOK_URL`` (required) receives ``{"to": ..., "subject": ..., "text": ...}`` with the
header ``X-Troth-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` under
``TROTH_SMS_WEBHOOK_SECRET``; any 2xx answer is delivery. ``TROTH_SMS_WEBHOOK_ATTEMPTS`` (3).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field

from troth.errors import NotifyError
from troth.notify.base import NOTIFIERS, Message, env_int, with_retry

SIGNATURE_HEADER = "X-Troth-Signature"


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: bytes, header: str, body: bytes, *, tolerance: int = 300) -> bool:
    """What a receiver checks: the MAC matches and the timestamp is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


@dataclass(frozen=True)
class WebhookNotifier:
    url: str
    secret: bytes = field(repr=False)
    attempts: int = 3
    timeout: float = 10.0
    delay: float = 0.5

    def send(self, message: Message) -> None:
        body = json.dumps(
            {"to": message.to, "subject": message.subject, "text": message.text}
        ).encode()

        def once() -> None:
            request = urllib.request.Request(self.url, data=body, method="POST")
            request.add_header("Content-Type", "application/json")
            request.add_header(SIGNATURE_HEADER, signature(self.secret, int(time.time()), body))
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if not 200 <= response.status < 300:
                    raise OSError(f"HTTP {response.status}")

        with_retry(
            once,
            attempts=self.attempts,
            delay=self.delay,
            what="the SMS webhook",
            retry_on=(OSError, urllib.error.URLError),
        )


@NOTIFIERS.register("webhook")
def webhook_from_env(env: Mapping[str, str]) -> WebhookNotifier:
    url = env.get("TROTH_SMS_WEBHOOK_URL")
    secret = env.get("TROTH_SMS_WEBHOOK_SECRET")
    if not url or not url.startswith(("http://", "https://")) or not secret:
        raise NotifyError(
            "TROTH_SMS_WEBHOOK_URL (http or https) and TROTH_SMS_WEBHOOK_SECRET are not both set",
            where="environment",
            fix="set both to send codes by SMS, or ask people for an e-mail address only",
        )
    return WebhookNotifier(
        url=url,
        secret=secret.encode(),
        attempts=max(1, env_int(env, "TROTH_SMS_WEBHOOK_ATTEMPTS", 3)),
    )

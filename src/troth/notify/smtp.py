"""``smtp``: e-mail through an SMTP server (stdlib :mod:`smtplib`), retried on failure.

``TROTH_SMTP_HOST`` (default ``localhost``), ``TROTH_SMTP_PORT`` (25), ``TROTH_SMTP_FROM`` (the
sender, required), ``TROTH_SMTP_USER``/``TROTH_SMTP_PASSWORD`` (login, optional),
``TROTH_SMTP_TLS`` (``none``, ``starttls`` or ``ssl``; default ``none``), ``TROTH_SMTP_ATTEMPTS``
(3) and ``TROTH_SMTP_TIMEOUT`` (10 seconds).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

from troth.errors import NotifyError
from troth.notify.base import NOTIFIERS, Message, env_int, with_retry

TLS_MODES = ("none", "starttls", "ssl")


@dataclass(frozen=True)
class SmtpNotifier:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: str = "none"
    attempts: int = 3
    timeout: float = 10.0
    delay: float = 0.5

    def email(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        for name, value in message.headers.items():
            mail[name] = value
        mail.set_content(message.text)
        return mail

    def send(self, message: Message) -> None:
        mail = self.email(message)

        def once() -> None:
            cls = smtplib.SMTP_SSL if self.tls == "ssl" else smtplib.SMTP
            with cls(self.host, self.port, timeout=self.timeout) as client:
                if self.tls == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if self.user:
                    client.login(self.user, self.password or "")
                client.send_message(mail)

        with_retry(
            once,
            attempts=self.attempts,
            delay=self.delay,
            what=f"e-mail through {self.host}:{self.port}",
            retry_on=(OSError, smtplib.SMTPException),
        )


@NOTIFIERS.register("smtp")
def smtp_from_env(env: Mapping[str, str]) -> SmtpNotifier:
    sender = env.get("TROTH_SMTP_FROM")
    if not sender:
        raise NotifyError(
            "TROTH_SMTP_FROM is not set",
            where="environment",
            fix="set TROTH_SMTP_FROM to the address troth writes from, e.g. privacy@shop.example",
        )
    tls = (env.get("TROTH_SMTP_TLS") or "none").lower()
    if tls not in TLS_MODES:
        raise NotifyError(
            f"TROTH_SMTP_TLS is {tls!r}",
            where="environment",
            fix=f"use one of: {', '.join(TLS_MODES)}",
        )
    return SmtpNotifier(
        host=env.get("TROTH_SMTP_HOST") or "localhost",
        port=env_int(env, "TROTH_SMTP_PORT", 465 if tls == "ssl" else 25),
        sender=sender,
        user=env.get("TROTH_SMTP_USER") or None,
        password=env.get("TROTH_SMTP_PASSWORD") or None,
        tls=tls,
        attempts=max(1, env_int(env, "TROTH_SMTP_ATTEMPTS", 3)),
        timeout=float(env_int(env, "TROTH_SMTP_TIMEOUT", 10)),
    )

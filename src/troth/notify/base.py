"""The notifier plug-in point: a protocol, a message, and the registry of factories.

A factory takes the environment (``TROTH_*`` variables) and returns a :class:`Notifier`; the
notifier for a channel is chosen by ``TROTH_NOTIFY_EMAIL`` (default ``smtp``) and
``TROTH_NOTIFY_PHONE`` (default ``webhook``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from troth.errors import NotifyError
from troth.plugins import Registry


@dataclass(frozen=True)
class Message:
    """One message to one address (an e-mail address or a phone number)."""

    to: str = field(repr=False)
    subject: str
    text: str = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict)


class Notifier(Protocol):
    """Delivers a message or raises :class:`troth.errors.NotifyError`."""

    def send(self, message: Message) -> None: ...


NotifierFactory = Callable[[Mapping[str, str]], Notifier]

NOTIFIERS: Registry[NotifierFactory] = Registry(
    "notifier", ("troth.notify.smtp", "troth.notify.webhook")
)

DEFAULTS = {"email": "smtp", "phone": "webhook"}


def notifier_for(channel: str, env: Mapping[str, str]) -> Notifier:
    """The notifier that writes to *channel* (``email`` or ``phone``) as configured in *env*."""
    variable = f"TROTH_NOTIFY_{channel.upper()}"
    name = env.get(variable) or DEFAULTS.get(channel, "")
    return NOTIFIERS.get(name, where=variable)(env)


def with_retry(
    send: Callable[[], None],
    *,
    attempts: int,
    delay: float,
    what: str,
    retry_on: tuple[type[BaseException], ...],
) -> None:
    """Call *send* up to *attempts* times, waiting *delay* seconds, doubled after each failure."""
    for attempt in range(1, attempts + 1):
        try:
            send()
            return
        except retry_on as exc:
            if attempt == attempts:
                raise NotifyError(
                    f"{what} failed after {attempts} attempts ({type(exc).__name__})",
                    where=what,
                    fix="check the server settings (TROTH_SMTP_* / TROTH_SMS_WEBHOOK_*) and that "
                    "it is reachable",
                ) from exc
            time.sleep(delay)
            delay *= 2


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if not text:
        return default
    if not text.strip().isdigit():
        raise NotifyError(
            f"{name} is not a whole number", where="environment", fix=f"e.g. {default}"
        )
    return int(text)

"""Notifiers: how troth writes to a person (one-time codes, notices about their request).

Built-ins: ``smtp`` (e-mail through an SMTP server, with retry) and ``webhook`` (a signed JSON POST
to an SMS gateway or any service of the company). Third parties register more in
:data:`troth.notify.base.NOTIFIERS`.
"""

from __future__ import annotations

from troth.notify.base import NOTIFIERS, Message, Notifier, notifier_for

__all__ = ["NOTIFIERS", "Message", "Notifier", "notifier_for"]

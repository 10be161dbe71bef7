"""Notices to a requester, rendered from templates a company can override, sent and recorded.

A notice template is plain text: its first line is ``Subject: ...``, then a blank line, then the
body. troth ships English templates (``troth/notify/templates``); a project overrides one by
putting a file of the same name in ``<project>/templates/notices/``. A template for the policy's
language (``received.de.txt``) is preferred over the plain one (``received.txt``). Every notice
sent is recorded in the audit ledger as ``notice.sent`` with the request id, the notice's name and
the channel, never the address or the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateNotFound,
)

from troth.audit import Event, Ledger
from troth.errors import NotifyError
from troth.notify.base import Message, Notifier

NOTICES = (
    "code",
    "received",
    "verified",
    "completed",
    "denied",
    "extended",
    "policy_tell",
    "policy_ask_again",
)
#: notices to the privacy team, not to a person (deadline reminders and overdue alerts)
TEAM_NOTICES = ("team_deadline",)


class Notices:
    def __init__(self, project_dir: Path | None, language: str = "en") -> None:
        loaders: list[Any] = []
        if project_dir is not None:
            loaders.append(FileSystemLoader(str(project_dir / "templates" / "notices")))
        loaders.append(PackageLoader("troth.notify", "templates"))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=False,  # plain text mail
            keep_trailing_newline=True,
        )
        self.language = language

    def render(self, name: str, context: Mapping[str, Any]) -> tuple[str, str]:
        """``(subject, body)`` of notice *name*."""
        if name not in NOTICES + TEAM_NOTICES:
            raise NotifyError(f"unknown notice {name!r}", fix=f"use one of: {', '.join(NOTICES)}")
        names = [f"{name}.{self.language}.txt", f"{name}.txt"]
        try:
            template = self.env.select_template(names)
        except TemplateNotFound:
            raise NotifyError(
                f"no template for notice {name!r}", where="templates/notices"
            ) from None
        text = template.render(**context)
        head, _, body = text.partition("\n\n")
        if not head.startswith("Subject:"):
            raise NotifyError(
                f"notice template {template.name} does not start with a Subject: line",
                where=template.filename or template.name,
                fix="write 'Subject: ...', a blank line, then the body",
            )
        return head[len("Subject:") :].strip(), body.strip() + "\n"


def send_notice(
    notices: Notices,
    notifier: Notifier,
    ledger: Ledger,
    *,
    name: str,
    to: str,
    channel: str,
    request_id: str | None,
    context: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> None:
    """Render notice *name*, send it to *to*, and record that it was sent (no personal data)."""
    subject, body = notices.render(name, context)
    notifier.send(Message(to=to, subject=subject, text=body, headers=dict(headers or {})))
    if name == "code":
        return  # a code is not a notice about a request; its sending is evidenced by the request
    data: dict[str, Any] = {"notice": name, "channel": channel}
    if request_id:
        data["request_id"] = request_id
    ledger.append_many(
        [Event("notice.sent", data, "privacy-centre", f"dsr:{request_id}" if request_id else None)]
    )

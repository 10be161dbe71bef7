"""Render the policy as a standalone, accessible HTML page (inline CSS, no scripts)."""

from __future__ import annotations

from troth.policy.loader import PolicyDocument
from troth.policy.render.sections import build_document
from troth.policy.render.templates import render_template


def render_html(doc: PolicyDocument) -> str:
    """The human-readable privacy policy as one standalone HTML page."""
    d = build_document(doc)
    return render_template(
        "policy.html.j2", d=d, lang=d.lang, title=d.title, version=doc.policy.policy.version
    )

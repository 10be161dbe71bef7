"""Rendering: the human-readable policy (Markdown, HTML), the Art. 30 record and policy diffs.

Everything is generated from the loaded policy model, so the published text, the record of
processing and the running systems come from one source. Each rendered document marks the promise
ids it encodes and shows troth's assumptions as labelled notes, never as facts.
"""

from __future__ import annotations

from troth.policy.render.diff import Change, diff_policies
from troth.policy.render.html import render_html
from troth.policy.render.markdown import render_markdown
from troth.policy.render.record import (
    RecordRow,
    record_rows,
    render_record_csv,
    render_record_html,
)

__all__ = [
    "Change",
    "RecordRow",
    "diff_policies",
    "record_rows",
    "render_html",
    "render_markdown",
    "render_record_csv",
    "render_record_html",
]

"""Charts drawn on the server as SVG (no script, no CDN; presentation attributes only, so the
CSP without inline styles holds)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT, PAD = 720, 180, 28


def daily_bars(values: Sequence[int], last_day: date, title: str) -> Markup:
    """One bar per day (oldest first, *last_day* last), the axis labelled at the ends and max."""
    n = max(len(values), 1)
    top = max(values, default=0) or 1
    span = WIDTH - 2 * PAD
    bar = span / n
    first_day = last_day - timedelta(days=n - 1)
    label = f"{title}: {sum(values)} in {n} days, at most {max(values, default=0)} a day"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(label)}" class="chart">',
        f"<title>{escape(label)}</title>",
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'stroke="#4a4a4a" stroke-width="1"/>',
    ]
    for i, v in enumerate(values):
        h = (HEIGHT - 2 * PAD) * v / top
        x = PAD + i * bar
        parts.append(
            f'<rect x="{x:.1f}" y="{HEIGHT - PAD - h:.1f}" width="{max(bar - 1, 1):.1f}" '
            f'height="{h:.1f}" fill="#1f4e8c"><title>{first_day + timedelta(days=i)}: {v}'
            "</title></rect>"
        )
    text = 'font-size="11" fill="#1b1b1b" font-family="sans-serif"'
    parts += [
        f'<text x="{PAD}" y="{HEIGHT - 8}" {text}>{first_day}</text>',
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" text-anchor="end" {text}>{last_day}</text>',
        f'<text x="{PAD}" y="{PAD - 8}" {text}>max {max(values, default=0)} / day</text>',
        "</svg>",
    ]
    return Markup("".join(parts))

"""Durations written the way people write them in policies: ``30 days``, ``2 years``, ``P2Y6M``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

VALID_FORMS = "'30 days', '6 weeks', '18 months', '2 years', '1 year 6 months', 'P2Y6M', 'P30D'"

_UNIT = {
    "d": "days",
    "day": "days",
    "days": "days",
    "w": "weeks",
    "week": "weeks",
    "weeks": "weeks",
    "m": "months",
    "mo": "months",
    "month": "months",
    "months": "months",
    "y": "years",
    "yr": "years",
    "yrs": "years",
    "year": "years",
    "years": "years",
}
_PART = re.compile(r"(\d+)\s*([a-z]+)")
_ISO = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")


@dataclass(frozen=True, order=True)
class Duration:
    """A calendar duration (years and months are calendar units, not fixed days)."""

    years: int = 0
    months: int = 0
    days: int = 0

    @property
    def approx_days(self) -> float:
        return self.years * 365.25 + self.months * 30.44 + self.days

    def __str__(self) -> str:
        parts = []
        for n, unit in ((self.years, "year"), (self.months, "month"), (self.days, "day")):
            if n:
                parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
        return " ".join(parts) or "0 days"

    def iso(self) -> str:
        out = "P"
        out += f"{self.years}Y" if self.years else ""
        out += f"{self.months}M" if self.months else ""
        out += f"{self.days}D" if self.days or out == "P" else ""
        return out

    def before(self, moment: datetime) -> datetime:
        """``moment`` minus this duration, with calendar arithmetic (clamped month ends)."""
        total_months = moment.year * 12 + (moment.month - 1) - (self.years * 12 + self.months)
        year, month = divmod(total_months, 12)
        month += 1
        day = min(moment.day, _days_in_month(year, month))
        return moment.replace(year=year, month=month, day=day) - timedelta(days=self.days)


def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def parse_duration(text: object) -> Duration:
    """Parse a duration; raise ``ValueError`` naming the valid forms."""
    if isinstance(text, Duration):
        return text
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise ValueError(f"expected a duration such as {VALID_FORMS}")
    s = str(text).strip()
    iso = _ISO.match(s.upper())
    if iso and s.upper() != "P":
        y, mo, w, d = (int(g) if g else 0 for g in iso.groups())
        return Duration(years=y, months=mo, days=d + 7 * w)
    low = s.lower().replace(",", " ").replace(" and ", " ")
    counts = {"years": 0, "months": 0, "weeks": 0, "days": 0}
    pos = 0
    matched = False
    for m in _PART.finditer(low):
        if low[pos : m.start()].strip():
            break
        unit = _UNIT.get(m.group(2))
        if unit is None:
            break
        counts[unit] += int(m.group(1))
        pos = m.end()
        matched = True
    if not matched or low[pos:].strip():
        raise ValueError(f"{s!r} is not a duration; valid forms: {VALID_FORMS}")
    return Duration(
        years=counts["years"], months=counts["months"], days=counts["days"] + 7 * counts["weeks"]
    )

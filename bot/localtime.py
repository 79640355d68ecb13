"""Local calendar days in a person's own time zone, safe across DST changes.

Everything stored is UTC; a "local day" is the calendar date a creator sees on their clock.
Wall-clock times that do not exist (the hour skipped when clocks go forward) move forward by
the length of the gap; times that happen twice (clocks go back) mean the first one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_HHMM = re.compile(r"^\s*([01]?\d|2[0-3])[:.h]([0-5]\d)\s*$")


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_date(when: datetime, tz: str) -> date:
    """The calendar day ``when`` (aware) falls on in zone ``tz``."""
    return when.astimezone(zone(tz)).date()


def local_hour(when: datetime, tz: str) -> int:
    return when.astimezone(zone(tz)).hour


def at_local(day: date, clock_time: time, tz: str) -> datetime:
    """The UTC instant of ``clock_time`` on ``day`` in ``tz`` (DST gaps move forward)."""
    # fold=0: a repeated time means its first occurrence, and a time in a DST gap is read
    # with the offset before the gap, which lands it after the gap (shifted by its length).
    return datetime.combine(day, clock_time).replace(tzinfo=zone(tz), fold=0).astimezone(UTC)


def day_start(day: date, tz: str) -> datetime:
    """The UTC instant a local day begins (not always 00:00: some zones skip midnight)."""
    return at_local(day, time(0, 0), tz)


def parse_hhmm(text: str) -> time | None:
    """'20:00', '8:30', '20.00' or '20h00' as a time, else None."""
    match = _HHMM.match(text or "")
    return time(int(match.group(1)), int(match.group(2))) if match else None


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


_MOMENT = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})[ T]+(\S+)\s*$")


def parse_day(text: str | None) -> date | None:
    """'2026-03-05' as a date, else None."""
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return None


def parse_moment(text: str | None, tz: str) -> datetime | None:
    """'2026-03-05 18:30' on the clock of zone ``tz`` as a UTC instant, else None (the time
    may be written as :func:`parse_hhmm` reads it)."""
    match = _MOMENT.match(text or "")
    if match is None:
        return None
    clock_time = parse_hhmm(match.group(4))
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return None if clock_time is None else at_local(day, clock_time, tz)


_LOCAL = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(\S+))?\s*$")


@dataclass(frozen=True)
class LocalMoment:
    """A day, with or without a time of day, on a clock not named yet ('2026-03-05' or
    '2026-03-05 18:30'): which instant it is depends on the zone it is read in."""

    day: date
    time: time | None = None

    def __str__(self) -> str:
        if self.time is None:
            return self.day.isoformat()
        return f"{self.day.isoformat()} {self.time:%H:%M}"

    def start(self, tz: str) -> datetime:
        """As a beginning: a bare day begins at its start."""
        return day_start(self.day, tz) if self.time is None else at_local(self.day, self.time, tz)

    def end(self, tz: str) -> datetime:
        """As an end: a bare day means the end of that day."""
        if self.time is None:
            return day_start(self.day + timedelta(days=1), tz)
        return at_local(self.day, self.time, tz)


def parse_local(text: str | None) -> LocalMoment | None:
    """'YYYY-MM-DD', or 'YYYY-MM-DD HH:MM' (the time as :func:`parse_hhmm` reads it), else
    None."""
    match = _LOCAL.match(text or "")
    if match is None:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    if match.group(4) is None:
        return LocalMoment(day)
    clock_time = parse_hhmm(match.group(4))
    return None if clock_time is None else LocalMoment(day, clock_time)

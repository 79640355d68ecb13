"""An independent model of a program month for ``test_month.py``: plain Python over the
scripted events (who was in which family from when, each check-in as typed at a moment), with
none of Familia's arithmetic. It knows the rules only as README states them:

- a check-in is for the creator's own local calendar day at the moment it is sent (``zoneinfo``
  decides, DST included), or the day before when sent as "yesterday"; sending again replaces
  that day;
- a creator of a family on a day is someone whose membership was active that day and who does
  not lead it; leaders count on the days they stream (*Figures*, the default rule);
- a day is valid for tiers with at least 1 hour live (``CHECKIN_VALID_DAY_HOURS``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

VALID_DAY_HOURS = 1.0


@dataclass
class Person:
    name: str
    locale: str  # "en" or "es"
    zone: str
    family: str | None = None  # where they are now (None: left)
    leads: str | None = None  # the family they lead


@dataclass
class Stay:
    """A membership: ``person`` in ``family`` from ``start`` (a moment) to ``end``."""

    person: str
    family: str
    start: datetime
    end: datetime | None = None


@dataclass
class Entry:
    hours: float
    diamonds: int
    followers: int
    family: str  # the family the creator was in when they sent it
    created: datetime  # first sent (sending again replaces the values, not this)


@dataclass
class Month:
    people: dict[str, Person] = field(default_factory=dict)
    stays: list[Stay] = field(default_factory=list)
    # (person, local day) -> the check-in as it stands (sending again replaces it)
    days: dict[tuple[str, date], Entry] = field(default_factory=dict)

    def local_day(self, who: str, at: datetime, yesterday: bool = False) -> date:
        day = at.astimezone(ZoneInfo(self.people[who].zone)).date()
        return day - timedelta(days=1) if yesterday else day

    def family_at(self, who: str, at: datetime) -> str | None:
        for stay in self.stays:
            if stay.person == who and stay.start <= at and (stay.end is None or at < stay.end):
                return stay.family
        return None

    # -- what happens ---------------------------------------------------------------------
    def join(self, who: str, family: str, at: datetime) -> None:
        self.stays.append(Stay(who, family, at))
        self.people[who].family = family

    def leave(self, who: str, at: datetime) -> None:
        for stay in self.stays:
            if stay.person == who and stay.end is None:
                stay.end = at
        self.people[who].family = None

    def transfer(self, who: str, family: str, at: datetime) -> None:
        self.leave(who, at)
        self.join(who, family, at)

    def checkin(self, who: str, at: datetime, hours: float, diamonds: int = 0,
                followers: int = 0, *, yesterday: bool = False) -> date:
        day = self.local_day(who, at, yesterday)
        family = self.family_at(who, at)
        assert family is not None, f"{who} checks in without a family"
        old = self.days.get((who, day))
        self.days[(who, day)] = Entry(hours, diamonds, followers, family,
                                      old.created if old else at)
        return day

    # -- figures --------------------------------------------------------------------------
    def total(self, who: str, first: date, last: date, metric: str = "hours") -> float:
        return sum(getattr(e, metric) for (p, d), e in self.days.items()
                   if p == who and first <= d <= last)

    def checkin_days(self, who: str, first: date, last: date) -> list[date]:
        return sorted(d for (p, d) in self.days if p == who and first <= d <= last)

    def valid_days(self, who: str, first: date, last: date) -> int:
        return sum(1 for (p, d), e in self.days.items()
                   if p == who and first <= d <= last and e.hours >= VALID_DAY_HOURS)

    def totals(self, first: date, last: date, metric: str = "hours") -> dict[str, float]:
        """Everyone with something in the period (a creator board ranks them all)."""
        found: dict[str, float] = defaultdict(float)
        for (p, d), e in self.days.items():
            if first <= d <= last:
                found[p] += getattr(e, metric)
        return dict(found)

    def family_total(self, family: str, first: date, last: date, metric: str = "hours"
                     ) -> float:
        return sum(getattr(e, metric) for (p, d), e in self.days.items()
                   if e.family == family and first <= d <= last)

    def active(self, at: datetime) -> list[Stay]:
        """Memberships active at a moment (begun before it, not ended before it)."""
        return [s for s in self.stays if s.start < at and (s.end is None or s.end >= at)]

    def counted(self, who: str, first: date, last: date) -> bool:
        """A creator counts; a leader only with a check-in in the period (the default)."""
        return self.people[who].leads is None or bool(self.checkin_days(who, first, last))

    def members_now(self, at: datetime, first: date, last: date,
                    family: str | None = None) -> list[str]:
        return [s.person for s in self.active(at) if (family is None or s.family == family)
                and self.counted(s.person, first, last)]

    def streak(self, who: str, today: date, rest_days: int = 1) -> int:
        """Check-in days in the run that reaches today (or yesterday, today not being over):
        missed days do not break it while no Monday-Sunday week has more of them than
        ``rest_days``."""
        days = {d for (p, d) in self.days if p == who and d <= today}
        if not days:
            return 0
        missed: dict[date, int] = defaultdict(int)  # week's Monday -> missed days so far
        count, day = 0, today
        while True:
            if day in days:
                count += 1
            elif day != today:
                monday = day - timedelta(days=day.weekday())
                missed[monday] += 1
                if missed[monday] > rest_days:
                    return count
            if day < min(days):
                return count
            day -= timedelta(days=1)

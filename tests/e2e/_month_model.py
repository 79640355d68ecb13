"""An independent model of a program month for ``test_month.py``: plain Python over the
scripted events (who was in which family from when, each check-in as typed at a moment), with
none of Familia's arithmetic. It knows the rules only as README states them:

- a check-in is for the creator's own local calendar day at the moment it is sent (``zoneinfo``
  decides, DST included), or the day before when sent as "yesterday"; sending again replaces
  that day;
- a creator of a family on a day is someone whose membership was active that day and who does
  not lead it; leaders count on the days they stream (*Figures*, the default rule);
- a day is valid for tiers with at least 1 hour live (``CHECKIN_VALID_DAY_HOURS``);
- a tier is reached when every threshold it sets is met by the month's totals (the creator's
  own local days); the month-end pace is the total so far ÷ the days gone (today included) ×
  the month's days (*Leaderboards and progress*).
"""

from __future__ import annotations

import calendar
import math
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
    appointed: bool = False  # began with an appointment as leader: neither a join nor a leave


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
        self.stays.append(Stay(who, family, at, appointed=self.people[who].leads == family))
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

    # -- /family stats ------------------------------------------------------------------------
    def stats(self, start: datetime, end: datetime, family: str | None = None) -> dict:
        """/family stats over the moments ``start <= t < end`` of a family (None: the
        program): counted memberships at the start and the end, joins and leaves of creators
        (a transfer is both for the two families, neither for the program), their reasons and
        tenures, and the check-ins sent in the window (in the family they were sent from)."""
        first, last = start.date(), (end - timedelta(microseconds=1)).date()

        def mine(s: Stay) -> bool:
            return family is None or s.family == family

        def at(moment: datetime) -> int:
            return sum(1 for s in self.stays if mine(s) and s.start < moment
                       and (s.end is None or s.end >= moment)
                       and self.counted(s.person, first, last))

        def moved_in(s: Stay) -> bool:
            return any(o.person == s.person and o.end == s.start for o in self.stays)

        def moved_out(s: Stay) -> bool:
            return any(o.person == s.person and o.start == s.end for o in self.stays)

        joins = [s for s in self.stays if mine(s) and not s.appointed
                 and start <= s.start < end and (family or not moved_in(s))]
        leaves = [s for s in self.stays if mine(s) and not s.appointed and s.end
                  and start <= s.end < end and (family or not moved_out(s))]
        return {"members": at(end), "members_start": at(start), "joins": len(joins),
                "leaves": len(leaves),
                "transfers": sum(1 for s in leaves if moved_out(s)),
                "tenures": sorted((s.end - s.start).total_seconds() / 86400 for s in leaves),
                "checkins": sum(1 for e in self.days.values() if start <= e.created < end
                                and (family is None or e.family == family))}

    # -- tiers and pace -------------------------------------------------------------------------
    def month_totals(self, who: str, month_of: date, upto: date | None = None) -> dict:
        """A creator's totals over the local days of the month of ``month_of`` (up to
        ``upto``): hours, diamonds, valid days, followers."""
        first = month_of.replace(day=1)
        last = upto or first.replace(day=calendar.monthrange(first.year, first.month)[1])
        return {"hours": self.total(who, first, last),
                "diamonds": self.total(who, first, last, "diamonds"),
                "valid_days": self.valid_days(who, first, last),
                "followers": self.total(who, first, last, "followers")}

    @staticmethod
    def reached(tiers: list[dict], totals: dict) -> str | None:
        """The highest tier whose every threshold ``totals`` meet (tiers: name, rank and
        thresholds by metric)."""
        best = None
        for tier in sorted(tiers, key=lambda t: t["rank"]):
            if all(totals[m] >= v for m, v in tier["thresholds"].items()):
                best = tier["name"]
        return best

    @staticmethod
    def pace(metric: str, value: float, threshold: float, today: date) -> dict:
        """Where a creator stands on ``today`` against a monthly threshold (README: the
        month-end value at the current pace; how far it falls short, never less than what one
        can act on — a tenth of an hour, a whole day, diamond or follower; what a day is
        needed from today on, rounded up to that; valid days: on how many of the days
        left)."""
        days = calendar.monthrange(today.year, today.month)[1]
        projected = value / today.day * days
        left = days - today.day + 1
        per_day = max(0.0, threshold - value) / left
        step = 0.1 if metric == "hours" else 1.0
        need = math.ceil(max(0.0, threshold - value))
        reachable = (need <= left if metric == "valid_days"
                     else per_day <= 24 if metric == "hours" else True)
        return {"value": value, "threshold": threshold, "projected": projected,
                "reached": value >= threshold, "on_track": projected >= threshold,
                "short": max(threshold - projected, step) if projected < threshold else 0.0,
                "reachable": reachable, "per_day": math.ceil(per_day / step - 1e-9) * step,
                "days_needed": need, "days_left": left}

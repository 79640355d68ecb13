"""The arithmetic of campaigns, free of the database: metric values over local days, the best
streak inside a window, ranks with ties, and the uplift against the period before."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from bot.services.checkins import streak_length


def best_streak(days: Iterable[date], first: date, last: date, rest_days: int) -> int:
    """The longest run (by the check-in streak rule, rest days allowed) of check-in days
    inside [first, last]; days outside the window do not count."""
    inside = {d for d in days if first <= d <= last}
    return max((streak_length(inside, d, rest_days) for d in inside), default=0)


def ranked(values: Mapping[int, float]) -> list[tuple[int, int, float]]:
    """(rank, user id, value) for values above zero, highest first; ties share a rank
    (1, 2, 2, 4) and are listed by user id, as on every leaderboard."""
    ordered = sorted(((u, v) for u, v in values.items() if v > 0), key=lambda p: (-p[1], p[0]))
    return ranked_in_order(ordered)


def ranked_in_order(ordered: Iterable[tuple[int, float]]) -> list[tuple[int, int, float]]:
    """:func:`ranked` of (user id, value) pairs already in its order (a board's first rows
    from the database: the ranks of a first page depend on nothing after it)."""
    out: list[tuple[int, int, float]] = []
    for i, (user_id, value) in enumerate(ordered):
        rank = out[-1][0] if out and out[-1][2] == value else i + 1
        out.append((rank, user_id, value))
    return out


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def change(before: float, after: float) -> float | None:
    """Relative change after/before - 1, or None when there was nothing before."""
    return after / before - 1 if before else None


@dataclass(frozen=True)
class Group:
    """One side of the comparison: its size and mean value before and during."""

    people: int
    mean_before: float
    mean_during: float

    @property
    def change(self) -> float | None:
        return change(self.mean_before, self.mean_during)


def group(pairs: list[tuple[float, float]]) -> Group:
    if not pairs:
        return Group(0, 0.0, 0.0)
    return Group(len(pairs), statistics.fmean(p[0] for p in pairs),
                 statistics.fmean(p[1] for p in pairs))


@dataclass(frozen=True)
class Uplift:
    participants: Group
    others: Group

    @property
    def difference(self) -> float | None:
        """Participants' relative change minus non-participants' (percentage points / 100);
        None without a comparison group or a baseline."""
        mine, theirs = self.participants.change, self.others.change
        if mine is None or theirs is None or not self.others.people:
            return None
        return mine - theirs


def before_window(first: date, last: date) -> tuple[date, date]:
    """The same number of days just before [first, last]."""
    length = (last - first).days + 1
    return first - timedelta(days=length), first - timedelta(days=1)


def bar(fraction: float, width: int = 10) -> str:
    """A text progress bar: ``▰▰▰▱▱▱▱▱▱▱`` (full past 100 %)."""
    filled = max(0, min(width, int(fraction * width + 1e-9)))
    return "▰" * filled + "▱" * (width - filled)

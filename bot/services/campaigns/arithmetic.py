"""The arithmetic of campaigns, free of the database: metric values over local days, the best
streak inside a window, ranks with ties, and the uplift against the period before (a
difference of differences, with a minimum baseline)."""

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


# The least data a baseline needs before an uplift is measured (README, *Figures*): on each
# side (participants, the others) this many creators who were in the program for the whole
# baseline and checked in on at least one of its days, and a baseline of this many days.
MIN_BASELINE_CREATORS = 3
MIN_BASELINE_DAYS = 7


@dataclass(frozen=True)
class Group:
    """One side of the comparison: its size and mean value per creator before and during."""

    people: int
    mean_before: float
    mean_during: float

    @property
    def change(self) -> float:
        """During minus before, in the metric's unit, per creator."""
        return self.mean_during - self.mean_before


def group(pairs: list[tuple[float, float]]) -> Group:
    """The side of (before, during) pairs, one per creator."""
    if not pairs:
        return Group(0, 0.0, 0.0)
    return Group(len(pairs), statistics.fmean(p[0] for p in pairs),
                 statistics.fmean(p[1] for p in pairs))


@dataclass(frozen=True)
class Uplift:
    """Participants against the rest of the audience, before and during the campaign.

    ``participants`` and ``others`` are the plain figures (every counted creator);
    ``compared`` is the same two sides kept to the creators with a baseline (in the program
    for the whole period before, with a check-in in it), and ``days`` the baseline's length.
    The uplift is a difference of differences: how much more the participants' mean changed
    than the others' — measured only with enough data (:data:`MIN_BASELINE_CREATORS`,
    :data:`MIN_BASELINE_DAYS`)."""

    participants: Group
    others: Group
    compared: tuple[Group, Group] | None = None
    days: int = 0

    min_creators = MIN_BASELINE_CREATORS
    min_days = MIN_BASELINE_DAYS

    @property
    def comparable(self) -> bool:
        """Is there anyone to compare with (someone in the audience who did not take part)?"""
        return self.others.people > 0

    @property
    def measured(self) -> bool:
        if self.compared is None or self.days < MIN_BASELINE_DAYS:
            return False
        return all(side.people >= MIN_BASELINE_CREATORS for side in self.compared)

    @property
    def difference(self) -> float | None:
        """(participants during − before) − (others during − before), per creator in the
        metric's unit; None without enough data before the campaign."""
        if not self.measured or self.compared is None:
            return None
        mine, theirs = self.compared
        return mine.change - theirs.change


def before_window(first: date, last: date) -> tuple[date, date]:
    """The same number of days just before [first, last]."""
    length = (last - first).days + 1
    return first - timedelta(days=length), first - timedelta(days=1)


def bar(fraction: float, width: int = 10) -> str:
    """A text progress bar: ``▰▰▰▱▱▱▱▱▱▱`` (full past 100 %)."""
    filled = max(0, min(width, int(fraction * width + 1e-9)))
    return "▰" * filled + "▱" * (width - filled)

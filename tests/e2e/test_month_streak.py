"""The streak a digest shows is the streak rule's on the digest day (found by the month test:
a creator back from a ten-day break read "Streak: 7 days in a row"). The digest brings each
stored streak to its day from the last few weeks' check-ins only (``streak_now``); here it is
compared with the rule over the whole history (``streak_length``), on seeded random
histories."""

from __future__ import annotations

import random
from datetime import date, timedelta

from bot.localtime import week_start
from bot.services.checkins import streak_length, streak_now


def test_a_stored_streak_brought_to_a_later_day_is_the_rules():
    rng = random.Random(16)
    for _ in range(3000):
        start = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 60))
        density = rng.random()
        history = {start + timedelta(days=i) for i in range(rng.randrange(1, 60))
                   if rng.random() < density} or {start}
        as_of = max(history) + timedelta(days=rng.choice((0, 0, 1)))  # today or yesterday's
        today = as_of + timedelta(days=rng.randrange(0, 25))
        rest = rng.randrange(0, 7)
        stored = streak_length(history, as_of, rest)
        rule = streak_length(history, today, rest)
        for since in (week_start(as_of),  # what the digest reads
                      week_start(today) - timedelta(days=14)):  # or from two weeks back
            recent = {d for d in history if d >= since}
            assert streak_now(stored, as_of, recent, today, rest) == rule, (
                sorted(history), as_of, today, rest)

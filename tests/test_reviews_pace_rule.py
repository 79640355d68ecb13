"""The weekly review's tier at month-end pace (``_reached`` over ``_projected``, the fast rule
of bot/services/reviews.py) is the one :func:`at_pace` finds through ``tier_paces`` — the rule
of ``/progress risk`` — for every creator, on every day of a month, thresholds exactly met
included."""

from __future__ import annotations

import random
from datetime import date, timedelta

from bot.services.pace import days_in_month, tier_paces
from bot.services.reviews import _projected, _reached, _thresholds, at_pace
from bot.services.tiers import Progress, Tier

TIERS = [  # highest first; one sets no threshold, one only some
    Tier(4, "Diamond", 4, None, 120.0, 50_000, 22, 500),
    Tier(3, "Gold", 3, None, 60.0, None, 15, None),
    Tier(2, "Silver", 2, None, 20.5, 1_000, None, None),
    Tier(1, "Open", 1, None, None, None, None, None),
]


def test_fast_rule_finds_the_tier_at_pace_finds() -> None:
    rng = random.Random(19)
    thresholds = _thresholds(TIERS)
    checked = 0
    for first in (date(2026, 2, 1), date(2026, 6, 1), date(2028, 2, 1)):
        for offset in range(days_in_month(first)):
            day = first + timedelta(days=offset)
            total = days_in_month(day)
            # thresholds met exactly at the month-end pace, and random creators around them
            exact = [Progress(t.min_hours * day.day / total if t.min_hours else 0,
                              round((t.min_diamonds or 0) * day.day / total),
                              round((t.min_valid_days or 0) * day.day / total),
                              round((t.min_followers or 0) * day.day / total)) for t in TIERS]
            randoms = [Progress(round(rng.uniform(0, 150), 2), rng.randint(0, 60_000),
                                rng.randint(0, day.day), rng.randint(0, 600))
                       for _ in range(40)]
            for progress in [Progress(), *exact, *randoms]:
                expected = at_pace(progress, TIERS, day)
                assert _reached(_projected(progress, day, total), thresholds) == expected
                for tier, pairs in thresholds:  # "short of something" for one tier alone
                    short = [p for p in tier_paces(progress, tier, day) if not p.on_track]
                    alone = _reached(_projected(progress, day, total), [(tier, pairs)])
                    assert (alone is None) == bool(short)
                checked += 1
    assert checked > 3_000
    assert at_pace(Progress(), TIERS, date(2026, 6, 9)) == TIERS[-1]  # the open tier

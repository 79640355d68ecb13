"""The weekly review at size: every tier's review of the last week on the `large` program (200
families, 5,000 creators, 365 days of check-ins; ``bot/program.py``), as the scheduled sweep
makes it — the service's figures (``ReviewService.review``), the post's messages in the
server's language and the CSV of every creator (the chart is drawn in a thread and not timed
here: its cost is in bench/leaderboard.py) — against the same figures computed the naive way in
the same run: one query per creator and week over the check-ins (hours, diamonds, followers,
check-in days, moods of the reviewed week, the week before and the four before that), one for
their month, one for their tier, one for their memberships in the week, one for their notes,
and the same month-end pace rule on their month. Both must give the same hours per tier
(checked).

While the review runs, a watchdog task wakes every 5 ms and records how late it woke: the
longest is ``max_loop_stall_ms`` (the event loop blocked by the review's Python work).

The family scorecard and the risk sweep are another part of issue 19: when
``bench/_insights.py`` exists, its ``run(services, made)`` is awaited and its figures
(``scorecard_s``, ``risk_sweep_s``) are added; until then they are null. Goal: review +
scorecard ≤ 2 s, ≥ 10× faster than naive, loop stall ≤ 100 ms. Ends with one JSON line.

    .venv/bin/python bench/reviews.py [--size large] [--repeat 3] [--keep PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.views import NOW, open_program  # the same program, built the same way
from bot.clock import to_db
from bot.services import Services
from bot.services.reviews import at_pace
from bot.services.tiers import Progress
from bot.templating import Templates
from cogs.review import review_parts

GOAL_S = 2.0
GOAL_SPEEDUP = 10.0
GOAL_STALL_MS = 100.0


class Watchdog:
    """How late a task that sleeps ``interval`` seconds wakes: the event loop's longest stall."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.worst = max(self.worst, time.perf_counter() - before - self.interval)

    def __enter__(self) -> Watchdog:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def review_once(services: Services, templates: Templates, guild_id: int) -> tuple[Any, int]:
    """The review as the sweep makes it: figures, the post's messages, the CSV."""
    found = await services.reviews.review(guild_id)
    bot = SimpleNamespace(templates=templates, services=services)
    locale = (await services.guilds.get(guild_id)).locale
    parts = review_parts(bot, locale, found)
    data = await asyncio.to_thread(services.reviews.csv, found)  # as the cog makes it
    return found, sum(len(p) for p in parts) + len(data)


WEEK_OF = (
    "SELECT count(*) AS days, coalesce(sum(hours), 0) AS hours,"
    " coalesce(sum(diamonds), 0) AS diamonds, coalesce(sum(followers), 0) AS followers,"
    " avg(mood) AS mood FROM checkins WHERE guild_id = ? AND user_id = ?"
    " AND local_date BETWEEN ? AND ?")
MONTH_OF = (
    "SELECT coalesce(sum(hours), 0) FROM checkins WHERE guild_id = ? AND user_id = ?"
    " AND local_date BETWEEN ? AND ?")
TIER_OF = "SELECT tier_id FROM member_tiers WHERE guild_id = ? AND user_id = ?"
MEMBERSHIPS_OF = (
    "SELECT family_id, joined_at, left_at FROM family_members WHERE guild_id = ?"
    " AND user_id = ? AND joined_at < ? AND (left_at IS NULL OR left_at >= ?)")
NOTES_OF = (
    "SELECT local_date, mood, notes FROM checkins WHERE guild_id = ? AND user_id = ?"
    " AND local_date BETWEEN ? AND ? AND notes IS NOT NULL AND trim(notes) != ''")


async def naive(services: Services, guild_id: int, review: Any) -> dict[int | None, float]:
    """The review's per-creator figures, one query per creator and week (and month, and
    tier): the hours of the reviewed week per tier, to check against the review's."""
    db = services.db
    first = review.first
    hours: dict[int | None, float] = defaultdict(float)
    month_first = review.last.replace(day=1)
    tiers = sorted(await services.tiers.list_tiers(guild_id), key=lambda t: -t.rank)
    begin = to_db(datetime.combine(first, dtime(0), tzinfo=UTC))
    end = to_db(datetime.combine(review.last + timedelta(days=1), dtime(0), tzinfo=UTC))
    for person in review.people:
        user = person.user_id
        weeks = []
        for i in range(5):
            start = first - timedelta(days=7 * i)
            weeks.append(await db.fetchone(WEEK_OF, (guild_id, user, start.isoformat(),
                                                     (start + timedelta(days=6)).isoformat())))
        month_hours = await db.fetchval(MONTH_OF, (guild_id, user, month_first.isoformat(),
                                                   review.last.isoformat()))
        tier = await db.fetchval(TIER_OF, (guild_id, user))
        await db.fetchall(MEMBERSHIPS_OF, (guild_id, user, end, begin))
        await db.fetchall(NOTES_OF, (guild_id, user, first.isoformat(), review.last.isoformat()))
        # the same pace rule on the creator's month (hours: the large program's tiers' one)
        at_pace(Progress(hours=month_hours), tiers, review.last)
        hours[tier] += weeks[0]["hours"]
    return hours


async def insights(services: Services, made: Any) -> dict[str, Any]:
    """The scorecard and the risk sweep, from bench/_insights.py when it exists."""
    path = Path(__file__).with_name("_insights.py")
    if not path.exists():
        return {"scorecard_s": None, "risk_sweep_s": None}
    spec = importlib.util.spec_from_file_location("bench_insights", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(await module.run(services, made))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large", choices=("small", "program", "large"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the database here (reused if present)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "reviews.db"
        db, services, made, build_s = await open_program(path, args.size)
        # the clock on the Wednesday after the build: last week's review, final
        services.clock.set(NOW)
        templates = Templates()
        guild_id = made.guild_id
        gc.collect()
        gc.freeze()
        await review_once(services, templates, guild_id)  # warm-up: caches, templates
        times, chars = [], 0
        with Watchdog() as watchdog:
            for _ in range(args.repeat):
                started = time.perf_counter()
                found, chars = await review_once(services, templates, guild_id)
                times.append(time.perf_counter() - started)
        review_s = statistics.median(times)
        started = time.perf_counter()
        naive_hours = await naive(services, guild_id, found)
        naive_s = time.perf_counter() - started
        for section in found.sections:
            tier = section.tier.id if section.tier else None
            assert abs(naive_hours.get(tier, 0.0) - section.week.hours) < 0.01, (
                tier, naive_hours.get(tier), section.week.hours)
        extra = await insights(services, made)
        checkins = await db.fetchval("SELECT count(*) FROM checkins")
        await db.close()
    scorecard = extra.get("scorecard_s") or 0.0
    result = {
        "bench": "reviews", "size": args.size, "families": len(made.families),
        "creators": len(found.people), "checkins": checkins, "build_s": round(build_s, 1),
        "week": found.week, "tiers": len(found.sections), "review_chars": chars,
        "review_s": round(review_s, 3), "review_runs_s": [round(t, 3) for t in times],
        "naive_s": round(naive_s, 3), "speedup_vs_naive": round(naive_s / review_s, 1),
        "max_loop_stall_ms": round(watchdog.worst * 1000, 1),
        **extra,
        "goal_met": (review_s + scorecard <= GOAL_S and naive_s / review_s >= GOAL_SPEEDUP
                     and watchdog.worst * 1000 <= GOAL_STALL_MS),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())

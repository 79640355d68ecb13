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
longest is ``max_loop_stall_ms`` (the event loop blocked by the review's Python work). The
same ticker first runs 3 s with nothing to do: ``idle_loop_stall_ms`` is what a shared machine
alone costs it. ``max_loop_step_ms`` is the longest a single callback of the loop ran (a task's
step between two awaits, fast paths only): the loop blocked by this process's own code, apart
from the wake-ups a busy machine delays.

The family scorecard of every family, this period and the one before, as ``/family scorecard``
asks it, and the daily risk sweep (every creator analysed, then the flags written) run next
on the same program, each against its own naive path (checked equal): per family the
one-family KPI methods, per creator their check-in days, the feedback on their check-ins and
their check-ins of the sweep's days, each its own query. ``speedup_vs_naive`` is the
smallest of the three speed-ups, ``max_loop_stall_ms`` the longest stall of the three;
``cpu_*`` are the process's CPU seconds (threads too), steadier than wall time on a shared
machine. Goals: review + scorecard ≤ 2 s, risk sweep ≤ 5 s, ≥ 10× faster than naive, loop
stall ≤ 100 ms. Ends with one JSON line, the issue's five figures last.

    .venv/bin/python bench/reviews.py [--size large] [--repeat 3] [--keep PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.views import NOW, open_program  # the same program, built the same way
from bot.clock import to_db
from bot.localtime import day_start
from bot.services import Services, population, risk
from bot.services.reviews import at_pace
from bot.services.scorecard import Span
from bot.services.tiers import Progress
from bot.templating import Templates
from cogs.review import review_parts

GOAL_S = 2.0  # review + scorecard
GOAL_SWEEP_S = 5.0
GOAL_SPEEDUP = 10.0
GOAL_STALL_MS = 100.0
IDLE_S = 3.0  # the idle ticker's run


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


# -- the scorecard and the risk sweep (issue 19's insights) -----------------------------

class Stalls:
    """The event loop's longest wait past a 5 ms tick while the block runs."""

    def __init__(self) -> None:
        self.max_ms = 0.0

    @contextlib.asynccontextmanager
    async def watch(self) -> AsyncIterator[None]:
        stop = asyncio.Event()

        async def tick() -> None:
            while not stop.is_set():
                started = time.perf_counter()
                await asyncio.sleep(0.005)
                late = (time.perf_counter() - started - 0.005) * 1000
                self.max_ms = max(self.max_ms, late)

        task = asyncio.create_task(tick())
        try:
            yield
        finally:
            stop.set()
            await task


class Steps:
    """The longest a single callback of the event loop ran (a task's step between two
    awaits): the loop blocked by this process's own code, whatever the machine's other load
    does to the watchdog's wake-ups (``asyncio.events.Handle._run`` timed, bench only)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._run: Any = None

    def __enter__(self) -> Steps:
        self._run = run = asyncio.events.Handle._run
        steps = self

        def timed(handle: asyncio.events.Handle) -> None:
            started = time.perf_counter()
            run(handle)
            steps.worst = max(steps.worst, time.perf_counter() - started)

        asyncio.events.Handle._run = timed  # type: ignore[assignment,method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self._run  # type: ignore[assignment,method-assign]


# -- the fast paths (what the bot runs) ------------------------------------------------------

async def scorecard_all(services: Services, guild_id: int) -> Any:
    """``/family scorecard`` for managers: every family, this period and the one before."""
    return await services.scorecard.scorecard(guild_id, "last_month")


async def risk_sweep(services: Services, guild_id: int) -> list[risk.Raised]:
    """The daily sweep's analysis (what it writes is timed apart: :func:`measure`)."""
    return await services.risk.find(guild_id)


# -- the naive paths: a query per creator ----------------------------------------------------

async def naive_scorecard(services: Services, guild_id: int, span: Span
                          ) -> dict[int, tuple[Any, float | None]]:
    """Per family, the one-family KPI methods; per creator, their check-in days and the
    feedback on their check-ins, each its own query."""
    db = services.db
    counted = await population.population(db, guild_id, span.first, span.last, days=True)
    found: dict[int, tuple[Any, float | None]] = {}
    for family in await db.fetchall(
            "SELECT id FROM families WHERE guild_id = ? AND archived_at IS NULL", (guild_id,)):
        fid = family["id"]
        stats = await services.kpis.family_stats(guild_id, fid, span.start, span.end)
        members = await db.fetchall(
            "SELECT DISTINCT user_id FROM family_members WHERE family_id = ? AND joined_at < ?"
            " AND (left_at IS NULL OR left_at >= ?)", (fid, to_db(span.end), to_db(span.start)))
        done = 0
        for m in members:
            days = await db.fetchval(
                "SELECT count(*) FROM checkins WHERE guild_id = ? AND user_id = ?"
                " AND family_id = ? AND local_date BETWEEN ? AND ?",
                (guild_id, m["user_id"], fid, span.first.isoformat(), span.last.isoformat()))
            await db.fetchall(
                "SELECT r.minutes FROM checkins c LEFT JOIN checkin_response r"
                " ON r.checkin_id = c.id WHERE c.guild_id = ? AND c.user_id = ?"
                " AND c.family_id = ? AND c.created_at >= ? AND c.created_at < ?",
                (guild_id, m["user_id"], fid, to_db(span.start), to_db(span.end)))
            if counted.counts_values(m["user_id"]):
                done += days
        possible = await population.possible_days(db, guild_id, fid, span.first, span.last,
                                                  counted)
        found[fid] = (stats, min(1.0, done / possible) if possible else None)
    return found


async def naive_risk(services: Services, guild_id: int) -> set[tuple[str, str]]:
    """The creator flags of the sweep, each creator's check-ins read by its own query."""
    db = services.db
    today = await services.risk.today(guild_id)
    settings = await services.insight_settings.all(guild_id)
    first = today - timedelta(days=risk.WINDOW + risk.HISTORY)
    creators = await db.fetchall(risk.CREATORS, (guild_id,))
    days: list[Any] = []
    last: dict[int, str] = {}
    for c in creators:
        mine = await db.fetchall(
            "SELECT user_id, family_id, local_date, hours, diamonds FROM checkins"
            " WHERE guild_id = ? AND user_id = ? AND local_date BETWEEN ? AND ?",
            (guild_id, c["user_id"], first.isoformat(),
             (today - timedelta(days=1)).isoformat()))
        days.extend(mine)
        found = await db.fetchval(
            "SELECT max(local_date) FROM checkins WHERE guild_id = ? AND user_id = ?",
            (guild_id, c["user_id"]))
        if found:
            last[c["user_id"]] = found
    rest = await db.fetchval(risk.REST_DAYS, (guild_id,))
    before = today - timedelta(days=(1 if rest is None else rest) + 1)
    streaks = await db.fetchall(risk.STREAKS, (guild_id, int(settings["streak_min"]),
                                               before.isoformat()))
    raised = risk.analyse(today, settings, creators, days, last, streaks, {}, set())
    found = {(r.kind, r.subject) for r in raised}
    # families: the one-family KPI methods, family by family
    tz = (await services.guilds.get(guild_id)).timezone
    start = day_start(today - timedelta(days=risk.FAMILY_DAYS), tz)
    end = day_start(today, tz)
    for family in await db.fetchall(
            "SELECT id FROM families WHERE guild_id = ? AND archived_at IS NULL", (guild_id,)):
        stats = await services.kpis.family_stats(guild_id, family["id"], start, end)
        quality = await services.kpis.quality(guild_id, family["id"], start, end)
        if (stats.attrition is not None and stats.attrition > settings["family_attrition"]) or (
                quality.checkins >= risk.FAMILY_MIN_CHECKINS
                and quality.feedback_rate < settings["family_feedback"]):
            found.add(("family_at_risk", f"f:{family['id']}"))
    return found


# -- measuring -----------------------------------------------------------------------------------

async def timed(stalls: Stalls | None, step: Any, repeat: int
                ) -> tuple[float, float, list[float], Any]:
    """``step`` run ``repeat`` times: the median wall time, the median CPU time of the process
    (its threads too), every wall time, the last result; the loop watched when ``stalls``."""
    times, cpu, result = [], [], None
    async with stalls.watch() if stalls else contextlib.nullcontext():
        for _ in range(repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            result = await step()
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
    return statistics.median(times), statistics.median(cpu), times, result


async def measure_insights(services: Services, guild_id: int, repeat: int = 3
                           ) -> dict[str, Any]:
    """The scorecard's and the risk sweep's figures (see the module's docstring); the flags of
    an earlier run are cleared first, so that the sweep writes every flag it raises."""
    async with services.db.transaction() as tx:
        await tx.execute("DELETE FROM risk_flags WHERE guild_id = ?", (guild_id,))
        await tx.execute("DELETE FROM risk_sweeps WHERE guild_id = ?", (guild_id,))
    stalls = Stalls()
    await scorecard_all(services, guild_id)  # warm-up: pages in SQLite's cache
    with Steps() as steps:  # the fast paths only: the naive ones run on the loop by design
        card_s, card_cpu, card_runs, card = await timed(
            stalls, lambda: scorecard_all(services, guild_id), repeat)
        risk_s, risk_cpu, risk_runs, found = await timed(
            stalls, lambda: risk_sweep(services, guild_id), repeat)
        async with stalls.watch():
            started = time.perf_counter()
            new = await services.risk.sweep(guild_id)  # the whole sweep, flags written
            sweep_write_s = time.perf_counter() - started
    # the naive paths analyse on the event loop: not the bot's stalls
    naive_card_s, naive_card_cpu, _, naive_card = await timed(
        None, lambda: naive_scorecard(services, guild_id, card.span), 1)
    naive_risk_s, naive_risk_cpu, _, naive_found = await timed(
        None, lambda: naive_risk(services, guild_id), 1)
    flags_agree = {(r.kind, r.subject) for r in found} == naive_found
    cards_agree = all(naive_card[c.family_id][0] == c.stats
                      and naive_card[c.family_id][1] == c.checkin_rate for c in card.cards)
    kinds: dict[str, int] = {}
    for r in found:
        kinds[r.kind] = kinds.get(r.kind, 0) + 1
    return {
        "scorecard_s": round(card_s, 3), "scorecard_runs_s": [round(t, 3) for t in card_runs],
        "risk_sweep_s": round(max(risk_s, sweep_write_s), 3),
        "risk_find_s": round(risk_s, 3), "risk_find_runs_s": [round(t, 3) for t in risk_runs],
        "risk_sweep_write_s": round(sweep_write_s, 3),
        "naive_scorecard_s": round(naive_card_s, 3), "naive_risk_s": round(naive_risk_s, 3),
        "speedup_scorecard": round(naive_card_s / card_s, 1),
        "speedup_risk": round(naive_risk_s / risk_s, 1),
        "cpu_scorecard_s": round(card_cpu, 3), "cpu_risk_s": round(risk_cpu, 3),
        "cpu_naive_scorecard_s": round(naive_card_cpu, 3),
        "cpu_naive_risk_s": round(naive_risk_cpu, 3),
        "cpu_speedup_scorecard": round(naive_card_cpu / card_cpu, 1),
        "cpu_speedup_risk": round(naive_risk_cpu / risk_cpu, 1),
        "insights_stall_ms": round(stalls.max_ms, 1),
        "insights_max_step_ms": round(steps.worst * 1000, 1),
        "agree_scorecard": cards_agree, "agree_risk": flags_agree,
        "flags": len(found), "flags_new": len(new), "flag_kinds": kinds,
    }


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
        gc.freeze()  # the bench's own program description: not the bot's, not collected
        with Watchdog() as idle:  # the same ticker with nothing to do: the machine's share
            await asyncio.sleep(IDLE_S)
        await review_once(services, templates, guild_id)  # warm-up: caches, templates
        times, cpu, chars = [], [], 0
        with Watchdog() as watchdog, Steps() as steps:
            for _ in range(args.repeat):
                started, started_cpu = time.perf_counter(), time.process_time()
                found, chars = await review_once(services, templates, guild_id)
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
        review_s, review_cpu = statistics.median(times), statistics.median(cpu)
        started, started_cpu = time.perf_counter(), time.process_time()
        naive_hours = await naive(services, guild_id, found)
        naive_s = time.perf_counter() - started
        naive_cpu = time.process_time() - started_cpu
        for section in found.sections:
            tier = section.tier.id if section.tier else None
            assert abs(naive_hours.get(tier, 0.0) - section.week.hours) < 0.01, (
                tier, naive_hours.get(tier), section.week.hours)
        extra = await measure_insights(services, guild_id, args.repeat)
        assert extra["agree_scorecard"] and extra["agree_risk"], "fast and naive disagree"
        checkins = await db.fetchval("SELECT count(*) FROM checkins")
        await db.close()
    speedup = min(naive_s / review_s, extra["speedup_scorecard"], extra["speedup_risk"])
    cpu_speedup = min(naive_cpu / review_cpu, extra["cpu_speedup_scorecard"],
                      extra["cpu_speedup_risk"])
    stall_ms = max(watchdog.worst * 1000, extra["insights_stall_ms"])
    result = {
        "bench": "reviews", "size": args.size, "families": len(made.families),
        "creators": len(found.people), "checkins": checkins, "build_s": round(build_s, 1),
        "week": found.week, "tiers": len(found.sections), "review_chars": chars,
        "review_runs_s": [round(t, 3) for t in times],
        "naive_review_s": round(naive_s, 3),
        "speedup_review": round(naive_s / review_s, 1),
        "cpu_review_s": round(review_cpu, 3), "cpu_naive_review_s": round(naive_cpu, 3),
        "cpu_speedup_review": round(naive_cpu / review_cpu, 1),
        "review_stall_ms": round(watchdog.worst * 1000, 1),
        "idle_loop_stall_ms": round(idle.worst * 1000, 1),
        "review_max_step_ms": round(steps.worst * 1000, 1),
        **extra,
        "cpu_speedup_vs_naive": round(cpu_speedup, 1),
        "goal_met": (review_s + extra["scorecard_s"] <= GOAL_S
                     and extra["risk_sweep_s"] <= GOAL_SWEEP_S and speedup >= GOAL_SPEEDUP
                     and stall_ms <= GOAL_STALL_MS),
        # the figures, last
        "review_s": round(review_s, 3), "scorecard_s": extra["scorecard_s"],
        "risk_sweep_s": extra["risk_sweep_s"], "speedup_vs_naive": round(speedup, 1),
        "max_loop_stall_ms": round(stall_ms, 1),
        "max_loop_step_ms": round(max(steps.worst * 1000, extra["insights_max_step_ms"]), 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())

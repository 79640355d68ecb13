"""The insights' part of bench/reviews.py (#19), a helper module (``python bench/reviews.py``
runs it): the family scorecard of every family and the daily risk sweep, against the same
figures computed by a naive query per creator in the same run, with the event loop's longest
stall measured meanwhile.

Measured: ``scorecard_s`` (the scorecard of every family, this period and the one before,
as ``/family scorecard`` asks it), ``risk_sweep_s`` (the daily sweep: every creator analysed
and the flags written), the naive paths' times (one query per creator: a creator's check-ins
and feedback; per family the one-family KPI methods), ``speedup_vs_naive`` (naive ÷ fast, the
smaller of the two), ``max_loop_stall_ms`` (the longest the event loop waited past a 5 ms
tick while the fast paths ran) and ``agree`` (the fast and naive paths found the same figures).
Goals: scorecard ≤ 2 s (with the review), risk sweep ≤ 5 s, ≥ 10× the naive path, no stall
over 100 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from statistics import median
from typing import Any

from bot.clock import to_db
from bot.localtime import day_start
from bot.services import Services, population, risk
from bot.services.scorecard import Span


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
    return median(times), median(cpu), times, result


async def measure(services: Services, guild_id: int, repeat: int = 3) -> dict[str, Any]:
    """The insights' figures of bench/reviews.py (see the module's docstring); the flags of
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

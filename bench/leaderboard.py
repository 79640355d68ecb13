"""Leaderboards at size: 10,000 creators in 100 families and about 1,000,000 daily check-ins.

Builds the database through the real migrations with the program builder (``bot/program.py``:
145 days of check-ins with gaps, bulk-inserted in one transaction with the running totals
and streaks the check-ins feature keeps, all-time totals by the migration's triggers), then
measures top-25 boards through ``LeaderboardService`` for every period (today, this and last
week, this and last month, all time) x metric x scope (program, a family, a tier): p50 / p99,
after one untimed warm-up pass. In the same run: the naive GROUP BY over raw check-in rows for
the same boards, custom-range boards, the caller's own rank, family against family, and the
time to render one chart. Goals: p99 <= 5 ms,
speed-up >= 10. Ends with one JSON line.

    .venv/bin/python bench/leaderboard.py [--small]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import charts
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.db import Database
from bot.program import Size
from bot.program import build as build_program
from bot.services import Services

G = 1
NOW = datetime(2026, 3, 18, 15, 0, tzinfo=UTC)
PERIODS = ("today", "this_week", "last_week", "this_month", "last_month", "all")
METRICS = ("hours", "diamonds", "followers", "days")
NAIVE_COLUMN = {"hours": "sum(c.hours)", "diamonds": "sum(c.diamonds)",
                "followers": "sum(c.followers)", "days": "count(*)"}


async def build(path: Path, creators: int, days: int, families: int) -> tuple[float, int]:
    """Fill the migrated database with a seeded program (``bot/program.py``): ``creators``
    in ``families`` (besides their leaders, and 5 % who left), ``days`` of check-ins with
    gaps; returns seconds and the number of check-ins."""
    started = time.perf_counter()
    settings = load_settings(env_file=None, database_path=path)
    db = await Database.open(path)
    services = Services.build(db, settings, FrozenClock(NOW))
    size = Size(families=families, creators=creators // families, days=days,
                leavers=max(1, creators // families // 20))
    made = await build_program(services, size, guild_id=G, now=NOW - timedelta(minutes=1))
    async with db.transaction() as tx:
        await tx.execute("ANALYZE")
    await db.close()
    return time.perf_counter() - started, made.checkins


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(call, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        await call()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def measure(path: Path, repeat: int) -> dict:
    settings = load_settings(env_file=None, database_path=path)
    db = await Database.open(path)
    services = Services.build(db, settings, FrozenClock(NOW))
    lb = services.leaderboards
    scopes = (("program", 0), ("family", 7), ("tier", 2))
    boards, naive, ranges, mine, families = [], [], [], [], []
    for name in PERIODS:  # warm-up: one untimed pass, so pages are in SQLite's cache
        period = await lb.resolve_period(G, name)
        for metric in METRICS:
            for scope, scope_id in scopes:
                await lb.board(G, metric, period, scope, scope_id, size=25)
    for name in PERIODS:
        period = await lb.resolve_period(G, name)
        for metric in METRICS:
            for scope, scope_id in scopes:
                boards += await timed(lambda p=period, m=metric, s=scope, i=scope_id: lb.board(
                    G, m, p, s, i, size=25), repeat)
            naive += await timed(lambda p=period, m=metric: naive_top(db, p, m),
                                 max(2, repeat // 10))
        families += await timed(lambda p=period: lb.family_board(G, "hours", p), 3)
    today = await lb.resolve_period(G, "today")
    for scope, scope_id in scopes:
        boards += await timed(lambda s=scope, i=scope_id: lb.board(
            G, "streak", today, s, i, size=25), repeat)
    week = await lb.resolve_period(G, "custom", date(2026, 3, 9), date(2026, 3, 15))
    ranges += await timed(lambda: lb.board(G, "hours", week, size=25), 5)
    this_month = await lb.resolve_period(G, "this_month")
    middle = await db.fetchval(  # a creator in the middle of the program
        "SELECT user_id FROM family_members WHERE left_at IS NULL ORDER BY user_id"
        " LIMIT 1 OFFSET (SELECT count(*) / 2 FROM family_members WHERE left_at IS NULL)")
    mine += await timed(lambda: lb.board(G, "hours", this_month, viewer_id=middle, size=25),
                        repeat)
    await db.close()
    names = [f"creator {i}" for i in range(25)]
    values = sorted((random.uniform(0, 200) for _ in range(25)), reverse=True)
    charts.bar_chart(names, values, title="warm-up", value_label="h")
    chart = []
    for _ in range(5):
        start = time.perf_counter()
        charts.bar_chart(names, values, title="Hours live · this week", value_label="hours",
                         highlight=3)
        chart.append((time.perf_counter() - start) * 1000)
    p50, naive_p50 = statistics.median(boards), statistics.median(naive)
    return {
        "queries": len(boards), "p50_ms": round(p50, 3), "p99_ms": round(pct(boards, 0.99), 3),
        "max_ms": round(max(boards), 3), "naive_p50_ms": round(naive_p50, 2),
        "speedup_vs_naive": round(naive_p50 / p50, 1),
        "range_7d_p50_ms": round(statistics.median(ranges), 2),
        "my_rank_p50_ms": round(statistics.median(mine), 2),
        "families_p50_ms": round(statistics.median(families), 2),
        "chart_ms": round(statistics.median(chart), 1),
    }


async def naive_top(db: Database, period, metric: str) -> list:
    """What a board costs without stored totals: a GROUP BY over the raw check-in rows."""
    first, last = period.first or date(2000, 1, 1), period.last or NOW.date()
    return await db.fetchall(
        f"SELECT c.user_id, {NAIVE_COLUMN[metric]} AS value FROM checkins c"
        " JOIN family_members fm ON fm.guild_id = c.guild_id AND fm.user_id = c.user_id"
        " AND fm.left_at IS NULL WHERE c.guild_id = ? AND c.local_date BETWEEN ? AND ?"
        " GROUP BY c.user_id ORDER BY value DESC, c.user_id LIMIT 25",
        (G, first.isoformat(), last.isoformat()))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="1,000 creators x 45 days")
    parser.add_argument("--keep", type=Path, help="keep the database here (reused if present)")
    args = parser.parse_args()
    # about 70 % of the days are checked in: 145 days make about a million check-ins
    creators, days, repeat = (1000, 45, 10) if args.small else (10_000, 145, 30)
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "bench.db"
        build_s, checkins = 0.0, 0
        if not path.exists():
            db = await Database.open(path)
            await db.migrate()
            await db.close()
            build_s, checkins = await build(path, creators, days, 100)
        result = await measure(path, repeat)
    result = {"bench": "leaderboard", "creators": creators, "checkins": checkins,
              "build_s": round(build_s, 1), **result}
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())

"""Leaderboards at size: 10,000 creators in 100 families and 1,000,000 daily check-ins.

Builds the database through the real migrations (check-ins bulk-inserted in one transaction,
``progress_totals`` summed from them as the check-ins feature keeps them, all-time totals by the
migration's triggers), then measures top-25 boards through ``LeaderboardService`` for every
period (today, this and last week, this and last month, all time) x metric x scope (program,
a family, a tier): p50 / p99, after one untimed warm-up pass. In the same run: the naive
GROUP BY over raw check-in rows for the same boards, custom-range boards, the caller's own
rank, family against family, and the time to render one chart. Goals: p99 <= 5 ms,
speed-up >= 10. Ends with one JSON line.

    .venv/bin/python bench/leaderboard.py [--small]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
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
from bot.localtime import iso_week, month
from bot.services import Services

G = 1
NOW = datetime(2026, 3, 18, 15, 0, tzinfo=UTC)
PERIODS = ("today", "this_week", "last_week", "this_month", "last_month", "all")
METRICS = ("hours", "diamonds", "followers", "days")
NAIVE_COLUMN = {"hours": "sum(c.hours)", "diamonds": "sum(c.diamonds)",
                "followers": "sum(c.followers)", "days": "count(*)"}


def build(path: Path, creators: int, days: int, families: int) -> float:
    """Fill the migrated database; returns seconds."""
    started = time.perf_counter()
    rng = random.Random(7)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    stamp = NOW.isoformat()
    conn.execute("INSERT INTO guilds VALUES (?, 'UTC', 'en', NULL, ?, ?)", (G, stamp, stamp))
    conn.executemany(
        "INSERT INTO families (id, guild_id, name, leader_user_id, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [(f, G, f"Family {f}", 1_000_000 + f, stamp) for f in range(1, families + 1)])
    users = list(range(100, 100 + creators))
    family_of = {u: 1 + i % families for i, u in enumerate(users)}
    conn.executemany(
        "INSERT INTO family_members (guild_id, family_id, user_id, joined_at, left_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [(G, family_of[u], u, stamp, stamp if i % 20 == 0 else None)  # 5 % have left
         for i, u in enumerate(users)])
    for rank in (1, 2, 3):
        conn.execute("INSERT INTO tiers (id, guild_id, name, rank, min_hours, created_at)"
                     " VALUES (?, ?, ?, ?, ?, ?)", (rank, G, f"T{rank}", rank, rank * 20, stamp))
    conn.executemany("INSERT INTO member_tiers VALUES (?, ?, ?, ?, 'sweep')",
                     [(G, u, 1 + i % 3, stamp) for i, u in enumerate(users)])
    today = NOW.date()
    dates = [today - timedelta(days=d) for d in range(days)]
    conn.executemany(
        "INSERT INTO checkins (guild_id, user_id, family_id, local_date, timezone, hours,"
        " diamonds, followers, peak_viewers, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, 'UTC', ?, ?, ?, 0, ?, ?)",
        ((G, u, family_of[u], d.isoformat(), round(rng.uniform(0, 8), 1),
          rng.randrange(0, 5000), rng.randrange(0, 60), stamp, stamp)
         for d in dates for u in users))
    conn.execute("CREATE TEMP TABLE periods (local_date TEXT PRIMARY KEY, kind TEXT, period TEXT)")
    conn.executemany("INSERT INTO periods VALUES (?, ?, ?)",
                     [(d.isoformat(), "week", iso_week(d)) for d in dates])
    conn.executemany("INSERT INTO temp.periods VALUES (?, ?, ?)",
                     [(d.isoformat() + "m", "month", month(d)) for d in dates])
    for kind, suffix in (("week", ""), ("month", "m")):
        conn.execute(
            "INSERT INTO progress_totals (guild_id, user_id, period_kind, period, checkins,"
            " valid_days, hours, diamonds, followers) SELECT c.guild_id, c.user_id, p.kind,"
            " p.period, count(*), sum(c.hours >= 1), round(sum(c.hours), 2), sum(c.diamonds),"
            " sum(c.followers) FROM checkins c JOIN temp.periods p"
            " ON p.local_date = c.local_date || ? WHERE p.kind = ?"
            " GROUP BY c.guild_id, c.user_id, p.period", (suffix, kind))
    conn.executemany(
        "INSERT INTO checkin_streaks VALUES (?, ?, ?, ?, ?)",
        [(G, u, rng.randrange(0, days), days, (today - timedelta(days=rng.randrange(3))
                                               ).isoformat()) for u in users])
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


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
    middle = 100 + len(await db.fetchall("SELECT 1 FROM family_members")) // 2
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
    parser.add_argument("--small", action="store_true", help="1,000 creators x 30 days")
    parser.add_argument("--keep", type=Path, help="keep the database here (reused if present)")
    args = parser.parse_args()
    creators, days, repeat = (1000, 30, 10) if args.small else (10_000, 100, 30)
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "bench.db"
        build_s = 0.0
        if not path.exists():
            db = await Database.open(path)
            await db.migrate()
            await db.close()
            build_s = build(path, creators, days, 100)
        result = await measure(path, repeat)
    result = {"bench": "leaderboard", "creators": creators, "checkins": creators * days,
              "build_s": round(build_s, 1), **result}
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())

"""Listing views at size: every listing command's service call and template, on the `large`
program (200 families, 5,000 creators, 365 days of check-ins; ``bot/program.py``).

Each view is one function below, ``view(ctx, i) -> messages``: it asks the service what the
command asks (the i-th time for the i-th family, creator or leader, in English or Spanish by
turn) and renders the command's template, returning the messages it would send (one today;
a view that pages or splits returns each message, or the first page). Timed together:
p50 / p99 per view over ``--repeat`` calls after one untimed warm-up call; the largest
rendered message of each view is measured against Discord's 2,000 characters (charts are
not drawn: their cost is in bench/leaderboard.py). Goal: p99 ≤ 20 ms per view, no message
over the limit. Ends with one JSON line: ``p99_ms`` (the slowest view's), ``views`` (each
view's p50/p99/largest message), ``over_limit`` (views with a message over 2,000
characters) and ``over_limit_messages``.

    .venv/bin/python bench/views.py [--size large] [--repeat 40] [--keep PATH]

``--keep`` keeps the built database there and reuses it in the next run (a `large` build
takes a minute or two).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import FrozenClock
from bot.config import load_settings
from bot.db import Database
from bot.localtime import month
from bot.program import Program, build
from bot.services import Services
from bot.templating import Templates

LIMIT = 2000  # characters in a message's content
NOW = datetime(2026, 6, 17, 15, 0, tzinfo=UTC)  # a Wednesday, mid-month
CAMPAIGN_BOARD_SIZE = 15  # cogs/campaigns.py BOARD_SIZE


@dataclass
class Ctx:
    services: Services
    templates: Templates
    made: Program

    def locale(self, i: int) -> str:
        return ("en", "es")[i % 2]

    def family(self, i: int):
        return self.made.families[i % len(self.made.families)]

    def creator(self, i: int):
        creators = self.made.creators
        return creators[(i * 97) % len(creators)]

    def render(self, i: int, template: str, **context) -> list[str]:
        return [self.templates.render(self.locale(i), template, **context)]


# -- the views: one function each ----------------------------------------------------------------

async def leaderboard_creators(ctx: Ctx, i: int) -> list[str]:
    """/leaderboard creators: a metric and period by turn, the program's first page."""
    lb, g = ctx.services.leaderboards, ctx.made.guild_id
    metric = ("hours", "diamonds", "followers", "days", "streak")[i % 5]
    period = ("this_week", "last_week", "this_month", "last_month", "all", "today")[i % 6]
    board = await lb.open(g, ctx.creator(i).user_id, metric, period)
    return ctx.render(i, "discord/leaderboards/board.md.j2", board=board, final=False,
                      left=board.include_left)


async def leaderboard_families(ctx: Ctx, i: int) -> list[str]:
    """/leaderboard families: every active family ranked."""
    lb, g = ctx.services.leaderboards, ctx.made.guild_id
    period = await lb.resolve_period(g, ("this_week", "this_month", "all")[i % 3])
    by = ("average", "total")[i % 2]
    rows = await lb.family_board(g, "hours", period, by)
    return ctx.render(i, "discord/leaderboards/families.md.j2", rows=rows, metric="hours",
                      period=period, by=by)


async def family_roster(ctx: Ctx, i: int) -> list[str]:
    """/family roster: a family's active members."""
    family = await ctx.services.families.get(ctx.made.guild_id, ctx.family(i).id)
    entries = await ctx.services.families.roster(ctx.made.guild_id, family.id)
    return ctx.render(i, "discord/families/roster.md.j2", family=family, entries=entries)


async def family_list(ctx: Ctx, i: int) -> list[str]:
    """/family list: every family (a manager's view)."""
    found = await ctx.services.families.list_families(ctx.made.guild_id)
    return ctx.render(i, "discord/families/list.md.j2", families=found)


async def family_history(ctx: Ctx, i: int) -> list[str]:
    """/family history: a creator's memberships."""
    who = ctx.creator(i).user_id
    rows = await ctx.services.families.history(ctx.made.guild_id, who)
    return ctx.render(i, "discord/families/history.md.j2", user_id=who, rows=rows)


async def checkins_history(ctx: Ctx, i: int) -> list[str]:
    """/checkins history days:90 (the most a member may ask) of a creator."""
    who = ctx.creator(i).user_id
    found = await ctx.services.checkins.history(ctx.made.guild_id, who, None, 90)
    return ctx.render(i, "discord/checkins/history.md.j2", user_id=found.user_id,
                      rows=found.checkins, streak=found.streak, best=found.best, days=90,
                      own=True)


async def progress_risk(ctx: Ctx, i: int) -> list[str]:
    """/progress risk: a family's creators off pace for their tier."""
    g = ctx.made.guild_id
    family = await ctx.services.families.get(g, ctx.family(i).id)
    risks = await ctx.services.pace.at_risk(g, family.id)
    has_tiers = bool(await ctx.services.tiers.list_tiers(g))
    return ctx.render(i, "discord/leaderboards/risk.md.j2", family=family, risks=risks,
                      has_tiers=has_tiers)


async def tier_sweep_preview(ctx: Ctx, i: int) -> list[str]:
    """/tier sweep (preview) of this month so far: every creator whose tier would change."""
    period = month(ctx.made.now.date())
    changes = await ctx.services.tiers.plan(ctx.made.guild_id, period)
    return ctx.render(i, "discord/families/sweep.md.j2", changes=changes, applied=False,
                      period=period)


async def campaign_board(ctx: Ctx, i: int) -> list[str]:
    """/campaign board of the running campaign."""
    assert ctx.made.campaign_id is not None
    service = ctx.services.campaigns
    found = await service.get(ctx.made.guild_id, ctx.made.campaign_id)
    rows = await service.board_rows(found)
    viewer = ctx.creator(i).user_id
    me = next((r for r in rows if r.user_id == viewer), None)
    return ctx.render(i, "discord/campaigns/board.md.j2", campaign=found,
                      rows=rows[:CAMPAIGN_BOARD_SIZE], me=me, viewer_id=viewer)


async def campaign_list(ctx: Ctx, i: int) -> list[str]:
    """/campaign list (a manager's view)."""
    found = await ctx.services.campaigns.list_campaigns(
        ctx.made.guild_id, ("draft", "scheduled", "running", "finished"))
    return ctx.render(i, "discord/campaigns/list.md.j2", campaigns=found, manager=True)


View = Callable[[Ctx, int], Awaitable[list[str]]]
VIEWS: dict[str, View] = {f.__name__: f for f in (
    leaderboard_creators, leaderboard_families, family_roster, family_list, family_history,
    checkins_history, progress_risk, tier_sweep_preview, campaign_board, campaign_list)}


# -- measuring -----------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(ctx: Ctx, view: View, repeat: int) -> dict:
    await view(ctx, 0)  # warm-up: templates compiled, pages in SQLite's cache
    times, longest, over = [], 0, 0
    for i in range(repeat):
        started = time.perf_counter()
        messages = await view(ctx, i)
        times.append((time.perf_counter() - started) * 1000)
        longest = max([longest, *map(len, messages)])
        over += sum(len(m) > LIMIT for m in messages)
    return {"p50_ms": round(statistics.median(times), 2), "p99_ms": round(pct(times, 0.99), 2),
            "max_chars": longest, "over": over}


def _start_over(path: Path, described: Path) -> bool:
    """True (and nothing left of a half-built one) unless a built program is there."""
    if path.exists() and described.exists():
        return False
    for stale in (path, described):
        stale.unlink(missing_ok=True)
    return True


async def open_program(path: Path, size: str) -> tuple[Database, Services, Program, float]:
    """The program at ``path``, built there first if it is not (its description is kept
    next to it)."""
    settings = load_settings(env_file=None, database_path=path)
    described = path.with_suffix(".program")
    fresh = _start_over(path, described)
    db = await Database.open(path)
    await db.migrate()
    services = Services.build(db, settings, FrozenClock(NOW))
    build_s = 0.0
    if fresh:
        started = time.perf_counter()
        made = await build(services, size, now=NOW - timedelta(minutes=1))
        build_s = time.perf_counter() - started
        async with db.transaction() as tx:
            await tx.execute("ANALYZE")
        described.write_bytes(pickle.dumps(made))
    else:
        made = pickle.loads(described.read_bytes())
    return db, services, made, build_s


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large", choices=("small", "program", "large"))
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--keep", type=Path, help="keep the database here (reused if present)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "views.db"
        db, services, made, build_s = await open_program(path, args.size)
        ctx = Ctx(services, Templates(), made)
        views = {}
        for name, view in VIEWS.items():
            views[name] = await measure(ctx, view, args.repeat)
            print(f"{name:22} {json.dumps(views[name])}", file=sys.stderr)
        checkins = await db.fetchval("SELECT count(*) FROM checkins")
        await db.close()
    result = {
        "bench": "views", "size": args.size, "families": len(made.families),
        "creators": len(made.creators), "checkins": checkins, "build_s": round(build_s, 1),
        "p99_ms": max(v["p99_ms"] for v in views.values()),
        "over_limit": sum(v["max_chars"] > LIMIT for v in views.values()),
        "over_limit_messages": sum(v["over"] for v in views.values()),
        "views": views,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())

"""Listing views at size: every listing command's service calls and template, on the `large`
program (200 families, 5,000 creators, 365 days of check-ins; ``bot/program.py``).

Each view is one function below, ``view(ctx, i) -> Shown``: it asks the services what the
command asks for the page it shows first (the i-th time for the i-th family, creator or
leader, in English or Spanish by turn), renders the command's template, and passes the text
through the send path's fitting (``bot.limits``) as the command sends it: a paged view sends
its page as one message (cut with "… and N more" past 2,000 characters, as ``send`` does); a
split view (the tier sweep preview, as ``reply(split=True)``) sends at most five parts, the
last one cut; a channel post (the sweep's promotions, as the delivery sender) sends every
part. Timed together: p50 / p99 per view over ``--repeat`` calls after one untimed warm-up
call. Charts are not drawn (their cost is in bench/leaderboard.py). What the bench itself holds
(the program's description: thousands of objects) is frozen out of the garbage collector
(``gc.freeze``) so that collecting it does not land in a view's time.

Measured per view: ``raw_chars``, the longest text rendered (before any split or cut),
``max_chars``, the longest message that would be SENT, ``over`` the sent messages over
Discord's 2,000 characters, and ``cut`` the messages the send path had to cut (a page that
does not fit its message: rows a user cannot see). Goal: p99 ≤ 20 ms per view, nothing sent
over the limit. Ends with one JSON line: ``p99_ms`` (the slowest view's), ``views`` (each
view's figures), ``over_limit`` (views that would send a message over 2,000 characters),
``over_limit_messages``, ``raw_max_chars`` (the longest render of any view) and ``cut``.

    .venv/bin/python bench/views.py [--size large] [--repeat 100] [--keep PATH]

``--keep`` keeps the built database there and reuses it in the next run (a `large` build
takes a minute or two).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import pickle
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import limits
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.db import Database
from bot.interactions import SPLIT_MAX
from bot.localtime import month
from bot.program import FamilyMade, Person, Program, build
from bot.services import Services
from bot.templating import Templates
from bot.text import split_at_most, split_text
from cogs.tiers import SWEEP_SHOWN

LIMIT = limits.CONTENT  # characters in a message's content
NOW = datetime(2026, 6, 17, 15, 0, tzinfo=UTC)  # a Wednesday, mid-month
CAMPAIGN_BOARD_SIZE = 15  # cogs/campaigns.py BOARD_SIZE
MANAGER_STATES = ("draft", "scheduled", "running", "finished")  # cogs/campaigns.py list


@dataclass
class Shown:
    """What a view rendered (``rendered``: whole texts) and the messages it would send."""

    rendered: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    cut: int = 0  # sent messages the send path had to cut


@dataclass
class Ctx:
    services: Services
    templates: Templates
    made: Program
    creators: list[Person] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.creators = self.made.creators  # a property that builds the list: once

    def locale(self, i: int) -> str:
        return ("en", "es")[i % 2]

    def family(self, i: int) -> FamilyMade:
        return self.made.families[i % len(self.made.families)]

    def creator(self, i: int) -> Person:
        return self.creators[(i * 97) % len(self.creators)]

    def _fit(self, locale: str, text: str, shown: Shown) -> None:
        fitted = limits.fit_content(text, limits.marker(self.templates, locale))
        shown.cut += fitted != text
        shown.sent.append(fitted)

    def page(self, i: int, template: str, **context) -> Shown:
        """A reply of one message (a page): ``bot.interactions.send`` fits it."""
        text = self.templates.render(self.locale(i), template, **context)
        shown = Shown([text])
        self._fit(self.locale(i), text, shown)
        return shown

    def split(self, i: int, template: str, **context) -> Shown:
        """``bot.interactions.reply(split=True)``: its parts, each fitted as ``send`` does."""
        text = self.templates.render(self.locale(i), template, **context)
        parts = split_at_most(text, SPLIT_MAX)
        shown = Shown([text])
        for part in parts:
            self._fit(self.locale(i), part, shown)
        return shown

    def post(self, shown: Shown, locale: str, template: str, **context) -> None:
        """A queued channel post (``bot.delivery``): its content split into as many
        messages as it takes, each fitted by the sender."""
        text = self.templates.render(locale, template, **context)
        shown.rendered.append(text)
        for part in split_text(text):
            self._fit(locale, part, shown)


# -- the views: one function each, as the cog that shows it --------------------------------------

async def leaderboard_creators(ctx: Ctx, i: int) -> Shown:
    """/leaderboard creators (cogs/leaderboards.py creators): a metric and period by turn,
    the program's first page (its chart is not drawn here)."""
    lb, g = ctx.services.leaderboards, ctx.made.guild_id
    metric = ("hours", "diamonds", "followers", "days", "streak")[i % 5]
    period = ("this_week", "last_week", "this_month", "last_month", "all", "today")[i % 6]
    board = await lb.open(g, ctx.creator(i).user_id, metric, period)
    return ctx.page(i, "discord/leaderboards/board.md.j2", board=board, final=False,
                    left=board.include_left)


async def leaderboard_families(ctx: Ctx, i: int) -> Shown:
    """/leaderboard families (families_message): the first page of every active family
    ranked, by average or total."""
    lb, g = ctx.services.leaderboards, ctx.made.guild_id
    period = await lb.resolve_period(g, ("this_week", "this_month", "all")[i % 3])
    by = ("average", "total")[i % 2]
    found = await lb.family_board_page(g, "hours", period, by, 0)
    return ctx.page(i, "discord/leaderboards/families.md.j2", page=found, metric="hours",
                    period=period, by=by)


async def family_roster(ctx: Ctx, i: int) -> Shown:
    """/family roster (roster_message): a family's first page of members."""
    g = ctx.made.guild_id
    family = await ctx.services.families.get(g, ctx.family(i).id)  # the family option
    found = await ctx.services.families.roster_page(g, family.id, 0)
    return ctx.page(i, "discord/families/roster.md.j2", family=family, page=found)


async def family_list(ctx: Ctx, i: int) -> Shown:
    """/family list (list_message): the first page of the active families."""
    found = await ctx.services.families.families_page(ctx.made.guild_id, 0, archived=i % 4 == 3)
    return ctx.page(i, "discord/families/list.md.j2", page=found)


async def family_history(ctx: Ctx, i: int) -> Shown:
    """/family history (history_message): a creator's own memberships, first page."""
    who = ctx.creator(i).user_id
    found = await ctx.services.families.history_page(ctx.made.guild_id, who, 0)
    return ctx.page(i, "discord/families/history.md.j2", user_id=who, page=found)


async def checkins_history(ctx: Ctx, i: int) -> Shown:
    """/checkins history days:90 (the most a member may ask; cogs/checkins.py
    history_message): a creator's own first page."""
    who = ctx.creator(i).user_id
    found = await ctx.services.checkins.history(ctx.made.guild_id, who, who, 90, page=0)
    return ctx.page(i, "discord/checkins/history.md.j2", user_id=found.user_id,
                    page=found.page, streak=found.streak, best=found.best, days=90, own=True)


async def progress_risk(ctx: Ctx, i: int) -> Shown:
    """/progress risk (cogs/progress.py risk_message): a leader's own family, first page."""
    g, pace = ctx.made.guild_id, ctx.services.pace
    family = await pace.family_for(g, ctx.family(i).leader_id, None, False)
    risks = await pace.at_risk_page(g, family.id, 0)
    has_tiers = bool(await ctx.services.tiers.list_tiers(g))
    return ctx.page(i, "discord/leaderboards/risk.md.j2", family=family, page=risks,
                    has_tiers=has_tiers)


def _sweep_month(ctx: Ctx, i: int) -> str:
    """Last month (the command's default) and this month so far, by turn."""
    today = ctx.made.now.date()
    return month(today.replace(day=1) - timedelta(days=1)) if i % 2 == 0 else month(today)


async def tier_sweep_preview(ctx: Ctx, i: int) -> Shown:
    """/tier sweep (preview; cogs/tiers.py sweep): every creator whose tier would change,
    split into at most five messages."""
    period = _sweep_month(ctx, i)
    shown, total = await ctx.services.tiers.plan_page(ctx.made.guild_id, period, SWEEP_SHOWN)
    return ctx.split(i, "discord/families/sweep.md.j2", changes=shown,
                     more=total - len(shown), applied=False, period=period)


async def tier_promotions(ctx: Ctx, i: int) -> Shown:
    """The posts /tier sweep apply:True queues (cogs/tiers.py _promotions): each family's
    promotions in its channel, in the server's language."""
    g = ctx.made.guild_id
    changes = await ctx.services.tiers.plan(g, _sweep_month(ctx, i))
    locale = (await ctx.services.guilds.get(g)).locale
    by_family: dict[int, list] = {}
    for change in changes:
        if change.promotion:
            by_family.setdefault(change.family_id, []).append(change)
    shown = Shown()
    # the cog reads every family's channel at once; the bench's families have none, and each
    # family's post is measured all the same
    await ctx.services.tiers.family_channels(g)
    for promoted in by_family.values():
        ctx.post(shown, locale, "discord/families/promotions.md.j2", changes=promoted)
    return shown


async def campaign_board(ctx: Ctx, i: int) -> Shown:
    """/campaign board (cogs/campaigns.py board) of the running campaign, for a viewer."""
    service = ctx.services.campaigns
    viewer = ctx.creator(i).user_id
    found = await service.current_for(ctx.made.guild_id, viewer)
    board = await service.board(found, viewer, CAMPAIGN_BOARD_SIZE)
    return ctx.page(i, "discord/campaigns/board.md.j2", campaign=found, rows=board.rows,
                    me=board.me, viewer_id=viewer)


async def campaign_list(ctx: Ctx, i: int) -> Shown:
    """/campaign list (list_message), a manager's first page."""
    found = await ctx.services.campaigns.campaigns_page(ctx.made.guild_id, MANAGER_STATES, 0)
    return ctx.page(i, "discord/campaigns/list.md.j2", page=found, manager=True)


SHOWCASE_STATES = (None, "submitted", "shortlisted", "featured")


async def showcase_review(ctx: Ctx, i: int) -> Shown:
    """/showcase review (cogs/showcase.py _review): a manager's first page of the month's
    entries (of every state, or one), the longest entries of :func:`seed_showcase`."""
    g, show = ctx.made.guild_id, ctx.services.showcase
    key = await show.current_month(g)
    state = SHOWCASE_STATES[i % len(SHOWCASE_STATES)]
    found = await show.review_page(g, key, 0, state)
    closed = await show.is_closed(g, key)
    return ctx.page(i, "discord/showcase/review.md.j2", month=key, state=state, page=found,
                    closed=closed)


async def seed_showcase(services: Services, made: Program, per_family: int = 5) -> None:
    """The month's showcase entries: ``per_family`` creators of each family submitted one,
    every field at its longest (a reused database keeps those it has)."""
    from bot.services import showcase

    g = made.guild_id
    if await services.db.fetchval("SELECT count(*) FROM showcase_entries WHERE guild_id = ?",
                                  (g,)):
        return
    key, stamp = month(NOW.date()), NOW.isoformat()
    rows = []
    for f, family in enumerate(made.families):
        for n, user in enumerate(family.creator_ids[:per_family]):
            rows.append((g, user, family.id, key,
                         f"https://www.tiktok.com/@c{user}/live/" + "9" * 150,
                         f"Moment {f}-{n} " * 7,
                         "What worked: thanked every gifter by name. " * 23,
                         showcase.CATEGORIES[n % len(showcase.CATEGORIES)],
                         NOW.date().isoformat(),
                         showcase.STATES[n % 3], "A note " * 20 if n % 3 == 2 else None,
                         stamp if n < 3 else None, family.leader_id if n < 3 else None, stamp))
    async with services.db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO showcase_entries (guild_id, user_id, family_id, month, url, title,"
            " what_worked, category, live_date, state, note, nominated_at, nominated_by,"
            " created_at) VALUES (?, ?, ?, ?, ?, substr(?, 1, 100), substr(?, 1, 1000), ?, ?,"
            " ?, ?, ?, ?, ?)", rows)


View = Callable[[Ctx, int], Awaitable[Shown]]
VIEWS: dict[str, View] = {f.__name__: f for f in (
    leaderboard_creators, leaderboard_families, family_roster, family_list, family_history,
    checkins_history, progress_risk, tier_sweep_preview, tier_promotions, campaign_board,
    campaign_list, showcase_review)}


# -- measuring -----------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(ctx: Ctx, view: View, repeat: int) -> dict:
    await view(ctx, 0)  # warm-up: templates compiled, pages in SQLite's cache
    times, raw, longest, over, cut, messages = [], 0, 0, 0, 0, 0
    for i in range(repeat):
        started = time.perf_counter()
        shown = await view(ctx, i)
        times.append((time.perf_counter() - started) * 1000)
        raw = max([raw, *map(len, shown.rendered)])
        longest = max([longest, *map(len, shown.sent)])
        over += sum(len(m) > LIMIT for m in shown.sent)
        cut += shown.cut
        messages += len(shown.sent)
    return {"p50_ms": round(statistics.median(times), 2), "p99_ms": round(pct(times, 0.99), 2),
            "raw_chars": raw, "max_chars": longest, "messages": messages, "over": over,
            "cut": cut}


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
    await seed_showcase(services, made)
    return db, services, made, build_s


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large", choices=("small", "program", "large"))
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="keep the database here (reused if present)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "views.db"
        db, services, made, build_s = await open_program(path, args.size)
        ctx = Ctx(services, Templates(), made)
        gc.collect()
        gc.freeze()  # the bench's own program description: not the bot's, not collected
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
        "over_limit": sum(v["over"] > 0 for v in views.values()),
        "over_limit_messages": sum(v["over"] for v in views.values()),
        "raw_max_chars": max(v["raw_chars"] for v in views.values()),
        "cut": sum(v["cut"] for v in views.values()),
        "views": views,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())

"""A creator's progress: the last 30 days, week over week, and the pace towards the next tier.

Pace: the month's total so far, divided by the days gone (today included), times the days in
the month, is the month-end value at the current pace. A tier is kept (or reached) when every
threshold it sets is reached by that projection. "At risk" means a creator's projection does
not reach the tier they hold (or, without one, the first tier). Creators who opt in get a
weekly DM when they are at risk (``pace_nudges``, one per ISO week).
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
from dataclasses import dataclass
from datetime import date, timedelta

from bot.clock import Clock, to_db
from bot.db import Database
from bot.delivery.queue import DeliveryQueue, Send
from bot.errors import NotAllowed, UserError
from bot.localtime import iso_week, local_date, month
from bot.paging import Page, page_of
from bot.services import day_figures
from bot.services.families import Family, FamilyService
from bot.services.guilds import GuildService
from bot.services.members import MemberService
from bot.services.progress import MANY_ROWS
from bot.services.tiers import Progress, Tier, TierService

RISK_PAGE = 5  # creators on a page of /progress risk (a line names up to 4 shortfalls)
DAYS = 30
# Monthly metric -> the tier threshold it is measured against.
PACED = {"hours": "min_hours", "diamonds": "min_diamonds", "valid_days": "min_valid_days",
         "followers": "min_followers"}


@dataclass(frozen=True)
class Pace:
    metric: str
    value: float
    threshold: float
    tier: str
    projected: float
    per_day: float  # needed from today to the month's end to reach the threshold
    days_left: int

    @property
    def reached(self) -> bool:
        return self.value >= self.threshold

    @property
    def on_track(self) -> bool:
        return self.projected >= self.threshold

    @property
    def short(self) -> float:
        """How far the month-end pace falls short; while it does, at least what a reader can
        act on (a tenth of an hour, a whole diamond, follower or day): never "0 days short"
        (a projection of 7.75 valid days against 8 is 1 day short)."""
        short = max(0.0, self.threshold - self.projected)
        return max(short, self._step) if short > 0 else 0.0

    @property
    def _step(self) -> float:
        return 0.1 if self.metric == "hours" else 1.0

    @property
    def needed_per_day(self) -> float:
        """:attr:`per_day` rounded up to what a reader can act on (a tenth of an hour, a whole
        diamond or follower): never "0 a day needed" while something is short."""
        return math.ceil(self.per_day / self._step - 1e-9) * self._step

    @property
    def reachable(self) -> bool:
        """Whether the threshold can still be met this month: not when the valid days still
        needed outnumber the days left, or the hours needed a day exceed 24."""
        if self.metric == "valid_days":
            return self.days_needed <= self.days_left
        if self.metric == "hours":
            return self.per_day <= 24
        return True

    @property
    def days_needed(self) -> int:
        """For a count of days (``valid_days``): how many of the :attr:`days_left` still need
        to count — a "per day" of days would read "1 day a day"."""
        return math.ceil(max(0.0, self.threshold - self.value))


@functools.lru_cache(maxsize=128)  # called per creator, tier and metric by the reports
def days_in_month(day: date) -> int:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (following - timedelta(days=1)).day


def pace(metric: str, value: float, tier: Tier, today: date) -> Pace | None:
    threshold = getattr(tier, PACED[metric])
    if threshold is None:
        return None
    total_days = days_in_month(today)
    projected = value / today.day * total_days
    days_left = total_days - today.day + 1
    per_day = max(0.0, threshold - value) / days_left
    return Pace(metric, value, threshold, tier.name, projected, per_day, days_left)


def tier_paces(progress: Progress, tier: Tier, today: date) -> list[Pace]:
    """The pace of each metric ``tier`` sets a threshold for."""
    return [found for metric in PACED
            if (found := pace(metric, getattr(progress, metric), tier, today)) is not None]


@dataclass(frozen=True)
class Change:
    metric: str
    now: float
    before: float

    @property
    def percent(self) -> float | None:
        return None if not self.before else (self.now - self.before) / self.before * 100

    @property
    def ratio(self) -> float | None:
        """The change as a fraction of the week before (0.27: 27 % more); None: nothing then."""
        return None if not self.before else (self.now - self.before) / self.before


@dataclass(frozen=True)
class Report:
    user_id: int
    today: date
    days: list[tuple[date, float, int]]  # (local day, hours, diamonds), oldest first
    changes: list[Change]  # the last 7 days against the 7 before
    month: Progress
    tier: Tier | None
    next_tier: Tier | None
    paces: list[Pace]


@dataclass(frozen=True)
class Risk:
    user_id: int
    tier: Tier
    held: bool  # the tier is theirs now (else it is the first tier, not reached yet)
    shortfalls: list[Pace]


# Some creators' totals for a month; the creators are one JSON array, read with json_each.
MONTH_TOTALS = (
    "SELECT user_id, hours, diamonds, valid_days, followers FROM progress_totals"
    " WHERE guild_id = ? AND period_kind = 'month' AND period = ?"
    " AND user_id IN (SELECT value FROM json_each(?))"
)
# A family's current members' totals per week, for some weeks (one JSON array).
FAMILY_WEEKS = (
    "SELECT pt.period, sum(pt.hours) AS hours, sum(pt.diamonds) AS diamonds"
    " FROM family_members fm JOIN progress_totals pt ON pt.guild_id = fm.guild_id"
    " AND pt.user_id = fm.user_id AND pt.period_kind = 'week'"
    " AND pt.period IN (SELECT value FROM json_each(?))"
    " WHERE fm.guild_id = ? AND fm.family_id = ? AND fm.left_at IS NULL GROUP BY pt.period"
)


async def month_totals(db: Database, guild_id: int, user_ids: list[int], key: str
                       ) -> dict[int, Progress]:
    """Each of ``user_ids``' totals for the month ``key`` (YYYY-MM)."""
    rows = await db.fetchall(
        MONTH_TOTALS, (guild_id, key, json.dumps(list(user_ids)))
    ) if user_ids else []

    def progress() -> dict[int, Progress]:
        return {r["user_id"]: Progress(r["hours"], r["diamonds"], r["valid_days"],
                                       r["followers"]) for r in rows}

    # a whole program's creators: built off the event loop
    return await asyncio.to_thread(progress) if len(rows) > MANY_ROWS else progress()


# Active creators (not their family's leaders) and the tier they hold: of one family
# (guild, family) ...
FAMILY_CREATORS = (
    "SELECT fm.user_id, mt.tier_id FROM family_members fm LEFT JOIN member_tiers mt"
    " ON mt.guild_id = fm.guild_id AND mt.user_id = fm.user_id JOIN families f"
    " ON f.id = fm.family_id WHERE fm.guild_id = ? AND fm.family_id = ?"
    " AND fm.left_at IS NULL AND fm.user_id IS NOT f.leader_user_id"
    " AND fm.user_id IS NOT f.co_leader_user_id ORDER BY fm.user_id"
)
# ... or of the guild, opted in to the weekly nudge and not nudged in the week (guild, week).
NUDGE_CANDIDATES = (
    "SELECT fm.user_id, mt.tier_id FROM family_members fm LEFT JOIN member_tiers mt"
    " ON mt.guild_id = fm.guild_id AND mt.user_id = fm.user_id JOIN families f"
    " ON f.id = fm.family_id WHERE fm.guild_id = ?"
    " AND fm.user_id IN (SELECT p.user_id FROM pace_nudge_prefs p WHERE p.guild_id ="
    " fm.guild_id AND p.enabled = 1) AND fm.user_id NOT IN (SELECT n.user_id FROM"
    " pace_nudges n WHERE n.guild_id = fm.guild_id AND n.week = ?)"
    " AND fm.left_at IS NULL AND fm.user_id IS NOT f.leader_user_id"
    " AND fm.user_id IS NOT f.co_leader_user_id ORDER BY fm.user_id"
)


@dataclass(frozen=True)
class WeekTrend:
    """A family's current members' totals in one ISO week."""

    week: str  # 2026-W10
    hours: float
    diamonds: int


class PaceService:
    def __init__(self, db: Database, clock: Clock, guilds: GuildService, members: MemberService,
                 tiers: TierService, families: FamilyService, deliveries: DeliveryQueue) -> None:
        self.db = db
        self.clock = clock
        self.guilds = guilds
        self.members = members
        self.tiers = tiers
        self.families = families
        self.deliveries = deliveries

    async def report_for(self, guild_id: int, viewer_id: int, member_id: int | None,
                         manager: bool) -> Report:
        """/progress: your own, a member of the family you lead, or anyone's for managers."""
        member_id = member_id or viewer_id
        if member_id != viewer_id and not manager:
            led = await self.families.family_led_by(guild_id, viewer_id)
            membership = await self.families.membership_of(guild_id, member_id)
            if led is None or membership is None or membership.family_id != led.id:
                raise NotAllowed("leaderboards.not_your_member")
        return await self.report(guild_id, member_id)

    async def family_for(self, guild_id: int, viewer_id: int, family: Family | None,
                         manager: bool) -> Family:
        """The family a leader (their own) or a manager (any, by name) asks about."""
        led = await self.families.family_led_by(guild_id, viewer_id)
        if family is not None:
            if manager or (led is not None and led.id == family.id):
                return family
            raise NotAllowed("leaderboards.not_your_family")
        if led is None:
            raise UserError("leaderboards.no_family")
        return led

    async def report(self, guild_id: int, user_id: int) -> Report:
        """A creator's last 30 days and month pace, in their own zone."""
        today = local_date(self.clock.now(), await self.members.timezone_of(guild_id, user_id))
        first = today - timedelta(days=DAYS - 1)
        # each day's figures by the guild's sources (bot/services/day_figures.py)
        table, _ = await day_figures.checkins_or_figures(self.db, guild_id, first, today)
        rows = await self.db.fetchall(
            f"SELECT local_date, hours, diamonds, followers FROM {table} WHERE guild_id = ?"
            " AND user_id = ? AND local_date BETWEEN ? AND ?",
            (guild_id, user_id, first.isoformat(), today.isoformat()),
        )
        by_day = {r["local_date"]: r for r in rows}
        days = []
        for i in range(DAYS):
            day = first + timedelta(days=i)
            row = by_day.get(day.isoformat())
            days.append((day, row["hours"] if row else 0.0, row["diamonds"] if row else 0))
        changes = []
        for metric in ("hours", "diamonds", "followers"):
            def total(lo: int, hi: int, metric: str = metric) -> float:
                return sum(r[metric] for d, r in by_day.items()
                           if lo <= (today - date.fromisoformat(d)).days < hi)
            changes.append(Change(metric, round(total(0, 7), 2), round(total(7, 14), 2)))
        progress = (await month_totals(self.db, guild_id, [user_id], month(today))).get(
            user_id, Progress())
        tiers = await self.tiers.list_tiers(guild_id)
        tier = await self.tiers.tier_of(guild_id, user_id)
        above = [t for t in tiers if tier is None or t.rank > tier.rank]
        next_tier = above[0] if above else None
        paces = tier_paces(progress, next_tier, today) if next_tier is not None else []
        return Report(user_id, today, days, changes, progress, tier, next_tier, paces)

    async def at_risk(self, guild_id: int, family_id: int) -> list[Risk]:
        """Active creators of a family (not its leaders) whose pace does not reach the tier
        they hold (or the first tier), in the guild's zone."""
        return await self._risks(guild_id, FAMILY_CREATORS, (guild_id, family_id))

    async def at_risk_page(self, guild_id: int, family_id: int, page: int,
                           size: int = RISK_PAGE) -> Page[Risk]:
        """One page of :meth:`at_risk` (a family's creators: computed in memory)."""
        return page_of(await self.at_risk(guild_id, family_id), page, size)

    async def _risks(self, guild_id: int, creators: str, params: tuple) -> list[Risk]:
        """The creators that ``creators`` (FAMILY_CREATORS or NUDGE_CANDIDATES) reads, at risk."""
        tiers = await self.tiers.list_tiers(guild_id)
        if not tiers:
            return []
        today = await self._today(guild_id)
        rows = await self.db.fetchall(creators, params)
        progress = await month_totals(self.db, guild_id, [r["user_id"] for r in rows],
                                      month(today))
        out = []
        for row in rows:
            held = next((t for t in tiers if t.id == row["tier_id"]), None)
            target = held or tiers[0]
            paces = tier_paces(progress.get(row["user_id"], Progress()), target, today)
            short = [x for x in paces if not x.on_track]
            if short:
                out.append(Risk(row["user_id"], target, held is not None, short))
        return out

    async def _today(self, guild_id: int) -> date:
        return local_date(self.clock.now(), (await self.guilds.get(guild_id)).timezone)

    # -- the opt-in weekly nudge -----------------------------------------------------------

    async def set_nudge(self, guild_id: int, user_id: int, enabled: bool) -> bool:
        async with self.db.transaction() as tx:
            await self.members.ensure(tx, guild_id, user_id)
            await tx.execute(
                "INSERT INTO pace_nudge_prefs (guild_id, user_id, enabled, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET"
                " enabled = excluded.enabled, updated_at = excluded.updated_at",
                (guild_id, user_id, int(enabled), to_db(self.clock.now())),
            )
        return enabled

    async def nudge_guilds(self) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT DISTINCT guild_id FROM pace_nudge_prefs WHERE enabled = 1")
        return [r["guild_id"] for r in rows]

    async def nudges_due(self, guild_id: int) -> tuple[str, list[Risk]]:
        """This ISO week (guild's zone) and the opted-in creators at risk not nudged in it."""
        week = iso_week(await self._today(guild_id))
        risks = await self._risks(guild_id, NUDGE_CANDIDATES, (guild_id, week))
        return week, risks

    async def claim_nudge(self, guild_id: int, user_id: int, week: str,
                          dm: Send | None = None) -> int | None:
        """Claim this week's nudge; None if it was claimed before (never sent twice). With
        ``dm``, the message is queued for the Discord sender in the same transaction (the
        nudge is then handed over: ``sent``; the queue row ``nudge:<user>:<week>`` tells
        whether Discord took it)."""
        async with self.db.transaction() as tx:
            nudge_id = await tx.fetchval(
                "INSERT INTO pace_nudges (guild_id, user_id, week, state, claimed_at)"
                " VALUES (?, ?, ?, 'claimed', ?) ON CONFLICT DO NOTHING RETURNING id",
                (guild_id, user_id, week, to_db(self.clock.now())),
            )
            if nudge_id is not None and dm is not None:
                await self.deliveries.add(tx, guild_id, [dm])
                await tx.execute(
                    "UPDATE pace_nudges SET state = 'sent', finished_at = ? WHERE id = ?",
                    (to_db(self.clock.now()), nudge_id))
        if nudge_id is not None and dm is not None:
            self.deliveries.notify()
        return nudge_id

    async def finish_nudge(self, nudge_id: int, state: str, detail: str | None = None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE pace_nudges SET state = ?, detail = ?, finished_at = ? WHERE id = ?",
                (state, detail, to_db(self.clock.now()), nudge_id),
            )

    async def family_trend(self, guild_id: int, family_id: int, weeks: int = 8
                           ) -> list[WeekTrend]:
        """The family's current members' weekly totals, oldest first."""
        today = await self._today(guild_id)
        keys = [iso_week(today - timedelta(days=7 * i)) for i in range(weeks - 1, -1, -1)]
        rows = await self.db.fetchall(FAMILY_WEEKS, (json.dumps(keys), guild_id, family_id))
        found = {r["period"]: (round(r["hours"], 2), r["diamonds"]) for r in rows}
        return [WeekTrend(k, *found.get(k, (0.0, 0))) for k in keys]

"""Leaderboards: creators ranked by a metric over a period, within the program, a family or a
tier; families against each other; scheduled weekly and monthly posts.

Boards are views over stored history: weeks and months read ``progress_totals`` (kept by the
check-ins), all time reads ``progress_alltime`` (kept by triggers), a day or a custom range
reads the check-ins themselves — or, where the guild has imported daily figures in the
period, each day's figures by its sources (:mod:`bot.services.day_figures`). Nothing is
ever reset. Ties share a rank (1, 2, 2, 4) and are listed by user id. Only creators with an
active family membership are shown unless ``include_left`` (people who left their family or
the server keep their history).

Periods are named in the guild's zone ("this week" is the guild's current ISO week); each
creator's totals are counted in their own zone, as the check-ins store them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from bot.clock import Clock, to_db
from bot.db import Database, Transaction
from bot.delivery.queue import DeliveryQueue, Send
from bot.errors import NotAllowed, UserError
from bot.localtime import iso_week, local_date, month
from bot.paging import Page, page_of
from bot.services import day_figures, platform_figures, population
from bot.services.families import Family, FamilyService
from bot.services.guilds import GuildService
from bot.services.tiers import Tier, TierService

METRICS = ("hours", "diamonds", "followers", "days", "streak")
PERIODS = ("today", "this_week", "last_week", "this_month", "last_month", "custom", "all")
SCOPES = ("program", "family", "tier")
PAGE_SIZE = 10
FAMILY_PAGE = 10  # families on a page of /leaderboard families
RANGE_MAX_DAYS = 366

# -- statements ----------------------------------------------------------------------------
# Every board statement is put together in one way only, from three whole statements:
#
#     WITH t AS (<source>), board AS (<scope>) <question>
#
# A source gives each creator's value for the period, ``t`` (guild_id, user_id, value); a
# scope keeps the creators of the program, a tier or a family, ``board`` (user_id, value); a
# question asks the board for a page, a count above a value, or one creator's value. SQLite
# flattens ``t`` and ``board`` into the question, so a program board is still read in order
# straight from the metric's index (0005's progress_rank_*, alltime_top_*, checkins_day_*).
# Family against family is the one other statement: WITH t AS (<source>) FAMILY_TOTALS.
#
# The only part filled in is a metric's column in a source: ``{total}`` (its column in the
# stored totals) and ``{checkin}`` (its value in one check-in), from the whitelists below.

# The column of a metric in progress_totals and progress_alltime ...
_TOTAL = {"hours": "hours", "diamonds": "diamonds", "followers": "followers",
          "days": "checkins"}
# ... and its value in one check-in (a check-in is one day).
_CHECKIN = {"hours": "hours", "diamonds": "diamonds", "followers": "followers", "days": "1"}

# Sources: one per kind of period.
WEEK_OR_MONTH = """
    SELECT guild_id, user_id, {total} AS value FROM progress_totals
    WHERE guild_id = :guild_id AND period_kind = :period_kind AND period = :period"""
ALL_TIME = """
    SELECT guild_id, user_id, {total} AS value FROM progress_alltime
    WHERE guild_id = :guild_id"""
ONE_DAY = """
    SELECT guild_id, user_id, {checkin} AS value FROM checkins
    WHERE guild_id = :guild_id AND local_date = :day"""
# A custom range: whole weeks from their stored totals (each creator's weeks hold exactly
# their check-ins of those local days), the loose days before and after them from the
# check-ins. Weeks and days are each ONE parameter, a JSON array read with json_each.
WEEKS_AND_DAYS = """
    SELECT guild_id, user_id, sum(v) AS value FROM (
        SELECT guild_id, user_id, {total} AS v FROM progress_totals
        WHERE guild_id = :guild_id AND period_kind = 'week'
          AND period IN (SELECT value FROM json_each(:weeks))
        UNION ALL
        SELECT guild_id, user_id, {checkin} AS v FROM checkins
        WHERE guild_id = :guild_id AND local_date IN (SELECT value FROM json_each(:days))
    ) GROUP BY guild_id, user_id"""
# The same two where the guild has imported daily figures in the period: hours, diamonds and
# followers per day follow its sources (bot/services/day_figures.py), not the check-ins as
# typed ({days} is day_figures' per-day statement, {metric} the metric's column in it).
ONE_DAY_FOLLOWING = """
    SELECT :guild_id AS guild_id, user_id, sum({metric}) AS value FROM ({days})
    GROUP BY user_id"""
WEEKS_AND_DAYS_FOLLOWING = """
    SELECT guild_id, user_id, sum(v) AS value FROM (
        SELECT guild_id, user_id, {total} AS v FROM progress_totals
        WHERE guild_id = :guild_id AND period_kind = 'week'
          AND period IN (SELECT value FROM json_each(:weeks))
        UNION ALL
        SELECT :guild_id AS guild_id, user_id, {metric} AS v FROM ({days})
    ) GROUP BY guild_id, user_id"""
# Current streaks (whatever the period) that are not broken yet.
STREAKS = """
    SELECT guild_id, user_id, current AS value FROM checkin_streaks
    WHERE guild_id = :guild_id AND last_date >= :cutoff"""

# Scopes: creators with a value, and an active family membership unless :include_left.
IN_PROGRAM = """
    SELECT t.user_id, t.value FROM t
    WHERE t.value > 0
      AND (:include_left OR EXISTS (
          SELECT 1 FROM family_members fm WHERE fm.guild_id = t.guild_id
            AND fm.user_id = t.user_id AND fm.left_at IS NULL))"""
IN_TIER = """
    SELECT t.user_id, t.value FROM t
    WHERE t.value > 0
      AND (:include_left OR EXISTS (
          SELECT 1 FROM family_members fm WHERE fm.guild_id = t.guild_id
            AND fm.user_id = t.user_id AND fm.left_at IS NULL))
      AND EXISTS (
          SELECT 1 FROM member_tiers mt WHERE mt.guild_id = t.guild_id
            AND mt.user_id = t.user_id AND mt.tier_id = :scope_id)"""
# A family has few members: start from them and look each one up by key.
IN_FAMILY = """
    SELECT t.user_id, t.value FROM family_members fm
    CROSS JOIN t ON t.guild_id = fm.guild_id AND t.user_id = fm.user_id
    WHERE fm.guild_id = :guild_id AND fm.family_id = :scope_id
      AND (:include_left OR fm.left_at IS NULL) AND t.value > 0"""
_SCOPES = {"program": IN_PROGRAM, "family": IN_FAMILY, "tier": IN_TIER}

# Questions to a board.
PAGE = """
    SELECT user_id, value FROM board ORDER BY value DESC, user_id
    LIMIT :limit OFFSET :offset"""
# The same page when every value is the same (days on one day: 1 each). SQLite does not see
# that a constant orders nothing, and would sort the whole day instead of reading its index.
PAGE_OF_EQUALS = """
    SELECT user_id, value FROM board ORDER BY user_id
    LIMIT :limit OFFSET :offset"""
COUNT_ABOVE = "SELECT count(*) FROM board WHERE value > :value"
COUNT_ALL = "SELECT count(*) FROM board"  # "page 2 of 7": a count from the same indexes
COUNT_FOR = 30.0  # seconds a board's count is reused (LeaderboardService._count)
COUNTS_KEPT = 1024
VALUE_OF = "SELECT value FROM board WHERE user_id = :user_id"

# Family against family: active families, their active members and the members' values in
# ``t`` (a source, as above). Members are counted per family, and the values summed per family
# from ``t`` read in its index's order with each creator's family looked up by key (0013's
# family_members_active_family): no lookup per member into the period's rows.
FAMILY_TOTALS = """
    SELECT f.id, f.name, m.members, coalesce(s.total, 0) AS total
    FROM families f
    JOIN (SELECT family_id, count(*) AS members FROM family_members
          WHERE guild_id = :guild_id AND left_at IS NULL GROUP BY family_id) m
      ON m.family_id = f.id
    LEFT JOIN (SELECT fm.family_id, sum(t.value) AS total FROM t
               CROSS JOIN family_members fm INDEXED BY family_members_active_family
                    ON fm.guild_id = t.guild_id AND fm.user_id = t.user_id
                    AND fm.left_at IS NULL
               GROUP BY fm.family_id) s
      ON s.family_id = f.id
    WHERE f.guild_id = :guild_id AND f.archived_at IS NULL"""

# The leaders (one JSON array) in their active families, with their value in ``t`` (a source).
LEADERS_IN_FAMILIES = """
    SELECT fm.user_id, fm.family_id, t.value FROM json_each(:leaders) j
    JOIN family_members fm INDEXED BY family_members_active_family
         ON fm.guild_id = :guild_id AND fm.user_id = j.value AND fm.left_at IS NULL
    LEFT JOIN t ON t.guild_id = fm.guild_id AND t.user_id = fm.user_id"""


def _fill(source: str, metric: str) -> str:
    """A source with the metric's columns filled in (only from the whitelists above)."""
    if metric not in _TOTAL:
        raise ValueError(f"not a metric with a column: {metric!r}")
    return source.format(total=_TOTAL[metric], checkin=_CHECKIN[metric])


@dataclass(frozen=True)
class Period:
    kind: str  # day, week, month, range, all, now (streaks)
    key: str   # 2026-03-02, 2026-W10, 2026-03, 2026-03-01..2026-03-15, all, 2026-03-02

    @property
    def first(self) -> date | None:
        if self.kind in ("day", "now"):
            return date.fromisoformat(self.key)
        if self.kind == "week":
            year, week = self.key.split("-W")
            return date.fromisocalendar(int(year), int(week), 1)
        if self.kind == "month":
            return date.fromisoformat(self.key + "-01")
        if self.kind == "range":
            return date.fromisoformat(self.key.split("..")[0])
        return None

    @property
    def last(self) -> date | None:
        first = self.first
        if first is not None and self.kind == "week":
            return first + timedelta(days=6)
        if first is not None and self.kind == "month":
            return _month_end(first)
        if self.kind == "range":
            return date.fromisoformat(self.key.split("..")[1])
        return first


def _month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def split_range(first: date, last: date) -> tuple[list[str], list[tuple[date, date]]]:
    """The whole ISO weeks inside [first, last] and the loose days before and after them."""
    weeks: list[str] = []
    loose: list[tuple[date, date]] = []
    start = first
    if start.weekday():
        end = min(last, start + timedelta(days=6 - start.weekday()))
        loose.append((start, end))
        start = end + timedelta(days=1)
    while start + timedelta(days=6) <= last:
        weeks.append(iso_week(start))
        start += timedelta(days=7)
    if start <= last:
        loose.append((start, last))
    return weeks, loose


def _range_source(metric: str, period: Period, following: bool = False) -> Source:
    """A custom range: its whole weeks and its loose days (see WEEKS_AND_DAYS; with
    ``following``, the loose days by the guild's sources)."""
    first, last = period.first, period.last
    if first is None or last is None:
        raise ValueError(f"not a range: {period}")
    weeks, loose = split_range(first, last)
    days = [(start + timedelta(days=i)).isoformat()
            for start, end in loose for i in range((end - start).days + 1)]
    params = {"weeks": json.dumps(weeks), "days": json.dumps(days)}
    if following:
        return Source(WEEKS_AND_DAYS_FOLLOWING.format(
            total=_TOTAL[metric], metric=day_figures.value_of(metric),
            days=day_figures.days_sql("{d} IN (SELECT value FROM json_each(:days))")), params)
    return Source(_fill(WEEKS_AND_DAYS, metric), params)


def _days_of(period: Period) -> list[str]:
    """Every day of a day or range period (ISO dates)."""
    first, last = period.first, period.last
    if first is None or last is None:
        return []
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


@dataclass(frozen=True)
class Row:
    rank: int
    user_id: int
    value: float


@dataclass(frozen=True)
class Board:
    metric: str
    period: Period
    scope: str
    scope_id: int
    page: int
    rows: list[Row]
    has_next: bool
    me: Row | None
    viewer_id: int | None
    scope_name: str = ""
    include_left: bool = False
    total: int = 0  # creators on the board, all pages
    size: int = PAGE_SIZE
    # creators on this page whose figure is the platform's (imported), not their check-ins
    imported: frozenset[int] = frozenset()

    @property
    def has_prev(self) -> bool:
        return self.page > 0

    @property
    def number(self) -> int:  # the page, as bot.paging.Page names it (for "page 2 of 7")
        return self.page

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def paged(self) -> bool:
        return self.pages > 1


@dataclass(frozen=True)
class FamilyRow:
    rank: int
    family_id: int
    name: str
    members: int
    total: float
    average: float


@dataclass(frozen=True)
class Source:
    """Where a metric's per-creator values come from for a period: a whole statement of
    (guild_id, user_id, value), and its parameters other than ``guild_id``."""

    sql: str
    params: dict[str, Any]
    page: str = PAGE  # PAGE_OF_EQUALS when every creator's value is the same


@dataclass(frozen=True)
class BoardQuery:
    """A board ready to be asked a question: a source, a scope and their parameters."""

    source: Source
    scope: str
    params: dict[str, Any]

    def statement(self, question: str) -> str:
        """The one way a board statement is put together (see the top of this module)."""
        return f"WITH t AS ({self.source.sql}), board AS ({self.scope}) {question}"


class LeaderboardService:
    def __init__(self, db: Database, clock: Clock, guilds: GuildService,
                 families: FamilyService, tiers: TierService, deliveries: DeliveryQueue,
                 cutoff_hour: int = 12) -> None:
        self.db = db
        self.cutoff_hour = cutoff_hour  # the check-ins' edit cutoff: when a period is final
        self.deliveries = deliveries
        self.clock = clock
        self.guilds = guilds
        self.families = families
        self.tiers = tiers
        self._counts: dict[tuple[Any, ...], tuple[int, float]] = {}  # see _count
        # The count cache's clock: seconds that only go forward (the wall clock may jump);
        # a test moves it instead of waiting COUNT_FOR seconds.
        self.monotonic: Callable[[], float] = time.monotonic

    async def open(
        self, guild_id: int, viewer_id: int, metric: str, period: str, scope: str = "program",
        *, start: date | None = None, end: date | None = None, family: Family | None = None,
        tier: Tier | None = None, include_left: bool = False, manager: bool = False,
    ) -> Board:
        """The first page of the board a /leaderboard command asks for (``start`` and ``end``
        bound a custom period; ``family`` and ``tier`` name the family and tier scopes)."""
        if include_left and not manager:
            raise NotAllowed("leaderboards.former_managers_only")
        resolved = await self.resolve_period(guild_id, period, start, end)
        scope_id = await self.scope_id(guild_id, viewer_id, scope, family, tier)
        return await self.page(guild_id, viewer_id, metric, resolved, scope, scope_id, 0,
                               include_left=include_left)

    async def page(self, guild_id: int, viewer_id: int | None, metric: str, period: Period,
                   scope: str, scope_id: int, page: int, *, include_left: bool = False,
                   size: int = PAGE_SIZE) -> Board:
        """A page of a board with its scope's name (a button's custom id carries these)."""
        board = await self.board(guild_id, metric, period, scope, scope_id, page,
                                 viewer_id=viewer_id, include_left=include_left, size=size)
        name = ""
        if scope == "family":
            name = (await self.families.get(guild_id, scope_id)).name
        elif scope == "tier":
            name = next((t.name for t in await self.tiers.list_tiers(guild_id) if t.id == scope_id),
                        "?")
        return replace(board, scope_name=name, include_left=include_left)

    async def scope_id(self, guild_id: int, viewer_id: int, scope: str, family: Family | None,
                       tier: Tier | None) -> int:
        if scope == "family":
            if family is not None:
                return family.id
            membership = await self.families.membership_of(guild_id, viewer_id)
            if membership is None:
                raise UserError("leaderboards.no_family")
            return membership.family_id
        if scope == "tier":
            if tier is None:
                raise UserError("leaderboards.tier_needed")
            return tier.id
        if scope != "program":
            raise UserError("leaderboards.unknown_scope", value=scope)
        return 0

    # -- periods ---------------------------------------------------------------------------

    async def today(self, guild_id: int) -> date:
        return local_date(self.clock.now(), (await self.guilds.get(guild_id)).timezone)

    async def resolve_period(
        self, guild_id: int, name: str, start: date | None = None, end: date | None = None,
    ) -> Period:
        """The period a board option names, in the guild's zone."""
        today = await self.today(guild_id)
        if name == "today":
            return Period("day", today.isoformat())
        if name in ("this_week", "last_week"):
            return Period("week", iso_week(today - timedelta(days=7 * (name == "last_week"))))
        if name == "this_month":
            return Period("month", month(today))
        if name == "last_month":
            return Period("month", month(today.replace(day=1) - timedelta(days=1)))
        if name == "all":
            return Period("all", "all")
        if name != "custom":
            raise UserError("leaderboards.unknown_period", value=name)
        if start is None or end is None:
            raise UserError("leaderboards.range_needed")
        first, last = start, end
        if last < first:
            raise UserError("leaderboards.range_backwards", start=first, end=last)
        if (last - first).days >= RANGE_MAX_DAYS:
            raise UserError("leaderboards.range_too_long", days=RANGE_MAX_DAYS)
        if first > today:
            raise UserError("leaderboards.range_future", start=first)
        return Period("range", f"{first}..{last}")

    async def _streak_cutoff(self, guild_id: int, today: date) -> str:
        """A stored streak still counts if its last check-in is recent enough: at most the
        guild's rest days (default 1) missed since (an approximation of the streak rule)."""
        rest = await self.db.fetchval(
            "SELECT rest_days FROM checkin_settings WHERE guild_id = ?", (guild_id,)
        )
        return (today - timedelta(days=(1 if rest is None else rest) + 1)).isoformat()

    async def _source(self, guild_id: int, metric: str, period: Period) -> Source:
        if metric not in METRICS:
            raise UserError("leaderboards.unknown_metric", value=metric)
        if metric == "streak":
            cutoff = await self._streak_cutoff(guild_id, await self.today(guild_id))
            return Source(STREAKS, {"cutoff": cutoff})
        if period.kind in ("week", "month"):
            return Source(_fill(WEEK_OR_MONTH, metric),
                          {"period_kind": period.kind, "period": period.key})
        if period.kind == "all":
            return Source(_fill(ALL_TIME, metric), {})
        following = (metric in day_figures.FOLLOWING and period.first is not None
                     and period.last is not None and await day_figures.has_imports(
                         self.db, guild_id, period.first, period.last))
        if period.kind == "day" and following:
            return Source(ONE_DAY_FOLLOWING.format(
                metric=metric, days=day_figures.days_sql("{d} = :day")),
                {"day": period.key, "g": guild_id})
        if period.kind == "day":
            return Source(_fill(ONE_DAY, metric), {"day": period.key},
                          PAGE_OF_EQUALS if metric == "days" else PAGE)
        if period.kind == "range":
            source = _range_source(metric, period, following)
            return replace(source, params={**source.params, "g": guild_id})
        raise UserError("leaderboards.unknown_period", value=period.kind)

    # -- creators --------------------------------------------------------------------------

    async def _query(self, guild_id: int, metric: str, period: Period, scope: str,
                     scope_id: int, include_left: bool) -> BoardQuery:
        """The board of ``metric`` over ``period`` for the creators of a scope."""
        src = await self._source(guild_id, metric, period)
        if scope not in _SCOPES:
            raise UserError("leaderboards.unknown_scope", value=scope)
        return BoardQuery(src, _SCOPES[scope], {
            **src.params, "guild_id": guild_id, "scope_id": scope_id,
            "include_left": include_left})

    async def board(
        self, guild_id: int, metric: str, period: Period, scope: str = "program",
        scope_id: int = 0, page: int = 0, *, viewer_id: int | None = None,
        include_left: bool = False, size: int = PAGE_SIZE,
    ) -> Board:
        """One page of a board, and the viewer's own place in it."""
        query = await self._query(guild_id, metric, period, scope, scope_id, include_left)
        page = max(0, page)
        start = max(0, page * size - 1)  # one row before the page: does a tie cross over?
        rows = await self.db.fetchall(query.statement(query.source.page), {
            **query.params, "limit": size + 1 + (page > 0), "offset": start})
        found = [(r["user_id"], r["value"]) for r in rows]
        before = found.pop(0) if page > 0 and found else None
        has_next = len(found) > size
        found = found[:size]
        ranked: list[Row] = []
        for i, (user_id, value) in enumerate(found):
            if ranked and ranked[-1].value == value:
                rank = ranked[-1].rank
            elif not ranked and before is not None and before[1] == value:
                rank = await self._rank_of(query, value)
            else:
                rank = page * size + i + 1
            ranked.append(Row(rank, user_id, value))
        me = None
        if viewer_id is not None:
            me = next((r for r in ranked if r.user_id == viewer_id), None)
            if me is None:
                me = await self._me(query, viewer_id)
        if not has_next:  # the last page: the count is in hand
            total = page * size + len(ranked)
        else:
            total = await self._count(query)
        imported = frozenset[int]()
        shown = [r.user_id for r in ranked] + ([me.user_id] if me else [])
        if period.kind in ("week", "month", "all"):  # the periods read the progress model
            imported = await platform_figures.imported_users(
                self.db, guild_id, metric, period.first, period.last, shown)
        elif period.kind in ("day", "range"):  # days: the platform's daily figures
            imported = await day_figures.imported_on_days(
                self.db, guild_id, metric, _days_of(period), shown)
        return Board(metric, period, scope, scope_id, page, ranked, has_next, me, viewer_id,
                     total=int(total), size=size, imported=imported)

    async def _count(self, query: BoardQuery) -> int:
        """How many are on the board, for "page 2 of 7": counted from the same indexes (a few
        ms on a program of thousands), then remembered for :data:`COUNT_FOR` seconds, as many
        people open the same board at once; a new creator shows in the count within that."""
        statement = query.statement(COUNT_ALL)
        key = (statement, tuple(sorted(query.params.items())))
        now = self.monotonic()
        cached = self._counts.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        total = int(await self.db.fetchval(statement, query.params))
        if len(self._counts) >= COUNTS_KEPT:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            if len(self._counts) >= COUNTS_KEPT:
                self._counts.clear()
        self._counts[key] = (total, now + COUNT_FOR)
        return total

    async def _rank_of(self, query: BoardQuery, value: float) -> int:
        above = await self.db.fetchval(query.statement(COUNT_ABOVE),
                                       {**query.params, "value": value})
        return int(above) + 1

    async def _me(self, query: BoardQuery, user_id: int) -> Row | None:
        value = await self.db.fetchval(query.statement(VALUE_OF),
                                       {**query.params, "user_id": user_id})
        if value is None:
            return None
        return Row(await self._rank_of(query, value), user_id, value)

    # -- families --------------------------------------------------------------------------

    async def family_board(self, guild_id: int, metric: str, period: Period, by: str = "average"
                       ) -> list[FamilyRow]:
        """Active families by their members' total and per-member average (so a small
        family can win), ranked by ``by``; ties share a rank, then by name."""
        if metric == "streak" or by not in ("average", "total"):
            raise UserError("leaderboards.families_metric")
        src = await self._source(guild_id, metric, period)
        rows = await self.db.fetchall(f"WITH t AS ({src.sql}) {FAMILY_TOTALS}",
                                      {**src.params, "guild_id": guild_id})
        members = {r["id"]: r["members"] for r in rows}
        totals = {r["id"]: r["total"] for r in rows}
        await self._count_leaders(guild_id, period, src, members, totals)
        stats = [(r["id"], r["name"], members[r["id"]], totals[r["id"]],
                  totals[r["id"]] / members[r["id"]] if members[r["id"]] else 0.0)
                 for r in rows]
        index = 4 if by == "average" else 3
        stats.sort(key=lambda s: (-s[index], s[1].lower(), s[0]))
        out: list[FamilyRow] = []
        for i, s in enumerate(stats):
            same = out and round(stats[i - 1][index], 6) == round(s[index], 6)
            out.append(FamilyRow(out[-1].rank if same else i + 1, *s))
        return out

    async def _count_leaders(self, guild_id: int, period: Period, src: Source,
                             members: dict[int, int], totals: dict[int, float]) -> None:
        """Members and totals as :mod:`bot.services.population` counts them: a leader or
        co-leader who does not count in the period is no member of the average, and under
        the ``never`` rule their values leave the total."""
        last = period.last or await self.today(guild_id)
        counted = await population.population(self.db, guild_id, period.first or date.min,
                                              last)
        if not counted.leaders:
            return
        ids = json.dumps(sorted(counted.leaders))
        rows = await self.db.fetchall(f"WITH t AS ({src.sql}) {LEADERS_IN_FAMILIES}",
                                      {**src.params, "guild_id": guild_id, "leaders": ids})
        for r in rows:
            family = r["family_id"]
            if family not in members:
                continue
            if not counted.counts(r["user_id"]):
                members[family] -= 1
            if not counted.counts_values(r["user_id"]) and r["value"]:
                totals[family] -= r["value"]

    async def family_board_page(self, guild_id: int, metric: str, period: Period, by: str,
                                page: int, size: int = FAMILY_PAGE) -> Page[FamilyRow]:
        """One page of :meth:`family_board` (ranked over every family first)."""
        return page_of(await self.family_board(guild_id, metric, period, by), page, size)

    # -- scheduled posts -------------------------------------------------------------------

    async def guilds_with_channel(self) -> list[tuple[int, int]]:
        rows = await self.db.fetchall(
            "SELECT guild_id, channel_id FROM guild_channels WHERE kind = 'leaderboard'"
        )
        return [(r["guild_id"], r["channel_id"]) for r in rows]

    async def due_posts(self, guild_id: int) -> list[tuple[str, Period, bool]]:
        """The finished week and month whose final board is not posted yet: (kind, period,
        late). The week is due from Monday, the month from the 1st (guild's zone), and
        either only once final: when the last check-in window of its last day has closed
        for every creator (:func:`bot.services.population.final_at`)."""
        today = await self.today(guild_id)
        due = [("week", Period("week", iso_week(today - timedelta(days=7))), today.weekday()),
               ("month", Period("month", month(today.replace(day=1) - timedelta(days=1))),
                today.day - 1)]
        now = self.clock.now()
        out = []
        for kind, period, days_late in due:
            last = period.last
            if last is not None and now < await population.final_at(
                    self.db, guild_id, last, self.cutoff_hour, self.guilds.default_timezone):
                continue  # creators may still enter the last day: not final yet
            taken = await self.db.fetchval(
                "SELECT 1 FROM board_posts WHERE guild_id = ? AND kind = ? AND period_key = ?",
                (guild_id, kind, period.key),
            )
            if not taken:
                out.append((kind, period, days_late > 0))
        return out

    async def claim_post(self, guild_id: int, kind: str, key: str, late: bool,
                         post: Send | None = None) -> int | None:
        """Claim a scheduled post; None if it was claimed before (never posted twice). With
        ``post``, the message is queued for the Discord sender in the same transaction and
        the post is handed over (``sent``; the queue row tells whether Discord took it)."""
        async with self.db.transaction() as tx:
            post_id = await tx.fetchval(
                "INSERT INTO board_posts (guild_id, kind, period_key, state, claimed_at, late)"
                " VALUES (?, ?, ?, 'claimed', ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                (guild_id, kind, key, to_db(self.clock.now()), int(late)),
            )
            if post_id is not None and post is not None:
                await self.deliveries.add(tx, guild_id, [post])
                await _finish(tx, post_id, "sent", post.channel_id, None, None,
                              to_db(self.clock.now()))
        if post_id is not None and post is not None:
            self.deliveries.notify()
        return post_id

    async def repost(self, guild_id: int, post: Send) -> None:
        """Queue a manager's re-post of a final board (``/leaderboard post``): not a
        scheduled post, so no ``board_posts`` record; its own dedupe key."""
        async with self.db.transaction() as tx:
            await self.deliveries.add(tx, guild_id, [post])
        self.deliveries.notify()

    async def finish_post(self, post_id: int, state: str, channel_id: int | None = None,
                          message_id: int | None = None, detail: str | None = None) -> None:
        async with self.db.transaction() as tx:
            await _finish(tx, post_id, state, channel_id, message_id, detail,
                          to_db(self.clock.now()))


async def _finish(tx: Transaction, post_id: int, state: str, channel_id: int | None,
                  message_id: int | None, detail: str | None, now: str) -> None:
    await tx.execute(
        "UPDATE board_posts SET state = ?, channel_id = ?, message_id = ?, detail = ?,"
        " finished_at = ? WHERE id = ?",
        (state, channel_id, message_id, detail, now, post_id),
    )


"""Leaderboards: creators ranked by a metric over a period, within the program, a family or a
tier; families against each other; scheduled weekly and monthly posts.

Boards are views over stored history: weeks and months read ``progress_totals`` (kept by the
check-ins), all time reads ``progress_alltime`` (kept by triggers), a day or a custom range
reads the check-ins themselves. Nothing is ever reset. Ties share a rank (1, 2, 2, 4) and are
listed by user id. Only creators with an active family membership are shown unless
``include_left`` (people who left their family or the server keep their history).

Periods are named in the guild's zone ("this week" is the guild's current ISO week); each
creator's totals are counted in their own zone, as the check-ins store them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from bot.clock import Clock, to_db
from bot.db import Database, Transaction
from bot.delivery.queue import DeliveryQueue, Send
from bot.errors import NotAllowed, UserError
from bot.localtime import iso_week, local_date, month
from bot.services.families import FamilyService
from bot.services.guilds import GuildService
from bot.services.tiers import TierService

METRICS = ("hours", "diamonds", "followers", "days", "streak")
PERIODS = ("today", "this_week", "last_week", "this_month", "last_month", "custom", "all")
SCOPES = ("program", "family", "tier")
PAGE_SIZE = 10
RANGE_MAX_DAYS = 366
_COLUMN = {"hours": "hours", "diamonds": "diamonds", "followers": "followers",
           "days": "checkins"}


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
        if self.kind == "week":
            return first + timedelta(days=6)  # type: ignore[operator]
        if self.kind == "month":
            return _month_end(first)  # type: ignore[arg-type]
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


def _range_source(guild_id: int, column: str, period: Period) -> Source:
    """A custom range: whole weeks from their stored totals (each creator's weeks hold exactly
    their check-ins of those local days), the loose days from the check-ins."""
    weeks, loose = split_range(period.first, period.last)  # type: ignore[arg-type]
    parts, params = [], []
    if weeks:
        marks = ",".join("?" * len(weeks))
        parts.append(f"SELECT guild_id, user_id, {column} AS v FROM progress_totals"
                     f" WHERE guild_id = ? AND period_kind = 'week' AND period IN ({marks})")
        params += [guild_id, *weeks]
    daily = "1" if column == "checkins" else column
    for start, end in loose:
        parts.append(f"SELECT guild_id, user_id, {daily} AS v FROM checkins"
                     " WHERE guild_id = ? AND local_date BETWEEN ? AND ?")
        params += [guild_id, start.isoformat(), end.isoformat()]
    table = (f"(SELECT guild_id, user_id, sum(v) AS value FROM ({' UNION ALL '.join(parts)})"
             " GROUP BY guild_id, user_id) t")
    return Source(table, tuple(params), "", (), "t.value")


def parse_day(text: str | None, name: str) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise UserError("leaderboards.bad_date", field=name, value=text or "") from None


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

    @property
    def has_prev(self) -> bool:
        return self.page > 0


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
    """Where a metric's per-creator value comes from for a period: ``t`` with its value."""

    table: str
    params: tuple
    where: str
    where_params: tuple
    value: str


class LeaderboardService:
    def __init__(self, db: Database, clock: Clock, guilds: GuildService,
                 families: FamilyService, tiers: TierService, deliveries: DeliveryQueue) -> None:
        self.db = db
        self.deliveries = deliveries
        self.clock = clock
        self.guilds = guilds
        self.families = families
        self.tiers = tiers

    async def open(
        self, guild_id: int, viewer_id: int, metric: str, period: str, scope: str = "program",
        *, start: str | None = None, end: str | None = None, family: str | None = None,
        tier: str | None = None, include_left: bool = False, manager: bool = False,
    ) -> Board:
        """The first page of the board a /leaderboard command asks for."""
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
            name = next((t.name for t in await self.tiers.list(guild_id) if t.id == scope_id),
                        "?")
        return replace(board, scope_name=name, include_left=include_left)

    async def scope_id(self, guild_id: int, viewer_id: int, scope: str, family: str | None,
                       tier: str | None) -> int:
        if scope == "family":
            if family:
                return (await self.families.resolve(guild_id, family)).id
            membership = await self.families.membership_of(guild_id, viewer_id)
            if membership is None:
                raise UserError("leaderboards.no_family")
            return membership.family_id
        if scope == "tier":
            if not tier:
                raise UserError("leaderboards.tier_needed")
            return (await self.tiers.get(guild_id, tier)).id
        if scope != "program":
            raise UserError("leaderboards.unknown_scope", value=scope)
        return 0

    # -- periods ---------------------------------------------------------------------------

    async def today(self, guild_id: int) -> date:
        return local_date(self.clock.now(), (await self.guilds.get(guild_id)).timezone)

    async def resolve_period(
        self, guild_id: int, name: str, start: str | None = None, end: str | None = None,
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
        if not start or not end:
            raise UserError("leaderboards.range_needed")
        first, last = parse_day(start, "from"), parse_day(end, "to")
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
            return Source("checkin_streaks t", (), "AND t.last_date >= ?", (cutoff,),
                          "t.current")
        column = _COLUMN[metric]
        if period.kind in ("week", "month"):
            return Source("progress_totals t", (), "AND t.period_kind = ? AND t.period = ?",
                          (period.kind, period.key), f"t.{column}")
        if period.kind == "all":
            return Source("progress_alltime t", (), "", (), f"t.{column}")
        if period.kind == "day":
            value = "1" if metric == "days" else f"t.{column}"
            return Source("checkins t", (), "AND t.local_date = ?", (period.key,), value)
        if period.kind == "range":
            return _range_source(guild_id, column, period)
        raise UserError("leaderboards.unknown_period", value=period.kind)

    # -- creators --------------------------------------------------------------------------

    def _scoped(self, guild_id: int, src: Source, scope: str, scope_id: int,
                include_left: bool) -> tuple[str, tuple]:
        """FROM ... WHERE ... for the creators of a scope (params in order)."""
        left = "" if include_left else " AND fm.left_at IS NULL"
        if scope == "family":
            # Few members: start from the family and look each one up by key.
            sql = (f"FROM family_members fm CROSS JOIN {src.table} ON t.guild_id = fm.guild_id"
                   f" AND t.user_id = fm.user_id {src.where} WHERE fm.guild_id = ?"
                   f" AND fm.family_id = ?{left} AND {src.value} > 0")
            return sql, (*src.params, *src.where_params, guild_id, scope_id)
        if include_left:
            member = ""
        else:
            member = (" AND EXISTS (SELECT 1 FROM family_members fm WHERE fm.guild_id = t.guild_id"
                      " AND fm.user_id = t.user_id AND fm.left_at IS NULL)")
        if scope == "tier":
            member += (" AND EXISTS (SELECT 1 FROM member_tiers mt WHERE mt.guild_id = t.guild_id"
                       " AND mt.user_id = t.user_id AND mt.tier_id = ?)")
        elif scope != "program":
            raise UserError("leaderboards.unknown_scope", value=scope)
        sql = f"FROM {src.table} WHERE t.guild_id = ? {src.where} AND {src.value} > 0{member}"
        params = (*src.params, guild_id, *src.where_params)
        return sql, (*params, scope_id) if scope == "tier" else params

    async def board(
        self, guild_id: int, metric: str, period: Period, scope: str = "program",
        scope_id: int = 0, page: int = 0, *, viewer_id: int | None = None,
        include_left: bool = False, size: int = PAGE_SIZE,
    ) -> Board:
        """One page of a board, and the viewer's own place in it."""
        src = await self._source(guild_id, metric, period)
        body, params = self._scoped(guild_id, src, scope, scope_id, include_left)
        page = max(0, page)
        start = max(0, page * size - 1)  # one row before the page: does a tie cross over?
        rows = await self.db.fetchall(
            f"SELECT t.user_id AS user_id, {src.value} AS value {body}"
            f" ORDER BY {src.value} DESC, t.user_id LIMIT ? OFFSET ?",
            (*params, size + 1 + (page > 0), start),
        )
        found = [(r["user_id"], r["value"]) for r in rows]
        before = found.pop(0) if page > 0 and found else None
        has_next = len(found) > size
        found = found[:size]
        ranked: list[Row] = []
        for i, (user_id, value) in enumerate(found):
            if ranked and ranked[-1].value == value:
                rank = ranked[-1].rank
            elif not ranked and before is not None and before[1] == value:
                rank = await self._rank_of(src, body, params, value)
            else:
                rank = page * size + i + 1
            ranked.append(Row(rank, user_id, value))
        me = None
        if viewer_id is not None:
            me = next((r for r in ranked if r.user_id == viewer_id), None)
            if me is None:
                me = await self._me(src, body, params, viewer_id)
        return Board(metric, period, scope, scope_id, page, ranked, has_next, me, viewer_id)

    async def _rank_of(self, src: Source, body: str, params: tuple, value: float) -> int:
        above = await self.db.fetchval(
            f"SELECT count(*) {body} AND {src.value} > ?", (*params, value)
        )
        return int(above) + 1

    async def _me(self, src: Source, body: str, params: tuple, user_id: int) -> Row | None:
        value = await self.db.fetchval(
            f"SELECT {src.value} {body} AND t.user_id = ?", (*params, user_id)
        )
        if value is None:
            return None
        return Row(await self._rank_of(src, body, params, value), user_id, value)

    # -- families --------------------------------------------------------------------------

    async def family_board(self, guild_id: int, metric: str, period: Period, by: str = "average"
                       ) -> list[FamilyRow]:
        """Active families by their members' total and per-member average (so a small
        family can win), ranked by ``by``; ties share a rank, then by name."""
        if metric == "streak" or by not in ("average", "total"):
            raise UserError("leaderboards.families_metric")
        src = await self._source(guild_id, metric, period)
        rows = await self.db.fetchall(
            f"SELECT f.id, f.name, count(fm.user_id) AS members,"
            f" coalesce(sum({src.value}), 0) AS total FROM families f"
            f" JOIN family_members fm ON fm.family_id = f.id AND fm.left_at IS NULL"
            f" LEFT JOIN {src.table} ON t.guild_id = fm.guild_id AND t.user_id = fm.user_id"
            f" {src.where} WHERE f.guild_id = ? AND f.archived_at IS NULL GROUP BY f.id",
            (*src.params, *src.where_params, guild_id),
        )
        stats = [(r["id"], r["name"], r["members"], r["total"], r["total"] / r["members"])
                 for r in rows]
        index = 4 if by == "average" else 3
        stats.sort(key=lambda s: (-s[index], s[1].lower(), s[0]))
        out: list[FamilyRow] = []
        for i, s in enumerate(stats):
            same = out and round(stats[i - 1][index], 6) == round(s[index], 6)
            out.append(FamilyRow(out[-1].rank if same else i + 1, *s))
        return out

    # -- scheduled posts -------------------------------------------------------------------

    async def guilds_with_channel(self) -> list[tuple[int, int]]:
        rows = await self.db.fetchall(
            "SELECT guild_id, channel_id FROM guild_channels WHERE kind = 'leaderboard'"
        )
        return [(r["guild_id"], r["channel_id"]) for r in rows]

    async def due_posts(self, guild_id: int) -> list[tuple[str, Period, bool]]:
        """The finished week and month whose final board is not posted yet: (kind, period,
        late). The week is due from Monday, the month from the 1st (guild's zone)."""
        today = await self.today(guild_id)
        due = [("week", Period("week", iso_week(today - timedelta(days=7))), today.weekday()),
               ("month", Period("month", month(today.replace(day=1) - timedelta(days=1))),
                today.day - 1)]
        out = []
        for kind, period, days_late in due:
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


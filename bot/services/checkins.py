"""Daily check-ins: one per creator per local day, streaks, leader feedback and its KPI.

Days are the creator's own calendar days (their zone, else the guild's). Today's check-in can
be replaced any time; yesterday's until ``cutoff_hour`` (local) of today.

Streak rule: a streak counts check-in days. Missed days do not break it as long as no ISO week
(Monday-Sunday, local) has more than ``rest_days`` missed days (a guild setting, default 1);
today never counts as missed until it is over. Milestones 7, 30 and 100 are celebrated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.clock import Clock, from_db, to_db
from bot.db import Database, SyncTransaction, Transaction
from bot.delivery.queue import DeliveryQueue, Send
from bot.errors import NotAllowed, NotFound, UserError
from bot.localtime import local_date, local_hour, parse_hhmm, week_start
from bot.paging import Page, clamp
from bot.services import bounds
from bot.services.audit import AuditLog
from bot.services.families import FamilyService
from bot.services.guilds import GuildService
from bot.services.kpis import KpiService
from bot.services.members import MemberService
from bot.services.progress import ProgressService, Totals

MILESTONES = (7, 30, 100)
POST_MODES = ("off", "summary", "full")
MAXIMA = {"diamonds": bounds.DIAMONDS_A_DAY, "followers": bounds.FOLLOWERS_A_DAY,
          "peak_viewers": bounds.PEAK_VIEWERS_MAX}
NOTES_MAX = 500
FEEDBACK_MAX = 1000
HISTORY_MAX_DAYS = bounds.HISTORY_DAYS_MAX
HISTORY_PAGE = 7  # days on a page of /checkins history: a week
STREAK_LOOKBACK = 1000


# A creator's check-in context: (default zone, guild, user) ...
CONTEXT = (
    "SELECT fm.family_id, f.channel_id, coalesce(m.timezone, g.timezone, ?) AS tz,"
    " coalesce(s.post_mode, 'summary') AS post_mode, coalesce(s.rest_days, 1) AS rest_days,"
    " (SELECT count(*) FROM checkin_feedback cf WHERE cf.guild_id = fm.guild_id"
    " AND cf.user_id = fm.user_id AND cf.delivered_at IS NULL) AS pending"
    " FROM family_members fm JOIN families f ON f.id = fm.family_id"
    " LEFT JOIN members m ON m.guild_id = fm.guild_id AND m.user_id = fm.user_id"
    " LEFT JOIN guilds g ON g.guild_id = fm.guild_id"
    " LEFT JOIN checkin_settings s ON s.guild_id = fm.guild_id"
    " WHERE fm.guild_id = ? AND fm.user_id = ? AND fm.left_at IS NULL"
)
# ... and with their newest check-in dates and what picks their language (how many, default
# zone, default language, guild, user).
CONTEXT_WITH_DATES = (
    "SELECT fm.family_id, (SELECT group_concat(local_date) FROM (SELECT local_date"
    " FROM checkins c WHERE c.guild_id = fm.guild_id AND c.user_id = fm.user_id"
    " ORDER BY local_date DESC LIMIT ?)) AS dates,"
    " f.channel_id, coalesce(m.timezone, g.timezone, ?) AS tz,"
    " m.user_id IS NOT NULL AS has_member, m.locale AS chosen_locale, m.discord_locale,"
    " coalesce(g.locale, ?) AS guild_locale,"
    " coalesce(s.post_mode, 'summary') AS post_mode, coalesce(s.rest_days, 1) AS rest_days,"
    " (SELECT count(*) FROM checkin_feedback cf WHERE cf.guild_id = fm.guild_id"
    " AND cf.user_id = fm.user_id AND cf.delivered_at IS NULL) AS pending"
    " FROM family_members fm JOIN families f ON f.id = fm.family_id"
    " LEFT JOIN members m ON m.guild_id = fm.guild_id AND m.user_id = fm.user_id"
    " LEFT JOIN guilds g ON g.guild_id = fm.guild_id"
    " LEFT JOIN checkin_settings s ON s.guild_id = fm.guild_id"
    " WHERE fm.guild_id = ? AND fm.user_id = ? AND fm.left_at IS NULL"
)


@dataclass(frozen=True)
class CheckinSettings:
    post_mode: str = "summary"
    rollcall_time: str | None = None
    summary_time: str | None = None
    rest_days: int = 1


@dataclass(frozen=True)
class Checkin:
    id: int
    guild_id: int
    user_id: int
    family_id: int | None
    local_date: date
    timezone: str
    hours: float
    diamonds: int
    followers: int
    peak_viewers: int
    mood: int | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
    channel_id: int | None
    message_id: int | None


@dataclass(frozen=True)
class Feedback:
    id: int
    checkin_id: int
    user_id: int
    leader_id: int
    text: str
    local_date: date


@dataclass(frozen=True)
class Streak:
    current: int
    best: int


@dataclass(frozen=True)
class CheckinHistory:
    """A creator's last days: their check-ins newest first and their streak."""

    user_id: int
    checkins: list[Checkin]  # of this page
    streak: int
    best: int
    page: Page[Checkin]


@dataclass(frozen=True)
class Languages:
    """What picks a member's language (``MemberService.locale_of``, the reply's
    ``locale_for``), read with their check-in so its answer and post need no reads of their
    own: whether the member has a row, their chosen language, the Discord locale they were
    last seen with, the guild's language."""

    member: bool
    chosen: str | None
    discord: str | None
    guild: str


@dataclass
class Submitted:
    checkin: Checkin
    edited: bool
    streak: int
    best: int
    week: Totals
    family_id: int
    channel_id: int | None
    post_mode: str
    languages: Languages
    milestone: int | None = None
    feedback: list[Feedback] = field(default_factory=list)


_SAVE_STREAK = (
    "INSERT INTO checkin_streaks (guild_id, user_id, current, best, last_date)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET"
    " current = excluded.current, best = max(best, excluded.current), last_date ="
    " excluded.last_date RETURNING best"
)


# Feedback ``f`` whose DM is not queued, on its way or delivered (none, or Discord refused).
_NOT_BY_DM = ("NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.guild_id = f.guild_id"
              " AND d.dedupe_key = 'feedback:' || f.id AND d.state != 'failed')")


def _pending_feedback(tx: SyncTransaction, guild_id: int, user_id: int) -> list[Feedback]:
    """Feedback the creator has not seen yet, oldest first, read with the check-in: the cog
    shows it with the answer and marks each once Discord took the message that shows it
    (:meth:`CheckinService.feedback_delivered`)."""
    rows = tx.fetchall(
        "SELECT f.id, f.checkin_id, f.leader_id, f.text, c.local_date FROM checkin_feedback f"
        " JOIN checkins c ON c.id = f.checkin_id WHERE f.guild_id = ? AND f.user_id = ?"
        " AND f.delivered_at IS NULL AND " + _NOT_BY_DM + " ORDER BY f.id",
        (guild_id, user_id),
    )
    return [Feedback(r["id"], r["checkin_id"], user_id, r["leader_id"], r["text"],
                     date.fromisoformat(r["local_date"])) for r in rows]


def _checkin(row: Any) -> Checkin:
    data = dict(row)
    data["local_date"] = date.fromisoformat(data["local_date"])
    data["created_at"] = from_db(data["created_at"])
    data["updated_at"] = from_db(data["updated_at"])
    return Checkin(**data)


def parse_hours(text: str) -> float:
    """'3', '2.5' or '2,5' (comma decimals for Spanish speakers) hours, 0 to 24."""
    cleaned = (text or "").strip().replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise UserError("checkins.bad_hours", value=text) from None
    if not 0 <= value <= bounds.HOURS_A_DAY or value != value:
        raise UserError("checkins.bad_hours", value=text)
    return round(value, 2)


def parse_count(text: str, name: str) -> int:
    """A whole, non-negative number up to a sane maximum; '1.200' or '1,200' are accepted."""
    cleaned = (text or "").strip().replace(" ", "")
    if cleaned == "":
        return 0
    digits = cleaned.replace(",", "").replace(".", "")
    grouped = all(len(part) == 3 for part in cleaned.replace(",", ".").split(".")[1:])
    if not digits.isdigit() or not grouped:
        raise UserError("checkins.bad_count", field=name, value=text, limit=MAXIMA[name])
    value = int(digits)
    if value > MAXIMA[name]:
        raise UserError("checkins.bad_count", field=name, value=text, limit=MAXIMA[name])
    return value


def _run_back(days: set[date], today: date, stop: date, rest_days: int) -> tuple[int, bool]:
    """Walk back from ``today`` to ``stop``: the check-in days of the run, and whether a week
    missed more than ``rest_days`` (today not yet counted as missed) broke it on the way."""
    missed: dict[date, int] = {}
    count, day = 0, today
    while day >= stop:
        if day in days:
            count += 1
        elif day != today:
            week = week_start(day)
            missed[week] = missed.get(week, 0) + 1
            if missed[week] > rest_days:
                return count, True
        day -= timedelta(days=1)
    return count, False


def streak_length(dates: set[date], today: date, rest_days: int) -> int:
    """Check-in days in the run ending today (see the module's streak rule)."""
    if not dates:
        return 0
    return _run_back(dates, today, min(dates), rest_days)[0]


def streak_now(current: int, as_of: date, recent: set[date], today: date, rest_days: int
               ) -> int:
    """A stored streak (``checkin_streaks``: ``current`` as of ``as_of``, the local day it was
    last written, with no check-in after it) as the streak rule gives it ``today``: the days
    missed since may have broken it. ``recent``: the check-in days from ``as_of``'s week on
    (the days before that week count as they did for ``current``), or from two weeks before
    ``today``'s (a run missed for two whole weeks is broken whatever the rest days)."""
    if today <= as_of:
        return current
    count, broken = _run_back(recent, today, week_start(as_of), rest_days)
    return count if broken else current


def _dates_of(text: str | None) -> list[date]:
    return [date.fromisoformat(d) for d in text.split(",")] if text else []


class CheckinService:
    def __init__(
        self, db: Database, clock: Clock, audit: AuditLog, guilds: GuildService,
        members: MemberService, families: FamilyService, progress: ProgressService,
        deliveries: DeliveryQueue,
        cutoff_hour: int = 12,
    ) -> None:
        self.db = db
        self.deliveries = deliveries
        self.clock = clock
        self.audit = audit
        self.guilds = guilds
        self.members = members
        self.families = families
        self.progress = progress
        self.cutoff_hour = cutoff_hour

    # -- guild settings --------------------------------------------------------------------

    async def settings(self, guild_id: int) -> CheckinSettings:
        row = await self.db.fetchone(
            "SELECT post_mode, rollcall_time, summary_time, rest_days FROM checkin_settings"
            " WHERE guild_id = ?", (guild_id,),
        )
        return CheckinSettings() if row is None else CheckinSettings(**dict(row))

    async def update_settings(
        self, guild_id: int, actor_id: int, *, post_mode: str | None = None,
        rollcall_time: str | None = None, summary_time: str | None = None,
        rest_days: int | None = None,
    ) -> CheckinSettings:
        """Change what is given; a time of 'off' turns that reminder off."""
        current = await self.settings(guild_id)
        if post_mode is not None and post_mode not in POST_MODES:
            raise UserError("checkins.bad_post_mode", value=post_mode, choices=POST_MODES)
        if rest_days is not None and not 0 <= rest_days <= bounds.REST_DAYS_MAX:
            raise UserError("checkins.bad_rest_days", value=rest_days)
        new = CheckinSettings(
            post_mode or current.post_mode,
            _time_setting(rollcall_time, current.rollcall_time),
            _time_setting(summary_time, current.summary_time),
            current.rest_days if rest_days is None else rest_days,
        )
        async with self.db.transaction() as tx:
            await self.guilds.ensure(tx, guild_id)
            await tx.execute(
                "INSERT INTO checkin_settings (guild_id, post_mode, rollcall_time, summary_time,"
                " rest_days, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id) DO"
                " UPDATE SET post_mode = excluded.post_mode, rollcall_time ="
                " excluded.rollcall_time, summary_time = excluded.summary_time, rest_days ="
                " excluded.rest_days, updated_at = excluded.updated_at",
                (guild_id, new.post_mode, new.rollcall_time, new.summary_time, new.rest_days,
                 to_db(self.clock.now())),
            )
            await self.audit.record(tx, guild_id, actor_id, "checkins.settings", None,
                                    **new.__dict__)
        return new

    # -- checking in -----------------------------------------------------------------------

    def _context_query(self, guild_id: int, user_id: int, with_dates: bool = False
                       ) -> tuple[str, tuple]:
        """One read: the creator's active family, its channel, their zone, guild options
        (and, ``with_dates``, their newest check-in dates, comma-separated, newest first)."""
        zone = self.guilds.default_timezone
        if with_dates:
            return CONTEXT_WITH_DATES, (STREAK_LOOKBACK + 2, zone, self.guilds.default_locale,
                                        guild_id, user_id)
        return CONTEXT, (zone, guild_id, user_id)

    async def _context(self, guild_id: int, user_id: int) -> Any:
        row = await self.db.fetchone(*self._context_query(guild_id, user_id))
        if row is None:
            raise UserError("checkins.no_family")
        return row

    def _day(self, tz: str, yesterday: bool, now: datetime | None = None) -> date:
        now = now or self.clock.now()
        day = local_date(now, tz)
        if yesterday:
            if local_hour(now, tz) >= self.cutoff_hour:
                raise UserError("checkins.too_late", hour=self.cutoff_hour)
            day -= timedelta(days=1)
        return day

    async def target_day(self, guild_id: int, user_id: int, yesterday: bool = False
                         ) -> tuple[int, date, str]:
        """The creator's family id and the local day a check-in is for; refuses what may not
        be checked in (no family, yesterday after the cutoff)."""
        context = await self._context(guild_id, user_id)
        return context["family_id"], self._day(context["tz"], yesterday), context["tz"]

    async def submit(
        self, guild_id: int, user_id: int, values: dict[str, str], *, mood: int | None = None,
        yesterday: bool = False,
    ) -> Submitted:
        """Validate the modal's text and store (or replace) the day's check-in."""
        stats = {
            "hours": parse_hours(values.get("hours", "")),
            **{name: parse_count(values.get(name, ""), name) for name in MAXIMA},
        }
        if mood is not None and not 1 <= mood <= 5:
            raise UserError("checkins.bad_mood", value=mood)
        notes = " ".join((values.get("notes") or "").split()) or None
        if notes and len(notes) > NOTES_MAX:
            raise UserError("checkins.notes_too_long", limit=NOTES_MAX)
        clock_now = self.clock.now()
        now = to_db(clock_now)
        query = self._context_query(guild_id, user_id, with_dates=True)

        def store(tx: SyncTransaction) -> tuple:
            """The whole unit in one trip to the database thread (the hot path): read the
            creator's context, then write the check-in, the running totals and the streak."""
            context = tx.fetchone(*query)
            if context is None:
                raise UserError("checkins.no_family")
            tz = context["tz"]
            day = self._day(tz, yesterday, clock_now)
            today = local_date(clock_now, tz)
            # The newest dates, today's zone decides which are "until today" (a zone change
            # can leave a day or two after it).
            recent = sorted((d for d in _dates_of(context["dates"]) if d <= today),
                            reverse=True)
            before = set(recent[:STREAK_LOOKBACK])
            streak = streak_length(before | {day}, today, context["rest_days"])
            # A check-in for yesterday can join two runs: celebrate the highest milestone
            # this check-in crossed, not only one it landed on.
            was = streak_length(before, today, context["rest_days"])
            crossed = [m for m in MILESTONES if was < m <= streak]
            old = tx.fetchone(
                "SELECT * FROM checkins WHERE guild_id = ? AND user_id = ? AND local_date = ?",
                (guild_id, user_id, day.isoformat()),
            )
            row = tx.fetchone(
                "INSERT INTO checkins (guild_id, user_id, family_id, local_date, timezone,"
                " hours, diamonds, followers, peak_viewers, mood, notes, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id,"
                " local_date) DO UPDATE SET hours = excluded.hours, diamonds ="
                " excluded.diamonds, followers = excluded.followers, peak_viewers ="
                " excluded.peak_viewers, mood = excluded.mood, notes = excluded.notes,"
                " updated_at = excluded.updated_at RETURNING *",
                (guild_id, user_id, context["family_id"], day.isoformat(), tz, stats["hours"],
                 stats["diamonds"], stats["followers"], stats["peak_viewers"], mood, notes,
                 now, now),
            )
            week = self.progress.apply_now(tx, guild_id, user_id, day, old and dict(old),
                                           stats)
            best = tx.fetchval(_SAVE_STREAK, (guild_id, user_id, streak, streak,
                                              today.isoformat()))
            feedback = (_pending_feedback(tx, guild_id, user_id)
                        if context["pending"] else [])
            return context, streak, crossed, old, row, week, best, feedback

        context, streak, crossed, old, row, week, best, feedback = await self.db.run(store)
        milestone = crossed[-1] if old is None and crossed else None
        languages = Languages(bool(context["has_member"]), context["chosen_locale"],
                              context["discord_locale"], context["guild_locale"])
        return Submitted(_checkin(row), old is not None, streak, best, week,
                         context["family_id"], context["channel_id"], context["post_mode"],
                         languages, milestone, feedback)

    async def _dates(self, tx: Transaction | None, guild_id: int, user_id: int, until: date
                     ) -> set[date]:
        rows = await (tx or self.db).fetchall(
            "SELECT local_date FROM checkins WHERE guild_id = ? AND user_id = ? AND"
            " local_date <= ? ORDER BY local_date DESC LIMIT ?",
            (guild_id, user_id, until.isoformat(), STREAK_LOOKBACK),
        )
        return {date.fromisoformat(r["local_date"]) for r in rows}

    async def streak_of(self, guild_id: int, user_id: int) -> Streak:
        """The current and best streak as of now."""
        settings = await self.settings(guild_id)
        today = local_date(self.clock.now(), await self.members.timezone_of(guild_id, user_id))
        current = streak_length(await self._dates(None, guild_id, user_id, today), today,
                                settings.rest_days)
        best = await self.db.fetchval(
            "SELECT best FROM checkin_streaks WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return Streak(current, max(current, best or 0))

    async def queue_post(self, guild_id: int, sends: list[Send]) -> None:
        """A check-in's post in the family channel (source ``checkin-post:<id>``) and its
        milestone, or the edit of that post (``checkin-edit:<id>``), queued for the Discord
        sender once the check-in is stored (the check-in's own write stays one trip to the
        database: the post is rendered from what it returned)."""
        await self.db.run(lambda tx: self.deliveries.add_now(tx, guild_id, sends))
        self.deliveries.notify()

    async def post_of(self, checkin: Checkin) -> tuple[int, int] | None:
        """Where the check-in's post is on Discord, (channel id, message id): its latest post
        Discord took, or the one recorded on the check-in before posts were queued."""
        row = await self.db.fetchone(
            "SELECT channel_id, json_extract(message_ids, '$[0]') AS message_id FROM deliveries"
            " WHERE guild_id = ? AND source = ? AND state = 'sent' ORDER BY id DESC LIMIT 1",
            (checkin.guild_id, f"checkin-post:{checkin.id}"))
        if row is not None and row["message_id"] is not None:
            return row["channel_id"], row["message_id"]
        if checkin.channel_id and checkin.message_id:
            return checkin.channel_id, checkin.message_id
        return None

    async def day_of(self, guild_id: int, user_id: int, day: date) -> Checkin | None:
        row = await self.db.fetchone(
            "SELECT * FROM checkins WHERE guild_id = ? AND user_id = ? AND local_date = ?",
            (guild_id, user_id, day.isoformat()),
        )
        return None if row is None else _checkin(row)

    async def get(self, guild_id: int, checkin_id: int) -> Checkin:
        row = await self.db.fetchone(
            "SELECT * FROM checkins WHERE guild_id = ? AND id = ?", (guild_id, checkin_id)
        )
        if row is None:
            raise NotFound("checkins.unknown_checkin")
        return _checkin(row)

    async def history(self, guild_id: int, viewer_id: int, member_id: int | None, days: int,
                      *, as_manager: bool = False, page: int = 0,
                      size: int = HISTORY_PAGE) -> CheckinHistory:
        """A creator's last ``days`` local days, newest first, one page of ``size`` days.
        Others may look only if they lead the member's family (or are managers)."""
        member_id = member_id or viewer_id
        if not 1 <= days <= HISTORY_MAX_DAYS:
            raise UserError("checkins.bad_days", limit=HISTORY_MAX_DAYS)
        if member_id != viewer_id and not as_manager:
            membership = await self.families.membership_of(guild_id, member_id)
            family = membership and await self.families.get(guild_id, membership.family_id)
            if not family or not family.leads(viewer_id):
                raise NotAllowed("checkins.not_your_member")
        tz = await self.members.timezone_of(guild_id, member_id)
        since = local_date(self.clock.now(), tz) - timedelta(days=days - 1)
        where = (guild_id, member_id, since.isoformat())
        total = await self.db.fetchval(
            "SELECT count(*) FROM checkins WHERE guild_id = ? AND user_id = ?"
            " AND local_date >= ?", where)
        number = clamp(page, size, total)
        rows = await self.db.fetchall(
            "SELECT * FROM checkins WHERE guild_id = ? AND user_id = ? AND local_date >= ?"
            " ORDER BY local_date DESC LIMIT ? OFFSET ?", (*where, size, number * size),
        )
        streak = await self.streak_of(guild_id, member_id)
        found = [_checkin(r) for r in rows]
        return CheckinHistory(member_id, found, streak.current, streak.best,
                              Page(found, number, size, total))

    # -- feedback --------------------------------------------------------------------------

    async def check_feedback(self, guild_id: int, leader_id: int, checkin_id: int) -> Checkin:
        """The check-in, if ``leader_id`` leads the family it was posted in."""
        checkin = await self.get(guild_id, checkin_id)
        family = checkin.family_id and await self.families.get(guild_id, checkin.family_id)
        if not family or not family.leads(leader_id):
            raise NotAllowed("checkins.leaders_of_family_only")
        return checkin

    async def give_feedback(self, guild_id: int, leader_id: int, checkin_id: int, text: str,
                            dm: Callable[[Feedback], Send] | None = None) -> Feedback:
        """Store the feedback; with ``dm`` (the creator's message, rendered from the
        feedback), queue it for the Discord sender in the same transaction (dedupe key
        ``feedback:<id>``). Feedback whose DM Discord refused stays pending (see
        :meth:`pending_feedback`)."""
        checkin = await self.check_feedback(guild_id, leader_id, checkin_id)
        text = (text or "").strip()
        if not text or len(text) > FEEDBACK_MAX:
            raise UserError("checkins.bad_feedback", limit=FEEDBACK_MAX)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            feedback_id = await tx.execute(
                "INSERT INTO checkin_feedback (guild_id, checkin_id, user_id, leader_id, text,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (guild_id, checkin_id, checkin.user_id, leader_id, text, to_db(now)),
            )
            minutes = (now - checkin.created_at).total_seconds() / 60
            await tx.execute(
                "INSERT OR IGNORE INTO checkin_response (checkin_id, guild_id, family_id,"
                " checkin_at, first_feedback_at, minutes) VALUES (?, ?, ?, ?, ?, ?)",
                (checkin_id, guild_id, checkin.family_id, to_db(checkin.created_at),
                 to_db(now), round(minutes, 2)),
            )
            await self.audit.record(tx, guild_id, leader_id, "checkin.feedback",
                                    str(checkin.user_id), checkin=checkin_id)
            feedback = Feedback(feedback_id, checkin_id, checkin.user_id, leader_id, text,
                                checkin.local_date)
            if dm is not None:
                await self.deliveries.add(tx, guild_id, [dm(feedback)])
        if dm is not None:
            self.deliveries.notify()
        return feedback

    async def pending_feedback(self, guild_id: int, user_id: int) -> list[Feedback]:
        """Feedback a creator has not seen yet (their DMs were closed), oldest first: shown
        privately after their next command, then marked with :meth:`feedback_delivered`."""
        rows = await self.db.fetchall(
            "SELECT f.id, f.checkin_id, f.leader_id, f.text, c.local_date FROM checkin_feedback f"
            " JOIN checkins c ON c.id = f.checkin_id WHERE f.guild_id = ? AND f.user_id = ?"
            " AND f.delivered_at IS NULL AND " + _NOT_BY_DM + " ORDER BY f.id",
            (guild_id, user_id))
        return [Feedback(r["id"], r["checkin_id"], user_id, r["leader_id"], r["text"],
                         date.fromisoformat(r["local_date"])) for r in rows]

    async def feedback_delivered(self, feedback_ids: int | list[int], via: str) -> None:
        """Mark feedback as seen by the creator (``via`` dm, checkin or command), in one
        write: only once Discord accepted the message that shows it."""
        ids = [feedback_ids] if isinstance(feedback_ids, int) else feedback_ids
        now = to_db(self.clock.now())
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE checkin_feedback SET delivered_via = ?, delivered_at = ? WHERE id = ?"
                " AND delivered_at IS NULL", [(via, now, i) for i in ids],
            )

    async def feedback_stats(self, guild_id: int, family_id: int | None, start: datetime,
                             end: datetime) -> dict[str, Any]:
        """Check-ins made in [start, end): how many got feedback, and the median minutes
        from check-in to first feedback (see KpiService.quality)."""
        found = await KpiService(self.db).quality(guild_id, family_id, start, end)
        return {
            "checkins": found.checkins,
            "with_feedback": found.with_feedback,
            "feedback_rate": found.feedback_rate,
            "median_response_minutes": found.median_response_minutes,
        }


def _time_setting(value: str | None, current: str | None) -> str | None:
    if value is None:
        return current
    if value.strip().lower() in ("off", "no", "none", ""):
        return None
    parsed = parse_hhmm(value)
    if parsed is None:
        raise UserError("checkins.bad_time", value=value)
    return parsed.strftime("%H:%M")

"""The weekly review per tier and the action items that follow it.

Every figure comes from where the boards, the digests and ``/family stats`` take theirs:

- who is counted: :mod:`bot.services.population` (the same rule, the same possible days:
  :func:`population.membership_days`, summed as :func:`population.possible_of`);
- a week's hours, diamonds, followers and check-in days: the ISO week rows of
  ``progress_totals`` (:meth:`ProgressService.of_periods`), which the weekly boards read;
- the month-end pace and who is at risk: :func:`bot.services.pace.tier_paces` and its
  ``on_track``, as ``/progress risk`` (reckoned on the week's last day);
- a tier is the one a creator holds now (``member_tiers``), "no tier" for the others.

A review is of one ISO week of the program's calendar (the server's zone): each creator's
days are their own, as checked in. The schedule (``/review schedule``) is a row; a sweep woken
by the scheduler posts the last week's review once its figures are final (the last check-in
window of its Sunday closed, :func:`population.final_at`), claimed in ``review_posts`` with
its post and the managers' emails in one transaction: never twice, late after a restart.

An action item is a row (``review_actions``) with an owner and a due day; its history is in
the audit log (``review.action.create|done|dropped|reopen``, target ``review-action:<id>``).
On its due day (program zone) the owner's DM is queued once (``due_queued_at`` set in the
transaction that queues it). The next review shows what was done, dropped, is overdue or open.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from bot.clock import Clock, from_db, to_db
from bot.db import Database
from bot.delivery.queue import DeliveryQueue, Send
from bot.errors import NotAllowed, NotFound, UserError
from bot.localtime import day_start, iso_week, local_date, month
from bot.mail.outbox import Email
from bot.paging import Page
from bot.services import bounds, population
from bot.services.audit import AuditLog
from bot.services.digests import due_at
from bot.services.email import EmailService
from bot.services.families import FamilyService
from bot.services.guilds import GuildService
from bot.services.pace import PACED, Pace, days_in_month, month_totals, tier_paces
from bot.services.progress import ProgressService, Totals
from bot.services.risk import LIVE_STATES
from bot.services.tiers import Progress, Tier, TierService

log = logging.getLogger(__name__)

WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
AVERAGE_WEEKS = 4  # the "4-week average": the four weeks before the reviewed one
MOVERS = 3  # top movers up and down per tier
NOTE_MAX = bounds.NOTE_MAX  # an action's note
DUE_MAX_DAYS = 366  # an action is due within a year
ACTIONS_PAGE = 10
FIRST_WEEK = date(2000, 1, 3)  # no program reviews weeks before this one
STATES = ("open", "done", "dropped")
LATE = timedelta(hours=1)  # a scheduled review sent this long after it was due is late


def parse_week(text: str) -> tuple[str, date, date]:
    """``2026-W48`` (or ``2026W48``) → (key, Monday, Sunday); refused when it is no ISO week."""
    found = WEEK.match(text or "")
    if found is None:
        raise UserError("reviews.bad_week", value=text)
    try:
        first = date.fromisocalendar(int(found.group(1)), int(found.group(2)), 1)
    except ValueError:
        raise UserError("reviews.bad_week", value=text) from None
    return iso_week(first), first, first + timedelta(days=6)


@dataclass(frozen=True)
class Figures:
    """A group's totals of one week (or, for the 4-week average, the mean of four)."""

    checkins: float = 0
    hours: float = 0.0
    diamonds: float = 0
    followers: float = 0


@dataclass(frozen=True)
class Person:
    """One creator in the review (a CSV row)."""

    user_id: int
    family_id: int | None
    tier: Tier | None
    leader: bool
    week: Totals
    before: Totals
    average: Figures
    at_pace: Tier | None  # the highest tier reached at the month-end pace (None: none)
    moved: str | None  # "up" | "down" | None
    at_risk: list[Pace]
    mood: float | None
    notes: int
    change: float  # hours against the week before


@dataclass(frozen=True)
class Note:
    user_id: int
    family_id: int | None
    day: date
    mood: int | None
    text: str


@dataclass(frozen=True)
class Flag:
    """An open risk flag (read from the risk service's table when it exists)."""

    user_id: int | None
    family_id: int | None
    kind: str


@dataclass(frozen=True)
class Section:
    """A tier's part of the review (``tier`` None: creators without a tier; ``total``: the
    whole program)."""

    tier: Tier | None
    total: bool
    creators: int
    active: int
    checkin_days: int
    possible_days: int
    week: Figures
    before: Figures
    average: Figures
    mood: float | None
    mood_before: float | None
    up: list[Person]
    down: list[Person]
    movers_up: list[Person]
    movers_down: list[Person]
    at_risk: list[Person]
    notes: list[Note]
    flags: list[Flag]

    @property
    def rate(self) -> float | None:
        """Check-in days ÷ possible days (as the digests' check-in rate), None: no day."""
        return min(1.0, self.checkin_days / self.possible_days) if self.possible_days else None

    @property
    def notes_by_family(self) -> list[tuple[int | None, list[Note]]]:
        groups: dict[int | None, list[Note]] = defaultdict(list)
        for note in self.notes:
            groups[note.family_id].append(note)
        return list(groups.items())


@dataclass(frozen=True)
class Action:
    id: int
    guild_id: int
    week: str
    about_user_id: int | None
    family_id: int | None
    tier_id: int | None
    owner_id: int
    due: date
    note: str
    state: str
    created_by: int
    created_at: datetime
    closed_at: datetime | None


class Step(NamedTuple):
    """One line of an action's history: created, done, dropped or reopen; who; when."""

    what: str
    who: int | None
    when: datetime


@dataclass(frozen=True)
class Actions:
    """What became of the actions, as a review of a week shows them."""

    done: list[Action] = field(default_factory=list)
    dropped: list[Action] = field(default_factory=list)
    overdue: list[Action] = field(default_factory=list)
    open: list[Action] = field(default_factory=list)


@dataclass(frozen=True)
class Review:
    guild_id: int
    week: str
    first: date
    last: date
    counted: str  # the population rule (the report's footnote)
    sections: list[Section]  # by tier, highest first, then "no tier"
    total: Section
    people: list[Person]
    families: dict[int, str]
    actions: Actions


@dataclass(frozen=True)
class Schedule:
    day: int
    hour: int
    enabled: bool


@dataclass(frozen=True)
class DueReview:
    week: str
    channel_id: int | None
    late: bool


ACTION_COLUMNS = (
    "id, guild_id, week, about_user_id, family_id, tier_id, owner_user_id, due_date, note,"
    " state, created_by, created_at, closed_at")


def _action(r: Any) -> Action:
    return Action(r["id"], r["guild_id"], r["week"], r["about_user_id"], r["family_id"],
                  r["tier_id"], r["owner_user_id"], date.fromisoformat(r["due_date"]), r["note"],
                  r["state"], r["created_by"], from_db(r["created_at"]),
                  from_db(r["closed_at"]) if r["closed_at"] else None)


# -- the risk flags (bot/services/risk.py raises them) -------------------------------------
async def open_risk_flags(db: Database, guild_id: int) -> list[Flag]:
    """The guild's live risk flags (open or acknowledged, as ``/risk list`` shows them)."""
    rows = await db.fetchall(
        "SELECT user_id, family_id, kind FROM risk_flags WHERE guild_id = ?"
        " AND cleared_at IS NULL AND state IN (?, ?)", (guild_id, *LIVE_STATES))
    return [Flag(r["user_id"], r["family_id"], str(r["kind"])) for r in rows]


def _sum(rows: list[Totals]) -> Figures:
    return Figures(sum(t.checkins for t in rows), round(sum(t.hours for t in rows), 2),
                   sum(t.diamonds for t in rows), sum(t.followers for t in rows))


def _avg(weeks: list[Totals]) -> Figures:
    """The mean of some weeks' totals (weeks without a row count as zero)."""
    n = len(weeks) or 1
    checkins = hours = diamonds = followers = 0.0
    for w in weeks:
        checkins += w.checkins
        hours += w.hours
        diamonds += w.diamonds
        followers += w.followers
    return Figures(checkins / n, round(hours / n, 2), diamonds / n, followers / n)


def at_pace(progress: Progress, tiers: list[Tier], day: date) -> Tier | None:
    """The highest tier whose every threshold is on track at the month-end pace on ``day``
    (:func:`tier_paces`' ``on_track``, the rule of ``/progress risk``); ``tiers`` highest
    first. (The review itself uses :func:`_reached`, the same rule with less work.)"""
    for tier in tiers:
        if all(p.on_track for p in tier_paces(progress, tier, day)):
            return tier
    return None


# Active memberships at an instant: (user, family), the latest last (guild, when, when).
MEMBERS_AT = (
    "SELECT user_id, family_id FROM family_members WHERE guild_id = ? AND joined_at < ?"
    " AND (left_at IS NULL OR left_at >= ?) ORDER BY joined_at")
MOODS = (
    "SELECT user_id, local_date >= ? AS this_week, sum(mood) AS moods, count(mood) AS n"
    " FROM checkins WHERE guild_id = ? AND local_date BETWEEN ? AND ? AND mood IS NOT NULL"
    " GROUP BY user_id, this_week")
NOTES = (
    "SELECT user_id, family_id, local_date, mood, notes FROM checkins WHERE guild_id = ?"
    " AND local_date BETWEEN ? AND ? AND notes IS NOT NULL AND trim(notes) != ''"
    " ORDER BY local_date, user_id")
MANAGER_ADDRESSES = (
    "SELECT a.user_id, a.address,"
    " coalesce(a.locale, m.locale, m.discord_locale, g.locale, ?) AS locale"
    " FROM email_addresses a JOIN members m USING (guild_id, user_id)"
    " JOIN guilds g USING (guild_id)"
    " WHERE a.guild_id = ? AND a.verified_at IS NOT NULL AND coalesce(a.weekly_digest, 1) = 1"
    " AND m.left_at IS NULL AND (a.manager = 1 OR m.program_role = 'manager')"
    " ORDER BY a.user_id")


class ReviewService:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog, guilds: GuildService,
                 families: FamilyService, tiers: TierService, progress: ProgressService,
                 deliveries: DeliveryQueue, email: EmailService, cutoff_hour: int = 12,
                 default_locale: str = "en") -> None:
        self.db = db
        self.clock = clock
        self.audit = audit
        self.guilds = guilds
        self.families = families
        self.tiers = tiers
        self.progress = progress
        self.deliveries = deliveries
        self.email = email
        self.cutoff_hour = cutoff_hour
        self.default_locale = default_locale

    async def today(self, guild_id: int) -> date:
        return local_date(self.clock.now(), (await self.guilds.get(guild_id)).timezone)

    async def family_names(self, guild_id: int) -> dict[int, str]:
        """Every family of the guild (archived too) by id: how actions name theirs."""
        return {r[0]: r[1] for r in await self.db.fetchall(
            "SELECT id, name FROM families WHERE guild_id = ?", (guild_id,))}

    async def resolve_week(self, guild_id: int, week: str | None) -> tuple[str, date, date]:
        """The week to review: ``week`` (YYYY-Www), or the program's last ISO week (the one
        before today's, in the server's zone). A week not begun yet is refused."""
        today = await self.today(guild_id)
        if week is None or not week.strip():
            return parse_week(iso_week(today - timedelta(days=7)))
        key, first, last = parse_week(week)
        if first > today or first < FIRST_WEEK:
            raise UserError("reviews.week_out_of_range", week=key)
        return key, first, last

    # -- the review ------------------------------------------------------------------------

    async def review(self, guild_id: int, week: str | None = None,
                     tier_id: int | str | None = "all") -> Review:
        """The review of ``week`` (default: the last one); ``tier_id`` a tier's id, None for
        "no tier", or "all"."""
        key, first, last = await self.resolve_week(guild_id, week)
        db = self.db
        counted = await population.population(db, guild_id, first, last, days=True)
        days = await population.membership_days(db, guild_id, None, first, last)
        tiers = await self.tiers.list_tiers(guild_id)
        by_id = {t.id: t for t in tiers}
        held = {r[0]: by_id.get(r[1]) for r in await db.fetchall(
            "SELECT user_id, tier_id FROM member_tiers WHERE guild_id = ?", (guild_id,))}
        zone = (await self.guilds.get(guild_id)).timezone
        end = day_start(last + timedelta(days=1), zone)
        members_at = await db.fetchall(MEMBERS_AT, (guild_id, to_db(end), to_db(end)))
        families = await self.family_names(guild_id)
        keys = [iso_week(first - timedelta(days=7 * i)) for i in range(AVERAGE_WEEKS + 1)]
        totals = await self.progress.of_periods(guild_id, "week", keys)
        people = sorted(u for u, n in days.items() if n and counted.counts(u))
        progress = await month_totals(db, guild_id, people, month(last))
        moods = await db.fetchall(MOODS, (first.isoformat(), guild_id,
                                          (first - timedelta(days=7)).isoformat(),
                                          last.isoformat()))
        notes = await db.fetchall(NOTES, (guild_id, first.isoformat(), last.isoformat()))
        flags = await open_risk_flags(db, guild_id)
        actions = await self.actions_of(guild_id, first, last, zone)
        # The rest is Python over what was read (the rows turned into objects too): in a
        # thread, so that a big program's thousands of creators never hold the event loop
        # (the GIL is handed back every few milliseconds).
        return await asyncio.to_thread(
            _build, _Read(guild_id, key, first, last, keys, counted, days, tiers, held,
                          members_at, families, totals, people, progress, moods, notes, flags,
                          actions), tier_id)

    def csv(self, review: Review) -> str:
        """Every creator of the review, one row each (text cells that a spreadsheet would
        read as a formula are prefixed with an apostrophe)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([
            "week", "user_id", "family", "tier", "leader", "checkins", "hours", "diamonds",
            "followers", "checkins_before", "hours_before", "diamonds_before",
            "followers_before", "hours_4w_avg", "diamonds_4w_avg", "followers_4w_avg",
            "tier_at_pace", "movement", "at_risk", "mood", "notes"])
        for p in review.people:
            writer.writerow([
                review.week, p.user_id, _cell(review.families.get(p.family_id or 0, "")),
                _cell(p.tier.name if p.tier else ""), int(p.leader), p.week.checkins,
                _plain(p.week.hours), p.week.diamonds, p.week.followers, p.before.checkins,
                _plain(p.before.hours), p.before.diamonds, p.before.followers,
                _plain(p.average.hours), _plain(p.average.diamonds),
                _plain(p.average.followers), _cell(p.at_pace.name if p.at_pace else ""),
                p.moved or "", int(bool(p.at_risk)),
                "" if p.mood is None else f"{p.mood:.2f}", p.notes])
        return out.getvalue()

    # -- actions -----------------------------------------------------------------------------

    async def actions_of(self, guild_id: int, first: date, last: date, zone: str) -> Actions:
        """The actions as the review of ``first..last`` shows them: done and dropped in the
        week, open and due by its last day (overdue), open and due later."""
        begins, ends = day_start(first, zone), day_start(last + timedelta(days=1), zone)
        rows = await self.db.fetchall(
            f"SELECT {ACTION_COLUMNS} FROM review_actions WHERE guild_id = ? AND"
            " (state = 'open' OR (closed_at >= ? AND closed_at < ?))"
            " ORDER BY due_date, id", (guild_id, to_db(begins), to_db(ends)))
        found = Actions()
        for action in map(_action, rows):
            if action.state == "done":
                found.done.append(action)
            elif action.state == "dropped":
                found.dropped.append(action)
            elif action.due <= last:
                found.overdue.append(action)
            else:
                found.open.append(action)
        return found

    async def add_action(self, guild_id: int, actor_id: int, manager: bool, owner_id: int,
                         due: date, note: str, *, about_user_id: int | None = None,
                         family_id: int | None = None, tier_id: int | None = None,
                         week: str | None = None) -> Action:
        """Record an action from a review (``week``: the last one by default). About at most
        one of a creator, a family or a tier (none: the program). Leaders: about their own
        family or one of its creators."""
        if sum(x is not None for x in (about_user_id, family_id, tier_id)) > 1:
            raise UserError("reviews.one_subject")
        text = bounds.clean_text(note, NOTE_MAX, "note")
        if not any(bounds.visible(c) for c in text):
            raise UserError("reviews.empty_note")
        key, _, _ = await self.resolve_week(guild_id, week)
        today = await self.today(guild_id)
        if not today <= due <= today + timedelta(days=DUE_MAX_DAYS):
            raise UserError("reviews.bad_due", day=due, days=DUE_MAX_DAYS)
        subject_family: int | None
        if about_user_id is not None:
            membership = await self.families.membership_of(guild_id, about_user_id)
            if membership is None:
                raise UserError("reviews.not_a_creator")
            subject_family = membership.family_id
        else:
            subject_family = family_id
        if not manager:
            led = await self.families.family_led_by(guild_id, actor_id)
            if led is None:
                raise NotAllowed("families.leaders_only")
            if tier_id is not None or (subject_family is not None and subject_family != led.id):
                raise NotAllowed("families.not_your_family")
            subject_family = led.id
            if about_user_id is None:
                family_id = led.id
        async with self.db.transaction() as tx:
            action_id = await tx.fetchval(
                "INSERT INTO review_actions (guild_id, week, about_user_id, family_id, tier_id,"
                " owner_user_id, due_date, note, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (guild_id, key, about_user_id, subject_family if about_user_id else family_id,
                 tier_id, owner_id, due.isoformat(), text, actor_id, to_db(self.clock.now())))
            await self.audit.record(tx, guild_id, actor_id, "review.action.create",
                                    f"review-action:{action_id}", owner=owner_id,
                                    due=due.isoformat(), week=key)
        return await self.action(guild_id, action_id)

    async def action(self, guild_id: int, action_id: int) -> Action:
        bounds.check_number(action_id, "id", 1, bounds.ID_MAX)  # a raw id past Discord's
        row = await self.db.fetchone(
            f"SELECT {ACTION_COLUMNS} FROM review_actions WHERE guild_id = ? AND id = ?",
            (guild_id, action_id))
        if row is None:
            raise NotFound("reviews.unknown_action", id=action_id)
        return _action(row)

    async def _may_change(self, action: Action, actor_id: int, manager: bool) -> None:
        if manager or action.owner_id == actor_id:
            return
        led = await self.families.family_led_by(action.guild_id, actor_id)
        if led is None or action.family_id != led.id:
            raise NotAllowed("reviews.not_your_action")

    async def set_state(self, guild_id: int, actor_id: int, manager: bool, action_id: int,
                        state: str) -> Action:
        """Mark an action done, dropped, or open again (the owner, the family's leader, a
        manager); each change is an audit entry."""
        if state not in STATES:
            raise UserError("reviews.bad_state", value=state)
        found = await self.action(guild_id, action_id)
        await self._may_change(found, actor_id, manager)
        if found.state == state:
            raise UserError("reviews.already", state=state)
        now = to_db(self.clock.now())
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE review_actions SET state = ?, closed_at = ?, closed_by = ? WHERE id = ?",
                (state, None if state == "open" else now, None if state == "open" else actor_id,
                 action_id))
            verb = "reopen" if state == "open" else state
            await self.audit.record(tx, guild_id, actor_id, f"review.action.{verb}",
                                    f"review-action:{action_id}")
        return await self.action(guild_id, action_id)

    async def open_actions(self, guild_id: int, viewer_id: int, manager: bool,
                           family_id: int | None, page: int, size: int = ACTIONS_PAGE
                           ) -> Page[Action]:
        """Open actions, by due day: managers all (or a family's); others those of the
        family they lead and those they own."""
        if family_id is not None:
            await self.families.get(guild_id, family_id)  # this server's family, or NotFound
        if manager:
            where, params = ("(? IS NULL OR family_id = ?)", (family_id, family_id))
        else:
            led = await self.families.family_led_by(guild_id, viewer_id)
            if family_id is not None and (led is None or led.id != family_id):
                raise NotAllowed("families.not_your_family")
            where, params = ("(family_id = ? OR owner_user_id = ?)",
                             (led.id if led else -1, viewer_id))
        total = await self.db.fetchval(
            f"SELECT count(*) FROM review_actions WHERE guild_id = ? AND state = 'open'"
            f" AND {where}", (guild_id, *params))
        number = max(0, min(page, max(0, -(-total // size) - 1)))
        rows = await self.db.fetchall(
            f"SELECT {ACTION_COLUMNS} FROM review_actions WHERE guild_id = ? AND state = 'open'"
            f" AND {where} ORDER BY due_date, id LIMIT ? OFFSET ?",
            (guild_id, *params, size, number * size))
        return Page([_action(r) for r in rows], number, size, total)

    async def history(self, guild_id: int, action_id: int) -> list[Step]:
        """An action's history from the audit log, oldest first."""
        rows = await self.db.fetchall(
            "SELECT action, actor_id, created_at FROM audit_log WHERE guild_id = ?"
            " AND target = ? ORDER BY id", (guild_id, f"review-action:{action_id}"))
        return [Step(r[0].rsplit(".", 1)[-1], r[1], from_db(r[2])) for r in rows]

    async def due_actions(self) -> list[Action]:
        """Open actions whose due day has come (program zone) and whose DM is not queued."""
        rows = await self.db.fetchall(
            f"SELECT {ACTION_COLUMNS}, (SELECT g.timezone FROM guilds g"
            " WHERE g.guild_id = review_actions.guild_id) AS timezone FROM review_actions"
            " WHERE state = 'open' AND due_queued_at IS NULL"
            " AND due_date <= ? ORDER BY id",
            ((local_date(self.clock.now(), "Pacific/Kiritimati")).isoformat(),))
        now = self.clock.now()
        return [_action(r) for r in rows
                if date.fromisoformat(r["due_date"]) <= local_date(now, r["timezone"])]

    async def queue_due(self, action: Action, dm: Send) -> bool:
        """Queue the owner's due-day DM once (False: queued before, or no longer open)."""
        async with self.db.transaction() as tx:
            if not await tx.execute(
                    "UPDATE review_actions SET due_queued_at = ? WHERE id = ?"
                    " AND due_queued_at IS NULL AND state = 'open'",
                    (to_db(self.clock.now()), action.id)):
                return False
            await self.deliveries.add(tx, action.guild_id, [dm])
        self.deliveries.notify()
        return True

    # -- the schedule --------------------------------------------------------------------------

    async def schedule(self, guild_id: int) -> Schedule | None:
        row = await self.db.fetchone(
            "SELECT day, hour, enabled FROM review_settings WHERE guild_id = ?", (guild_id,))
        return None if row is None else Schedule(row[0], row[1], bool(row[2]))

    async def set_schedule(self, guild_id: int, actor_id: int, day: int, hour: int,
                           enabled: bool = True) -> Schedule:
        if not 0 <= day <= 6:
            raise UserError("reviews.bad_day")
        bounds.check_number(hour, "hour", 0, 23)
        async with self.db.transaction() as tx:
            await self.guilds.ensure(tx, guild_id)
            await tx.execute(
                "INSERT INTO review_settings (guild_id, day, hour, enabled, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET day = excluded.day,"
                " hour = excluded.hour, enabled = excluded.enabled,"
                " updated_at = excluded.updated_at",
                (guild_id, day, hour, int(enabled), to_db(self.clock.now())))
            await self.audit.record(tx, guild_id, actor_id, "review.schedule", None, day=day,
                                    hour=hour, enabled=enabled)
        return Schedule(day, hour, enabled)

    async def due_reviews(self) -> list[tuple[int, DueReview]]:
        """The scheduled reviews due now: per guild, the week before the latest scheduled
        moment, once that week is final and not claimed yet (``late``: due more than
        :data:`LATE` ago, the bot was down)."""
        now = self.clock.now()
        rows = await self.db.fetchall(
            "SELECT s.guild_id, s.day, s.hour, s.updated_at, g.timezone, c.channel_id"
            " FROM review_settings s JOIN guilds g USING (guild_id)"
            " LEFT JOIN guild_channels c ON c.guild_id = s.guild_id AND c.kind = 'managers'"
            " WHERE s.enabled = 1")
        out = []
        for r in rows:
            moment = due_at(now, r["timezone"], r["day"], r["hour"])
            if moment < from_db(r["updated_at"]):
                continue  # scheduled after that moment: from the next one
            first = local_date(moment, r["timezone"]) - timedelta(days=7)
            key, _, last = parse_week(iso_week(first))
            final = await population.final_at(self.db, r["guild_id"], last, self.cutoff_hour,
                                              self.guilds.default_timezone)
            if now < final:
                continue
            if await self.db.fetchval("SELECT 1 FROM review_posts WHERE guild_id = ? AND"
                                      " week = ?", (r["guild_id"], key)):
                continue
            out.append((r["guild_id"], DueReview(key, r["channel_id"],
                                                 now - max(moment, final) > LATE)))
        return out

    async def manager_recipients(self, guild_id: int) -> list[tuple[int, str, str]]:
        """Managers with a verified address and the weekly digest on: (user, address,
        locale)."""
        rows = await self.db.fetchall(MANAGER_ADDRESSES, (self.default_locale, guild_id))
        return [(r[0], r[1], r[2]) for r in rows]

    async def render_emails(self, guild_id: int, week: str,
                            context: dict[str, Any]) -> list[Email]:
        """The review email for each manager (dedupe key ``review:<guild>:<week>:<user>``),
        rendered outside any transaction."""
        return await self.email.render_many([
            (guild_id, user, address, "review", f"review:{guild_id}:{week}:{user}", locale,
             context) for user, address, locale in await self.manager_recipients(guild_id)])

    async def claim(self, guild_id: int, due: DueReview, post: Send | None,
                    emails: list[Email]) -> bool:
        """Claim the week's review with its post and emails in one transaction (False: it
        was claimed before; nothing queued)."""
        async with self.db.transaction() as tx:
            claimed = await tx.fetchval(
                "INSERT INTO review_posts (guild_id, week, state, channel_id, emails, late,"
                " claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                (guild_id, due.week, "queued" if post else "no_channel", due.channel_id,
                 len(emails), int(due.late), to_db(self.clock.now())))
            if claimed is None:
                return False
            if post is not None:
                await self.deliveries.add(tx, guild_id, [post])
            await self.email.queue_rendered(tx, emails)
        self.deliveries.notify()
        self.email.on_queued()
        return True


@dataclass(frozen=True)
class _Read:
    """What a review reads from the database, for :func:`_build`."""

    guild_id: int
    week: str
    first: date
    last: date
    keys: list[str]  # the reviewed week, then the four before it
    counted: population.Population
    days: dict[int, int]
    tiers: list[Tier]
    held: dict[int, Tier | None]
    members_at: list[Any]  # MEMBERS_AT's rows
    families: dict[int, str]
    totals: dict[tuple[int, str], Totals]
    people: list[int]
    progress: dict[int, Progress]
    moods: list[Any]  # MOODS' rows
    notes: list[Any]  # NOTES' rows
    flags: list[Flag]
    actions: Actions


def _thresholds(tiers: list[Tier]) -> list[tuple[Tier, list[tuple[str, float]]]]:
    """Each tier with the (metric, threshold) pairs it sets, in the order given."""
    return [(tier, [(metric, threshold) for metric, field_name in PACED.items()
                    if (threshold := getattr(tier, field_name)) is not None])
            for tier in tiers]


def _projected(progress: Progress, day: date, total_days: int) -> dict[str, float]:
    """Each paced metric's month-end projection on ``day`` (the arithmetic of
    :func:`bot.services.pace.pace`)."""
    return {metric: getattr(progress, metric) / day.day * total_days for metric in PACED}


def _reached(projected: dict[str, float],
             thresholds: list[tuple[Tier, list[tuple[str, float]]]]) -> Tier | None:
    """:func:`at_pace` without building a :class:`Pace` per tier and metric: the first tier
    (highest first) whose every threshold the projections reach."""
    for tier, pairs in thresholds:
        if all(projected[metric] >= threshold for metric, threshold in pairs):
            return tier
    return None


def _build(read: _Read, tier_id: int | str | None) -> Review:
    """The review from what was read (pure: no database, run in a thread)."""
    tiers, keys, last, counted = read.tiers, read.keys, read.last, read.counted
    family_of = {r[0]: r[1] for r in read.members_at}  # the latest membership last
    moods: dict[tuple[int, int], tuple[int, int]] = {
        (r["user_id"], r["this_week"]): (r["moods"], r["n"]) for r in read.moods}
    notes: dict[int, list[Note]] = defaultdict(list)
    for r in read.notes:
        notes[r["user_id"]].append(Note(r["user_id"], r["family_id"],
                                        date.fromisoformat(r["local_date"]), r["mood"],
                                        r["notes"]))
    highest_first = sorted(tiers, key=lambda t: t.rank, reverse=True)
    thresholds = _thresholds(highest_first)
    thresholds_of = {tier.id: (tier, pairs) for tier, pairs in thresholds}
    total_days = days_in_month(last)
    empty = Totals()
    persons: list[Person] = []
    for user in read.people:
        mine = read.held.get(user)
        leader = user in counted.leaders
        values = counted.counts_values(user)
        week_t = read.totals.get((user, keys[0]), empty) if values else empty
        before_t = read.totals.get((user, keys[1]), empty) if values else empty
        average = _avg([read.totals.get((user, k), empty) for k in keys[1:]]) if values \
            else Figures()
        month_p = read.progress.get(user)
        member = user in family_of
        moved = reached = None
        projected = _projected(month_p or Progress(), last, total_days)
        if tiers and month_p is not None and member:
            reached = _reached(projected, thresholds)
            if reached is not None and (mine is None or reached.rank > mine.rank):
                moved = "up"
            elif mine is not None and (reached is None or reached.rank < mine.rank):
                moved = "down"
        short: list[Pace] = []
        if tiers and not leader and member and _reached(projected, [
                thresholds_of[(mine or tiers[0]).id]]) is None:  # short of something
            short = [p for p in tier_paces(month_p or Progress(), mine or tiers[0], last)
                     if not p.on_track]
        total_mood, count = moods.get((user, 1), (0, 0))
        persons.append(Person(
            user, family_of.get(user), mine, leader, week_t, before_t, average, reached,
            moved, short, total_mood / count if count else None,
            len(notes.get(user, ())), round(week_t.hours - before_t.hours, 2)))
    groups: dict[int | None, list[Person]] = defaultdict(list)
    for p in persons:
        groups[p.tier.id if p.tier else None].append(p)
    order: list[Tier | None] = [*highest_first, None]
    flags = read.flags
    sections = [
        _section(tier, False, groups.get(tier.id if tier else None, []), counted, read.days,
                 moods, notes, flags)
        for tier in order if tier_id == "all" or (tier.id if tier else None) == tier_id]
    total = _section(None, True, persons, counted, read.days, moods, notes, flags)
    return Review(read.guild_id, read.week, read.first, read.last, counted.rule, sections,
                  total, persons, read.families, read.actions)


def _section(tier: Tier | None, total: bool, people: list[Person],
             counted: population.Population, days: dict[int, int],
             moods: dict[tuple[int, int], tuple[int, int]], notes: dict[int, list[Note]],
             flags: list[Flag]) -> Section:
    users = {p.user_id for p in people}
    possible = population.possible_of({u: days[u] for u in users}, counted)
    done = sum(p.week.checkins for p in people)

    def mood(this_week: int) -> float | None:
        total_mood = sum(moods.get((u, this_week), (0, 0))[0] for u in users)
        n = sum(moods.get((u, this_week), (0, 0))[1] for u in users)
        return total_mood / n if n else None

    moving = sorted((p for p in people if p.change), key=lambda p: (-p.change, p.user_id))
    return Section(
        tier=tier, total=total, creators=len(people),
        active=sum(1 for p in people if p.week.checkins), checkin_days=done,
        possible_days=possible, week=_sum([p.week for p in people]),
        before=_sum([p.before for p in people]),
        average=Figures(*(round(sum(getattr(p.average, f) for p in people), 2)
                          for f in ("checkins", "hours", "diamonds", "followers"))),
        mood=mood(1), mood_before=mood(0),
        up=[p for p in people if p.moved == "up"],
        down=[p for p in people if p.moved == "down"],
        movers_up=[p for p in moving if p.change > 0][:MOVERS],
        movers_down=[p for p in reversed(moving) if p.change < 0][:MOVERS],
        at_risk=[p for p in people if p.at_risk],
        notes=sorted((n for u in users for n in notes.get(u, [])),
                     key=lambda n: (n.family_id or 0, n.day, n.user_id)),
        flags=[f for f in flags if f.user_id in users or (total and f.user_id is None)],
    )


def _plain(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.2f}"


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

"""A seeded program of a given size, for tests, benchmarks and the demo.

:func:`build` makes a guild's whole program in one transaction: families with their leaders
and co-leaders, creators in English and Spanish spread over several time zones, days of
check-ins with gaps, the progress the check-ins feature keeps for them, tiers given by a sweep
of last month, leaders' feedback, a running campaign and people who left their family. The
same seed and the same ``now`` make the same program, row for row.

Check-ins are written one way only, :func:`write_checkins` (also what tests use to seed a few
days): the rows, then ``progress_totals`` (and through its triggers ``progress_alltime``) and
``checkin_streaks`` exactly as :meth:`CheckinService.submit <bot.services.checkins.
CheckinService.submit>` leaves them when each day was checked in on the day — in bulk, so a
year of a 5,000-creator program takes seconds, not hours.

Sizes (:data:`SIZES`): ``small`` (a few families, two weeks), ``program`` (30 families of 10
creators, 90 days: a real program) and ``large`` (200 families, 5,000 creators, 365 days: for
benchmarks).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from bot.clock import to_db
from bot.db import SyncTransaction
from bot.localtime import at_local, day_start, iso_week, local_date, month, week_start
from bot.services.campaigns.editing import INSERT_CAMPAIGN
from bot.services.campaigns.store import ENROL
from bot.services.families.models import AGREEMENT_VERSION, LEAVE_REASONS
from bot.services.families.records import INSERT_FAMILY
from bot.services.families.store import ACCEPT_AGREEMENT

if TYPE_CHECKING:
    from bot.services import Services


@dataclass(frozen=True)
class Size:
    """How big a program is: families, creators per family (besides its leaders), days of
    check-ins before today, and leavers per family (ended memberships)."""

    families: int
    creators: int
    days: int
    leavers: int = 1


SIZES = {
    "small": Size(families=3, creators=4, days=14),
    "program": Size(families=30, creators=10, days=90),
    "large": Size(families=200, creators=25, days=365, leavers=2),
}
# Zones creators live in (None: the server's), and the languages they chose (None: their
# Discord app's, which is then remembered as Spanish or English).
ZONES = (None, "America/Mexico_City", "America/Bogota", "America/New_York", "Europe/Madrid",
         "Asia/Jakarta", "UTC")
LOCALES = ("es", "en", "es", "en", None)
FAMILY_NAMES = (
    "Lobos", "Osos", "Águilas", "Halcones", "Jaguares", "Delfines", "Pumas", "Tiburones",
    "Búhos", "Zorros", "Linces", "Cóndores", "Leones", "Tigres", "Panteras", "Ballenas",
    "Colibríes", "Coyotes", "Bisontes", "Gacelas", "Dragones", "Fénix", "Cometas", "Estrellas",
    "Luceros", "Volcanes", "Mareas", "Tormentas", "Auroras", "Galaxias",
)
FIRST_NAMES = (
    "ana", "bruno", "carla", "diego", "elena", "fabio", "gala", "hugo", "ines", "joel", "kira",
    "leo", "maya", "nico", "olga", "pablo", "quina", "rosa", "sergio", "tania", "ursula",
    "victor", "wendy", "ximena", "yago", "zoe",
)
# The tiers a program has (name, rank, monthly thresholds), as a manager defines them.
TIERS = (
    ("Bronze", 1, {"min_hours": 20.0, "min_valid_days": 8}),
    ("Silver", 2, {"min_hours": 45.0, "min_valid_days": 15, "min_diamonds": 15_000}),
    ("Gold", 3, {"min_hours": 80.0, "min_valid_days": 22, "min_diamonds": 40_000}),
)
FEEDBACK = ("Great stream!", "Nice numbers, keep it up.", "Try a longer stream tomorrow.",
            "¡Muy bien!", "Good energy today.", "Remember to thank your top gifters.")


@dataclass(frozen=True)
class CheckinRow:
    """One day's check-in as a creator submits it (``day`` is their own local day)."""

    user_id: int
    day: date
    hours: float
    diamonds: int = 0
    followers: int = 0
    peak_viewers: int = 0
    family_id: int | None = None
    timezone: str = "UTC"
    mood: int | None = None
    notes: str | None = None
    created_at: datetime | None = None  # None: 20:00 on that day in ``timezone``


@dataclass(frozen=True)
class Person:
    user_id: int
    name: str
    role: str  # leader, co_leader, creator, leaver, manager
    family_id: int | None
    locale: str | None  # the language they chose (None: their Discord app's)
    discord_locale: str
    timezone: str | None  # their own zone (None: the server's)
    joined: date | None = None
    left: date | None = None  # leavers: the day their membership ended


@dataclass(frozen=True)
class FamilyMade:
    id: int
    name: str
    leader_id: int
    co_leader_id: int | None
    creator_ids: tuple[int, ...]  # active creators, leaders not included
    leaver_ids: tuple[int, ...]
    channel_id: int | None = None

    @property
    def member_ids(self) -> tuple[int, ...]:
        """Active members: the leaders, then the creators."""
        leaders = (self.leader_id,) + ((self.co_leader_id,) if self.co_leader_id else ())
        return leaders + self.creator_ids


@dataclass
class Program:
    """What :func:`build` made, so tests can pick people."""

    guild_id: int
    size: str
    seed: int
    now: datetime
    timezone: str  # the server's zone
    manager_id: int
    families: list[FamilyMade]
    people: dict[int, Person]
    tier_ids: dict[str, int]
    campaign_id: int | None
    checkins: int = 0
    feedback: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def family(self, name: str) -> FamilyMade:
        return next(f for f in self.families if f.name == name)

    def person(self, user_id: int) -> Person:
        return self.people[user_id]

    @property
    def creators(self) -> list[Person]:
        """Active creators (not leaders), in family order."""
        return [self.people[u] for f in self.families for u in f.creator_ids]

    @property
    def leaders(self) -> list[Person]:
        return [self.people[f.leader_id] for f in self.families]

    @property
    def leavers(self) -> list[Person]:
        return [p for p in self.people.values() if p.role == "leaver"]

    def zone_of(self, user_id: int) -> str:
        return self.people[user_id].timezone or self.timezone


# -- check-ins: the one way to write them ------------------------------------------------------

INSERT_CHECKIN = (
    "INSERT INTO checkins (guild_id, user_id, family_id, local_date, timezone, hours, diamonds,"
    " followers, peak_viewers, mood, notes, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# ProgressService's running totals, one period at a time (the same arithmetic).
ADD_TOTALS = (
    "INSERT INTO progress_totals (guild_id, user_id, period_kind, period, checkins, valid_days,"
    " hours, diamonds, followers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (guild_id, user_id, period_kind, period) DO UPDATE SET"
    " checkins = checkins + excluded.checkins, valid_days = valid_days + excluded.valid_days,"
    " hours = round(hours + excluded.hours, 2), diamonds = diamonds + excluded.diamonds,"
    " followers = followers + excluded.followers"
)
SAVE_STREAK = (
    "INSERT INTO checkin_streaks (guild_id, user_id, current, best, last_date)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET"
    " current = excluded.current, best = max(best, excluded.best),"
    " last_date = excluded.last_date"
)
DATES_OF = (
    "SELECT user_id, local_date FROM checkins WHERE guild_id = ?"
    " AND user_id IN (SELECT value FROM json_each(?)) ORDER BY user_id, local_date"
)
REST_DAYS = "SELECT rest_days FROM checkin_settings WHERE guild_id = ?"


def streaks(days: Sequence[date], rest_days: int) -> tuple[int, int]:
    """(current, best) as :meth:`CheckinService.submit` stores them when each of ``days``
    (ascending, distinct) was checked in on the day: the streak of the last day, and the
    highest streak any of them had. Equal to ``streak_length`` day by day, in linear time.

    Walking back from a day, the streak stops in the latest week (Monday-Sunday) with more
    missed days than ``rest_days``, at the missed day that is one too many; days before the
    first check-in are never missed. So each week is summed once: ``run[w]`` is what the walk
    collects from the end of week ``w`` back."""
    if not days:
        return 0, 0
    checked = set(days)
    first = days[0]
    run: dict[date, int] = {}  # week start -> check-ins the walk collects from its Sunday back

    def walk(from_day: date, to_day: date, today: date | None) -> tuple[int, bool]:
        """Check-ins from ``from_day`` back to ``to_day``; True if the week broke there."""
        count = missed = 0
        day = from_day
        while day >= to_day:
            if day in checked:
                count += 1
            elif day != today:
                missed += 1
                if missed > rest_days:
                    return count, True
            day -= timedelta(days=1)
        return count, False

    week = week_start(first)
    last_week = week_start(days[-1])
    while week < last_week:
        count, broke = walk(week + timedelta(days=6), max(week, first), None)
        before = run.get(week - timedelta(days=7), 0) if week > first else 0
        run[week] = count if broke else count + before
        week += timedelta(days=7)
    best = current = 0
    for day in days:
        start = week_start(day)
        count, broke = walk(day, max(start, first), day)
        if not broke and start > first:
            count += run.get(start - timedelta(days=7), 0)
        current = count
        best = max(best, count)
    return current, best


def _created(row: CheckinRow) -> str:
    if row.created_at is not None:
        return to_db(row.created_at)
    return to_db(at_local(row.day, time(20, 0), row.timezone))


def write_checkins(tx: SyncTransaction, guild_id: int, rows: Iterable[CheckinRow],
                   valid_day_hours: float = 1.0) -> int:
    """Store new check-ins (days not checked in yet) with everything a check-in keeps:
    the week's and month's totals (the all-time ones follow by trigger) and each creator's
    streak, as if every day had been checked in on the day. Returns how many were written.
    Inside a transaction (:meth:`Database.run`); see :func:`record_checkins`."""
    # day by day: most of the check-ins' indexes begin with the day, so each grows at one end
    rows = sorted(rows, key=lambda r: (r.day, r.user_id))
    tx.executemany(INSERT_CHECKIN, (
        (guild_id, r.user_id, r.family_id, r.day.isoformat(), r.timezone, r.hours, r.diamonds,
         r.followers, r.peak_viewers, r.mood, r.notes, stamp, stamp)
        for r in rows for stamp in (_created(r),)))
    totals: dict[tuple[int, str, str], list[float]] = {}
    periods: dict[date, tuple[str, str]] = {}
    for r in rows:
        if r.day not in periods:
            periods[r.day] = (iso_week(r.day), month(r.day))
        week, month_ = periods[r.day]
        valid = 1 if r.hours >= valid_day_hours else 0
        for key in ((r.user_id, "week", week), (r.user_id, "month", month_)):
            found = totals.get(key)
            if found is None:
                totals[key] = [1, valid, r.hours, r.diamonds, r.followers]
            else:
                found[0] += 1
                found[1] += valid
                found[2] += r.hours
                found[3] += r.diamonds
                found[4] += r.followers
    tx.executemany(ADD_TOTALS, (
        (guild_id, user, kind, period, n, valid, round(hours, 2), diamonds, followers)
        for (user, kind, period), (n, valid, hours, diamonds, followers)
        in sorted(totals.items(), key=lambda item: (item[0][1], item[0][2], item[0][0]))))
    rest = tx.fetchval(REST_DAYS, (guild_id,))
    users = sorted({r.user_id for r in rows})
    dates: dict[int, list[date]] = defaultdict(list)
    for found in tx.fetchall(DATES_OF, (guild_id, json.dumps(users))):
        dates[found["user_id"]].append(date.fromisoformat(found["local_date"]))
    saved = []
    for user in users:
        current, best = streaks(dates[user], 1 if rest is None else rest)
        saved.append((guild_id, user, current, best, dates[user][-1].isoformat()))
    tx.executemany(SAVE_STREAK, saved)
    return len(rows)


async def record_checkins(services: Services, guild_id: int, rows: Iterable[CheckinRow]) -> int:
    """:func:`write_checkins` in a transaction of its own (tests seeding a few days)."""
    rows = list(rows)
    hours = services.progress.valid_day_hours
    return await services.db.run(lambda tx: write_checkins(tx, guild_id, rows, hours))


# -- a whole program ---------------------------------------------------------------------------

# A person of the program on Discord: (name, language of their Discord app) -> user id.
People = Callable[[str, str], int]
# A family's channel: its name -> channel id (None: the family has no channel).
Channels = Callable[[str], "int | None"]


@dataclass
class _Plan:
    """Who is who and the days they checked in, drawn before anything is written."""

    families: list[dict[str, Any]] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    checkins: list[CheckinRow] = field(default_factory=list)


def _sequential(start: int) -> People:
    counter = iter(range(start, start + 10_000_000))
    return lambda name, locale: next(counter)


def _family_name(i: int) -> str:
    base = FAMILY_NAMES[i % len(FAMILY_NAMES)]
    return base if i < len(FAMILY_NAMES) else f"{base} {i // len(FAMILY_NAMES) + 1}"


def _plan(rng: random.Random, size: Size, now: datetime, guild_tz: str, people: People
          ) -> _Plan:
    plan = _Plan()
    today = local_date(now, guild_tz)
    first_day = today - timedelta(days=size.days)
    serial = 0

    def person(role: str, family: int) -> Person:
        nonlocal serial
        serial += 1
        name = f"{FIRST_NAMES[serial % len(FIRST_NAMES)]}{serial}"
        chosen = rng.choice(LOCALES)
        discord_locale = chosen or rng.choice(("es", "en"))
        zone = rng.choice(ZONES)
        joined = first_day - timedelta(days=rng.randrange(0, 60))
        if role == "creator" and rng.random() < 0.1:  # joined during the period
            joined = first_day + timedelta(days=rng.randrange(1, max(2, size.days)))
        left = None
        if role == "leaver":
            left = first_day + timedelta(days=rng.randrange(1, max(2, size.days)))
        user_id = people(name, "es-ES" if discord_locale == "es" else "en-US")
        return Person(user_id, name, role, family, chosen, discord_locale, zone, joined, left)

    for i in range(size.families):
        leader = person("leader", i)
        co_leader = person("co_leader", i) if i % 3 != 2 else None
        creators = [person("creator", i) for _ in range(size.creators)]
        leavers = [person("leaver", i) for _ in range(size.leavers)]
        plan.families.append({"name": _family_name(i), "leader": leader,
                              "co_leader": co_leader, "creators": creators,
                              "leavers": leavers})
        plan.people += [leader, *([co_leader] if co_leader else []), *creators, *leavers]
    for who in plan.people:
        plan.checkins += _days_of(rng, who, now, guild_tz, size.days)
    return plan


def _days_of(rng: random.Random, who: Person, now: datetime, guild_tz: str, days: int
             ) -> list[CheckinRow]:
    """A creator's check-ins: a habit (how often, how long), rest days and breaks."""
    tz = who.timezone or guild_tz
    today = local_date(now, tz)
    habit = rng.uniform(0.45, 0.95)
    usual = rng.uniform(1.0, 5.5)
    rate = rng.randrange(150, 900)  # diamonds per hour
    start = max(today - timedelta(days=days), who.joined or today)
    end = today if who.left is None else min(today, who.left - timedelta(days=1))
    rows = []
    day = start
    while day <= end:
        if rng.random() < 0.03:  # a break of a few days
            day += timedelta(days=rng.randrange(2, 9))
            continue
        if rng.random() < habit:
            hours = round(max(0.5, min(12.0, rng.gauss(usual, 1.2))), 1)
            created = at_local(day, time(rng.randrange(18, 24), rng.randrange(60)), tz)
            if day == today:
                if created > now:
                    created = max(day_start(day, tz), now - timedelta(minutes=5))
            rows.append(CheckinRow(
                who.user_id, day, hours, int(hours * rate * rng.uniform(0.5, 1.5)),
                rng.randrange(0, 40), rng.randrange(5, 400), who.family_id, tz,
                rng.choice((None, None, 3, 4, 5)),
                rng.choice((None,) * 9 + ("Tried a new game",)), created))
        day += timedelta(days=1)
    return rows


UPSERT_MEMBER = (
    "INSERT INTO members (guild_id, user_id, program_role, timezone, locale, discord_locale,"
    " joined_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET"
    " program_role = excluded.program_role, timezone = excluded.timezone,"
    " locale = excluded.locale, discord_locale = excluded.discord_locale"
)
ENSURE_MANAGER = (
    "INSERT INTO members (guild_id, user_id, program_role, joined_at) VALUES (?, ?, 'manager', ?)"
    " ON CONFLICT (guild_id, user_id) DO UPDATE SET program_role = 'manager'"
)
INSERT_MEMBERSHIP = (
    "INSERT INTO family_members (guild_id, family_id, user_id, joined_at, agreement_version,"
    " agreement_accepted_at, left_at, ended_by, leave_reason, leave_note, ended_by_user_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
ENSURE_GUILD = (
    "INSERT OR IGNORE INTO guilds (guild_id, timezone, locale, created_at, updated_at)"
    " VALUES (?, ?, 'en', ?, ?)"
)
INSERT_TIER = (
    "INSERT INTO tiers (guild_id, name, rank, min_hours, min_diamonds, min_valid_days,"
    " min_followers, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_FEEDBACK = (
    "INSERT INTO checkin_feedback (guild_id, checkin_id, user_id, leader_id, text, created_at,"
    " delivered_via, delivered_at) VALUES (?, ?, ?, ?, ?, ?, 'dm', ?)"
)
INSERT_RESPONSE = (
    "INSERT OR IGNORE INTO checkin_response (checkin_id, guild_id, family_id, checkin_at,"
    " first_feedback_at, minutes) VALUES (?, ?, ?, ?, ?, ?)"
)
RECENT_CHECKINS = (
    "SELECT id, user_id, family_id, created_at FROM checkins WHERE guild_id = ?"
    " AND local_date >= ? AND family_id IS NOT NULL ORDER BY id"
)


def _write(tx: SyncTransaction, guild_id: int, plan: _Plan, now: datetime, guild_tz: str,
           manager_id: int, channels: Channels | None, valid_day_hours: float,
           rng: random.Random) -> tuple[list[FamilyMade], dict[str, int], int | None, int]:
    stamp = to_db(now)
    tx.execute(ENSURE_GUILD, (guild_id, guild_tz, stamp, stamp))
    tx.execute(ENSURE_MANAGER, (guild_id, manager_id, stamp))

    def when(day: date | None) -> str:
        return to_db(day_start(day, guild_tz) + timedelta(hours=10)) if day else stamp

    tx.executemany(UPSERT_MEMBER, [
        (guild_id, p.user_id, "creator" if p.role in ("creator", "leaver") else "leader",
         p.timezone, p.locale, p.discord_locale, when(p.joined)) for p in plan.people])
    # leavers are not in the program any more (as ending a membership leaves them)
    tx.executemany("UPDATE members SET program_role = NULL WHERE guild_id = ? AND user_id = ?",
                   [(guild_id, p.user_id) for p in plan.people if p.role == "leaver"])
    made = []
    membership_rows = []
    agreements = []
    by_user: dict[int, int] = {}
    for family in plan.families:
        leader, co_leader = family["leader"], family["co_leader"]
        channel_id = channels(family["name"]) if channels is not None else None
        members = [leader, *([co_leader] if co_leader else []), *family["creators"],
                   *family["leavers"]]
        family_id = tx.execute(INSERT_FAMILY, (
            guild_id, family["name"], leader.user_id, co_leader.user_id if co_leader else None,
            None, channel_id, None, manager_id, when(min(p.joined for p in members if p.joined))))
        for p in members:
            by_user[p.user_id] = family_id
            signed = p.role != "creator" or rng.random() < 0.9  # some have not signed yet
            joined = when(p.joined)
            if signed:
                agreements.append((guild_id, p.user_id, AGREEMENT_VERSION, joined))
            ended = (when(p.left), rng.choice(("self", "self", "removed")),
                     rng.choice(LEAVE_REASONS), None, None) if p.left else (None,) * 5
            membership_rows.append((guild_id, family_id, p.user_id, joined,
                                    AGREEMENT_VERSION if signed else None,
                                    joined if signed else None, *ended))
        made.append(FamilyMade(
            family_id, family["name"], leader.user_id, co_leader.user_id if co_leader else None,
            tuple(p.user_id for p in family["creators"]),
            tuple(p.user_id for p in family["leavers"]), channel_id))
    tx.executemany(INSERT_MEMBERSHIP, membership_rows)
    tx.executemany(ACCEPT_AGREEMENT, agreements)
    # the family ids were not known when the check-ins were drawn
    rows = [replace(r, family_id=by_user[r.user_id]) for r in plan.checkins]
    write_checkins(tx, guild_id, rows, valid_day_hours)
    tier_ids = {}
    for name, rank, thresholds in TIERS:
        tier_ids[name] = tx.execute(INSERT_TIER, (
            guild_id, name, rank, thresholds.get("min_hours"), thresholds.get("min_diamonds"),
            thresholds.get("min_valid_days"), thresholds.get("min_followers"), stamp))
    feedback = _feedback(tx, guild_id, made, now, guild_tz, rng)
    campaign_id = _campaign(tx, guild_id, made, now, guild_tz, manager_id, rng)
    return made, tier_ids, campaign_id, feedback


def _feedback(tx: SyncTransaction, guild_id: int, families: list[FamilyMade], now: datetime,
              guild_tz: str, rng: random.Random) -> int:
    """Leaders answer about a third of the last two weeks' check-ins, within hours."""
    leaders = {f.id: [u for u in (f.leader_id, f.co_leader_id) if u] for f in families}
    since = (local_date(now, guild_tz) - timedelta(days=14)).isoformat()
    feedback, responses = [], []
    for row in tx.fetchall(RECENT_CHECKINS, (guild_id, since)):
        if rng.random() >= 0.35 or row["user_id"] in leaders[row["family_id"]]:
            continue
        made = datetime.fromisoformat(row["created_at"])
        given = made + timedelta(minutes=rng.randrange(5, 600))
        if given > now:
            continue
        leader = rng.choice(leaders[row["family_id"]])
        feedback.append((guild_id, row["id"], row["user_id"], leader, rng.choice(FEEDBACK),
                         to_db(given), to_db(given)))
        responses.append((row["id"], guild_id, row["family_id"], row["created_at"],
                          to_db(given), round((given - made).total_seconds() / 60, 2)))
    tx.executemany(INSERT_FEEDBACK, feedback)
    tx.executemany(INSERT_RESPONSE, responses)
    return len(feedback)


def _campaign(tx: SyncTransaction, guild_id: int, families: list[FamilyMade], now: datetime,
              guild_tz: str, manager_id: int, rng: random.Random) -> int | None:
    """A campaign running since 6 days ago for 20 days, on hours, opt-in: about two thirds
    of the creators enrolled. Its start announcement is not recorded, and its first reminder
    (midway) is days away."""
    today = local_date(now, guild_tz)
    first, last = today - timedelta(days=6), today + timedelta(days=13)
    starts, ends = day_start(first, guild_tz), day_start(last + timedelta(days=1), guild_tz)
    campaign_id = tx.execute(INSERT_CAMPAIGN, {
        "name": "Monthly push", "description": "Stream more this month!",
        "starts_at": to_db(starts), "ends_at": to_db(ends), "first_day": first.isoformat(),
        "last_day": last.isoformat(), "timezone": guild_tz, "audience": "all",
        "audience_ids": "[]", "metric": "hours", "target_creator": 30.0,
        "target_family": 250.0, "reward_text": "A shout-out", "reward_role_id": None,
        "enrolment": "optin", "reminders": "midway,3days,lastday", "guild_id": guild_id,
        "created_by": manager_id, "created_at": to_db(starts - timedelta(days=2)),
        "updated_at": to_db(starts - timedelta(days=2))})
    tx.execute("UPDATE campaigns SET state = 'running', scheduled_at = ?, started_at = ?"
               " WHERE id = ?", (to_db(starts - timedelta(days=1)), to_db(starts), campaign_id))
    enrolled = to_db(starts + timedelta(hours=3))
    tx.executemany(ENROL, [
        (campaign_id, guild_id, user_id, family.id, "button", enrolled)
        for family in families for user_id in family.member_ids if rng.random() < 0.65])
    return campaign_id


async def build(
    services: Services, size: str | Size = "program", *, guild_id: int = 1, seed: int = 15,
    now: datetime | None = None, timezone: str = "UTC", manager_id: int = 10,
    people: People | None = None, channels: Channels | None = None,
    first_user_id: int = 100_000,
) -> Program:
    """Make a program of ``size`` in ``guild_id``: one transaction of bulk writes, then the
    tier sweep of last month through :class:`TierService`.

    ``now`` (default: the services' clock) is the moment the program has reached: every
    check-in is at or before it. ``people`` makes each person on Discord (name, Discord
    language) and returns their user id (default: ids from ``first_user_id`` up);
    ``channels`` gives a family its channel (default: none). ``timezone`` is the server's
    zone when the guild is new (an existing guild keeps its own)."""
    dims = SIZES[size] if isinstance(size, str) else size
    now = now or services.clock.now()
    rng = random.Random(f"{seed}:{dims}")
    existing = await services.db.fetchval("SELECT timezone FROM guilds WHERE guild_id = ?",
                                          (guild_id,))
    guild_tz = existing or timezone
    plan = _plan(rng, dims, now, guild_tz, people or _sequential(first_user_id))
    hours = services.progress.valid_day_hours

    def write(tx: SyncTransaction) -> tuple[list[FamilyMade], dict[str, int], int | None, int]:
        # a big program's indexes do not fit SQLite's default page cache (2 MB): without
        # room, every batch of rows spills pages to the WAL again
        cache = tx.fetchval("PRAGMA cache_size")
        tx.execute(f"PRAGMA cache_size = {-min(500_000, 100 + len(plan.checkins) // 3)}")
        try:
            return _write(tx, guild_id, plan, now, guild_tz, manager_id, channels, hours, rng)
        finally:
            tx.execute(f"PRAGMA cache_size = {int(cache)}")

    made, tier_ids, campaign_id, feedback = await services.db.run(write)
    last_month = month(local_date(now, guild_tz).replace(day=1) - timedelta(days=1))
    await services.tiers.sweep(guild_id, manager_id, last_month)
    family_of = {u: f.id for f in made for u in (*f.member_ids, *f.leaver_ids)}
    people_made = {p.user_id: Person(p.user_id, p.name, p.role, family_of[p.user_id],
                                     p.locale, p.discord_locale, p.timezone, p.joined, p.left)
                   for p in plan.people}
    people_made[manager_id] = Person(manager_id, "manager", "manager", None, None, "en", None)
    return Program(guild_id, size if isinstance(size, str) else "custom", seed, now, guild_tz,
                   manager_id, made, people_made, tier_ids, campaign_id, len(plan.checkins),
                   feedback)

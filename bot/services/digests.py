"""Weekly digests by email: leaders (their family), managers (the program), creators (opt-in).

A sweep, woken every few minutes, picks the recipients whose digest moment (the guild's day
and hour in the recipient's own zone, or their own day) has passed since their last attempt,
caps each run, records ``attempted_at`` and queues one email per recipient and kind in the
same transaction. Empty digests are recorded as attempted and not sent. The dedupe key
``digest:<guild>:<user>:<kind>:<iso-week>`` makes a repeated sweep harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from bot.clock import Clock, from_db, to_db
from bot.db import Database
from bot.errors import UserError
from bot.localtime import at_local, iso_week, local_date, month
from bot.services import day_figures, population
from bot.services.audit import AuditLog
from bot.services.campaigns import arithmetic as cm
from bot.services.campaigns.models import Campaign
from bot.services.checkins import streak_now
from bot.services.email import EmailService
from bot.services.guilds import GuildService
from bot.services.kpis import KpiService
from bot.services.pace import month_totals, tier_paces
from bot.services.tiers import Progress, Tier

if TYPE_CHECKING:
    from bot.services.campaigns import CampaignService
    from bot.services.tiers import TierService

KINDS = ("digest_leader", "digest_manager", "digest_creator")
CHUNK = 200
# Is this person a program manager right now? (guild, user) → True/False, None when unknown.
ManagerCheck = Callable[[int, int], bool | None]
# How someone is called in a digest: (guild, user) → their display name, None when unknown.
Names = Callable[[int, int], str | None]
TOP = 3  # top performers in a leader's digest
SLIPPING = 10  # at most this many slipping members named in a leader's digest
_ZERO = {"checkins": 0, "hours": 0.0, "diamonds": 0, "followers": 0}


@dataclass(frozen=True)
class Schedule:
    day: int = 0  # Monday
    hour: int = 9


def due_at(now: datetime, tz: str, day: int, hour: int) -> datetime:
    """The latest local ``day`` at ``hour`` in ``tz`` that is not after ``now`` (UTC)."""
    today = local_date(now, tz)
    candidate = today - timedelta(days=(today.weekday() - day) % 7)
    moment = at_local(candidate, time(hour), tz)
    return moment if moment <= now else at_local(candidate - timedelta(days=7), time(hour), tz)


def _totals(rows: list[Any], this_week: int) -> dict[str, Any]:
    """A family's check-in totals of one week, from its members' rows."""
    mine = [r for r in rows if r["this_week"] == this_week]
    return {"checkins": sum(r["days"] for r in mine), "people": len(mine),
            "hours": sum(r["hours"] for r in mine), "diamonds": sum(r["diamonds"] for r in mine),
            "followers": sum(r["followers"] for r in mine)}


def _no_names(guild_id: int, user_id: int) -> str | None:
    return None


@dataclass(frozen=True)
class _Standings:
    """A running campaign as one sweep reads it once: participants → family and value, and
    the ranks of those with a value (ties shared, as on the campaign board)."""

    campaign: Campaign
    people: dict[int, int | None]
    values: dict[int, float]
    ranks: dict[int, int]

    def of(self, user_id: int) -> dict[str, Any]:
        """A participant's place, for their creator digest."""
        value = self.values.get(user_id, 0.0)
        target = self.campaign.target_creator
        return {"campaign": self.campaign, "value": value, "rank": self.ranks.get(user_id),
                "of": len(self.ranks), "reached": bool(target and value >= target)}


@dataclass
class _Sweep:
    """What one sweep looks up once and shares between its digests."""

    leaders: dict[tuple[int, int], Any]
    names: Names
    tiers: dict[int, list[Tier]] = field(default_factory=dict)
    campaigns: dict[int, list[_Standings]] = field(default_factory=dict)

    def person(self, guild_id: int, user_id: int) -> dict[str, Any]:
        return {"user_id": user_id, "name": self.names(guild_id, user_id)}


MOVES = 10  # tier changes a leader digest lists
POLICIES = 10  # policy documents a manager or creator digest lists


def _reading(status: Any) -> dict[str, Any]:
    """A policy version someone still has to acknowledge (a PolicyService Status)."""
    return {"title": status.document.title, "version": status.version.version,
            "deadline": status.version.ack_deadline.date(), "overdue": status.overdue}


def _progress(status: Any) -> dict[str, Any]:
    """How far a policy version's acknowledgements are (a PolicyService Status)."""
    done = len(status.acknowledged)
    return {**_reading(status), "done": done, "total": done + len(status.pending)}


class DigestService:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog, guilds: GuildService,
                 email: EmailService, kpis: KpiService, tiers: TierService | None = None,
                 campaigns: CampaignService | None = None, scorecard: Any = None,
                 policies: Any = None, onboarding: Any = None) -> None:
        self.scorecard = scorecard  # a ScorecardService: each family's score in the week
        self.policies = policies  # a PolicyService: acknowledgements asked with a deadline
        self.onboarding = onboarding  # an OnboardingService: the time-to-onboard KPI
        self.db = db
        self.clock = clock
        self.audit = audit
        self.guilds = guilds
        self.email = email
        self.kpis = kpis
        self.tiers = tiers
        self.campaigns = campaigns

    async def schedule(self, guild_id: int) -> Schedule:
        row = await self.db.fetchone(
            "SELECT digest_day, digest_hour FROM email_settings WHERE guild_id = ?", (guild_id,))
        return Schedule() if row is None else Schedule(row[0], row[1])

    async def set_schedule(self, guild_id: int, actor_id: int, day: int, hour: int) -> Schedule:
        if not 0 <= day <= 6 or not 0 <= hour <= 23:
            raise UserError("email.bad_day")
        async with self.db.transaction() as tx:
            await self.guilds.ensure(tx, guild_id)
            await tx.execute(
                "INSERT INTO email_settings (guild_id, digest_day, digest_hour, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET"
                " digest_day = excluded.digest_day, digest_hour = excluded.digest_hour,"
                " updated_at = excluded.updated_at",
                (guild_id, day, hour, to_db(self.clock.now())))
            await self.audit.record(tx, guild_id, actor_id, "email.schedule", None,
                                          day=day, hour=hour)
        return Schedule(day, hour)

    # -- the sweep -----------------------------------------------------------------------

    async def _recipients(self) -> list[Any]:
        return await self.db.fetchall(
            "SELECT a.guild_id, a.user_id, a.address, a.weekly_digest, a.verified_at,"
            " coalesce(a.digest_day, s.digest_day, 0) AS day, coalesce(s.digest_hour, 9) AS hour,"
            " coalesce(a.locale, m.locale, m.discord_locale, g.locale) AS locale,"
            " coalesce(m.timezone, g.timezone) AS tz, m.program_role, a.manager"
            " FROM email_addresses a JOIN members m USING (guild_id, user_id)"
            " JOIN guilds g USING (guild_id) LEFT JOIN email_settings s USING (guild_id)"
            " WHERE a.verified_at IS NOT NULL AND coalesce(a.weekly_digest, 1) = 1"
            " AND m.left_at IS NULL ORDER BY a.guild_id, a.user_id")

    async def _leaders(self) -> dict[tuple[int, int], Any]:
        rows = await self.db.fetchall(
            "SELECT id, guild_id, name, leader_user_id, co_leader_user_id FROM families"
            " WHERE archived_at IS NULL")
        found = {}
        for r in rows:
            for user in (r["leader_user_id"], r["co_leader_user_id"]):
                if user is not None:
                    found[(r["guild_id"], user)] = r
        return found

    async def sweep(self, cap: int = 200, is_manager: ManagerCheck | None = None,
                    names: Names | None = None) -> int:
        """Queue the digests that are due (at most ``cap`` recipients); returns how many
        emails were queued. ``is_manager(guild, user)`` says whether someone is a program
        manager now (None: unknown, keep what their address remembers); ``names(guild,
        user)`` is how people are called in the digests (their server display name)."""
        now = self.clock.now()
        leaders = await self._leaders()
        attempted = {(r[0], r[1], r[2]): from_db(r[3]) for r in await self.db.fetchall(
            "SELECT guild_id, user_id, kind, attempted_at FROM email_digest_log")}
        todo: list[tuple[Any, str, datetime]] = []
        stale: list[tuple[int, int, int]] = []
        for row in await self._recipients():
            kinds = []
            family = leaders.get((row["guild_id"], row["user_id"]))
            if family is not None:
                kinds.append("digest_leader")
            manager = bool(row["manager"])
            if is_manager is not None:
                now_manager = is_manager(row["guild_id"], row["user_id"])
                if now_manager is not None and now_manager != manager:
                    manager = now_manager
                    stale.append((int(manager), row["guild_id"], row["user_id"]))
            if manager or row["program_role"] == "manager":
                kinds.append("digest_manager")
            if row["program_role"] == "creator" and family is None and row["weekly_digest"]:
                kinds.append("digest_creator")  # opt-in: only when switched on
            if not kinds:
                continue
            moment = due_at(now, row["tz"], row["day"], row["hour"])
            if moment < from_db(row["verified_at"]):
                continue
            for kind in kinds:
                last = attempted.get((row["guild_id"], row["user_id"], kind))
                if last is None or last < moment:
                    todo.append((row, kind, moment))
            if len(todo) >= cap:
                break
        if stale:
            async with self.db.transaction() as tx:
                await tx.executemany(
                    "UPDATE email_addresses SET manager = ? WHERE guild_id = ? AND user_id = ?",
                    stale)
        return await self._queue(todo, _Sweep(leaders, names or _no_names), now)

    async def _queue(self, todo: list, sweep: _Sweep, now: datetime) -> int:
        """Contents, rendering and queueing chunk by chunk, as a pipeline: the next chunk
        renders (in the rendering workers) while this one is written and sent."""
        queued = 0
        pending: tuple[list, asyncio.Future] | None = None
        try:
            for start in range(0, len(todo), CHUNK):
                log_rows, items = await self._prepare(todo[start:start + CHUNK], sweep, now)
                rendering = asyncio.ensure_future(self.email.render_many(items))
                if pending is not None:
                    queued += await self._store(*pending)
                pending = (log_rows, rendering)
            if pending is not None:
                queued += await self._store(*pending)
                pending = None
        finally:
            if pending is not None:
                pending[1].cancel()
        return queued

    async def _prepare(self, chunk, sweep: _Sweep, now: datetime) -> tuple[list, list]:
        """The digest log rows of a chunk and the emails to render (empty digests have a log
        row but no email: they are not sent)."""
        contents = await self._creators(chunk, sweep)
        for i, (row, kind, moment) in enumerate(chunk):
            if kind != "digest_creator":
                contents[i] = await self._content(row, kind, moment, sweep)
        log_rows, items = [], []
        for (row, kind, moment), content in zip(chunk, contents, strict=True):
            g, u = row["guild_id"], row["user_id"]
            week = iso_week(local_date(moment, row["tz"]))
            log_rows.append((g, u, kind, to_db(now), week))
            if content is not None:
                items.append((g, u, row["address"], kind, f"digest:{g}:{u}:{kind}:{week}",
                              row["locale"], content))
        return log_rows, items

    async def _store(self, log_rows: list, rendering: asyncio.Future) -> int:
        emails = await rendering
        async with self.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO email_digest_log (guild_id, user_id, kind, attempted_at, week)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id, kind) DO UPDATE SET"
                " attempted_at = excluded.attempted_at, week = excluded.week", log_rows)
            queued = await self.email.queue_rendered(tx, emails)
        self.email.on_queued()
        return queued

    # -- shared look-ups (once per sweep) ---------------------------------------------------

    async def _tiers(self, sweep: _Sweep, guild_id: int) -> list[Tier]:
        if self.tiers is None:
            return []
        if guild_id not in sweep.tiers:
            sweep.tiers[guild_id] = await self.tiers.list_tiers(guild_id)
        return sweep.tiers[guild_id]

    async def _campaigns(self, sweep: _Sweep, guild_id: int) -> list[_Standings]:
        """The guild's running campaigns and their standings."""
        if self.campaigns is None:
            return []
        if guild_id not in sweep.campaigns:
            found = []
            for campaign in await self.campaigns.list_campaigns(guild_id, ("running",)):
                standing = await self.campaigns.standings(campaign)
                people, values = standing.people, standing.values
                ranks = {u: rank for rank, u, _ in cm.ranked(values)}
                found.append(_Standings(campaign, people, values, ranks))
            sweep.campaigns[guild_id] = found
        return sweep.campaigns[guild_id]

    # -- contents ------------------------------------------------------------------------

    async def _creators(self, chunk, sweep: _Sweep) -> list[dict | None]:
        """Creator digests of a chunk, with a few queries per guild and digest week."""
        contents: list[dict | None] = [None] * len(chunk)
        groups: dict[tuple[int, date], list[int]] = {}
        for i, (row, kind, moment) in enumerate(chunk):
            if kind == "digest_creator":
                first = local_date(moment, row["tz"]) - timedelta(days=7)
                groups.setdefault((row["guild_id"], first), []).append(i)
        for (g, first), indexes in groups.items():
            last = first + timedelta(days=6)
            users = [chunk[i][0]["user_id"] for i in indexes]
            marks = ",".join("?" * len(users))
            totals: dict[tuple[int, int], dict] = {}
            table, days = await day_figures.checkins_or_figures(
                self.db, g, first - timedelta(days=7), last)
            for r in await self.db.fetchall(
                f"SELECT user_id, local_date >= ? AS this_week, {days} AS checkins,"
                " sum(hours) AS hours, sum(diamonds) AS diamonds, sum(followers) AS followers"
                f" FROM {table} WHERE guild_id = ? AND user_id IN ({marks})"
                " AND local_date BETWEEN ? AND ? GROUP BY user_id, this_week",
                (first.isoformat(), g, *users, (first - timedelta(days=7)).isoformat(),
                 last.isoformat()),
            ):
                totals[(r["user_id"], r["this_week"])] = dict(r)
            streaks = await self._streaks(g, users, marks, last + timedelta(days=1))
            paces = await self._paces(sweep, g, users, last)
            rule = await population.rule_of(self.db, g)
            campaigns = await self._campaigns(sweep, g)
            to_read = await self.policies.to_read(g, users) if self.policies else {}
            for i, user in zip(indexes, users, strict=True):
                week, prev = totals.get((user, 1), _ZERO), totals.get((user, 0), _ZERO)
                if not (week["checkins"] or prev["checkins"]):
                    continue
                contents[i] = {
                    "start": first, "end": last, "week": week, "prev": prev, "counted": rule,
                    "streak": streaks.get(user, 0), "pace": paces.get(user),
                    "campaigns": [c.of(user) for c in campaigns if user in c.people],
                    "to_read": [_reading(st) for st in to_read.get(user, [])[:POLICIES]]}
        return contents

    async def _streaks(self, guild_id: int, users: list[int], marks: str, today: date
                       ) -> dict[int, int]:
        """Each creator's current streak on ``today`` (the digest day, their own): the stored
        one, broken if the days missed since its last write break it (the streak rule), read
        with the check-in days from that write's week on (a few rows each)."""
        rest = await self.db.fetchval(
            "SELECT rest_days FROM checkin_settings WHERE guild_id = ?", (guild_id,))
        stored: dict[int, tuple[int, date]] = {}
        recent: dict[int, set[date]] = {}
        for r in await self.db.fetchall(
            "SELECT s.user_id, s.current, s.last_date, c.local_date FROM checkin_streaks s"
            " LEFT JOIN checkins c ON c.guild_id = s.guild_id AND c.user_id = s.user_id"
            " AND c.local_date BETWEEN date(s.last_date, 'weekday 0', '-6 days') AND ?"
            f" WHERE s.guild_id = ? AND s.user_id IN ({marks})",
            (today.isoformat(), guild_id, *users),
        ):
            stored[r["user_id"]] = (r["current"], date.fromisoformat(r["last_date"]))
            if r["local_date"] is not None:
                recent.setdefault(r["user_id"], set()).add(date.fromisoformat(r["local_date"]))
        return {user: streak_now(current, as_of, recent.get(user, set()), today,
                                 1 if rest is None else rest)
                for user, (current, as_of) in stored.items()}

    async def _paces(self, sweep: _Sweep, guild_id: int, users: list[int], day: date
                     ) -> dict[int, dict]:
        """Each creator's month pace on ``day`` towards the tier above theirs (or, at the
        top, the one they hold): {"tier", "held", "paces": [Pace…]}."""
        tiers = await self._tiers(sweep, guild_id)
        if not tiers or not users:
            return {}
        marks = ",".join("?" * len(users))
        held = dict(await self.db.fetchall(
            f"SELECT user_id, tier_id FROM member_tiers WHERE guild_id = ?"
            f" AND user_id IN ({marks})", (guild_id, *users)))
        progress = await month_totals(self.db, guild_id, users, month(day))
        out = {}
        for user in users:
            mine = next((t for t in tiers if t.id == held.get(user)), None)
            above = [t for t in tiers if mine is None or t.rank > mine.rank]
            target = above[0] if above else mine
            if target is None:
                continue
            paces = tier_paces(progress.get(user, Progress()), target, day)
            if paces:
                out[user] = {"tier": target.name, "held": target is mine, "paces": paces}
        return out

    async def _content(self, row, kind: str, moment: datetime, sweep: _Sweep) -> dict | None:
        end = moment
        start, before = end - timedelta(days=7), end - timedelta(days=14)
        first = local_date(end, row["tz"]) - timedelta(days=7)
        base = {"start": first, "end": first + timedelta(days=6)}
        g, u = row["guild_id"], row["user_id"]
        if kind == "digest_leader":
            family = sweep.leaders[(g, u)]
            return await self._leader(g, family, start, end, before, base, sweep)
        if kind == "digest_manager":
            return await self._manager(g, start, end, before, base)
        raise ValueError(kind)  # creators: see _creators (batched)

    async def _checkin_totals(self, g: int, where: str, params: tuple, first: date
                              ) -> tuple[dict, dict]:
        """Check-in totals of the local days ``first``..+6 and of the 7 days before (their
        figures by the guild's sources: bot/services/day_figures.py)."""
        table, days = await day_figures.checkins_or_figures(
            self.db, g, first - timedelta(days=7), first + timedelta(days=6))
        rows = await self.db.fetchall(
            f"SELECT local_date >= ? AS this_week, {days} AS checkins,"
            " count(DISTINCT user_id) AS people, coalesce(sum(hours), 0) AS hours,"
            " coalesce(sum(diamonds), 0) AS diamonds, coalesce(sum(followers), 0) AS followers"
            f" FROM {table} WHERE {where} AND local_date BETWEEN ? AND ? GROUP BY this_week",
            (first.isoformat(), *params, (first - timedelta(days=7)).isoformat(),
             (first + timedelta(days=6)).isoformat()))
        found = {r["this_week"]: dict(r) for r in rows}
        empty = {**_ZERO, "people": 0}
        return found.get(1, empty), found.get(0, empty)

    async def _leader(self, g, family, start, end, before, base, sweep: _Sweep) -> dict | None:
        stats = await self.kpis.family_stats(g, family["id"], start, end)
        prev = await self.kpis.family_stats(g, family["id"], before, start)
        pending = await self.db.fetchval(
            "SELECT count(*) FROM family_requests WHERE family_id = ? AND status = 'pending'",
            (family["id"],))
        rows = await self._member_weeks(g, family["id"], base["start"])
        week, last = _totals(rows, 1), _totals(rows, 0)
        if not (week["checkins"] or last["checkins"] or stats.joins or stats.leaves or pending):
            return None  # nothing happened in two weeks: an empty digest is not sent
        checkins = daily = None
        if week["checkins"] or last["checkins"]:
            daily = await self._daily_hours(g, family["id"], base["start"])
            rate = await self._rate(g, family["id"], base["start"], base["end"], rows)
            checkins = {"count": week["checkins"], "rate": rate,
                        "hours": week["hours"], "diamonds": week["diamonds"],
                        "prev_count": last["checkins"], "prev_hours": last["hours"],
                        "prev_diamonds": last["diamonds"]}
        top, slipping = await self._top_and_slipping(g, family, rows, start, sweep)
        campaigns = []
        for c in await self._campaigns(sweep, g):
            if family["id"] in c.people.values():
                campaigns.append(await self.campaigns.family_standing(  # type: ignore[union-attr]
                    c.campaign, family["id"], c.people, c.values))
        moves = [{**sweep.person(g, m.user_id), "old": m.old, "new": m.new,
                  "promotion": m.promotion}  # the week's promotions and demotions
                 for m in (await self.tiers.moves(g, start, family_id=family["id"])
                           if self.tiers else [])[:MOVES]]
        return {**base, "family": family["name"], "stats": stats, "prev": prev, "moves": moves,
                "counted": stats.counted,
                "pending": pending, "checkins": checkins, "daily": daily, "top": top,
                "slipping": slipping[:SLIPPING], "more_slipping": max(0, len(slipping) - SLIPPING),
                "campaigns": campaigns}

    async def _rate(self, guild_id: int, family_id: int | None, first: date, last: date,
                    rows: list[Any] | None = None) -> float:
        """Check-in days of the people who count ÷ the days they could have checked in
        (:mod:`bot.services.population`), over the local days ``first..last``. ``rows``: the
        family's :meth:`_member_weeks`, when already read."""
        counted = await population.population(self.db, guild_id, first, last, days=True)
        possible = await population.possible_days(self.db, guild_id, family_id, first, last,
                                                  counted)
        if rows is None:
            rows = await self.db.fetchall(
                "SELECT user_id, 1 AS this_week, count(*) AS days FROM checkins"
                " WHERE guild_id = ? AND family_id IS NOT NULL AND local_date BETWEEN ? AND ?"
                " GROUP BY user_id", (guild_id, first.isoformat(), last.isoformat()))
        done = sum(r["days"] for r in rows
                   if r["this_week"] and counted.counts_values(r["user_id"]))
        return min(1.0, done / possible) if possible else 0.0

    async def _member_weeks(self, g: int, family_id: int, first: date) -> list[Any]:
        """Each member's check-ins in the family over the local days ``first``..+6
        (``this_week`` 1) and the 7 days before (0), their figures by the guild's sources."""
        table, days = await day_figures.checkins_or_figures(
            self.db, g, first - timedelta(days=7), first + timedelta(days=6))
        return await self.db.fetchall(
            f"SELECT user_id, local_date >= ? AS this_week, {days} AS days,"
            " sum(hours) AS hours, sum(diamonds) AS diamonds, sum(followers) AS followers"
            f" FROM {table} WHERE family_id = ? AND local_date BETWEEN ? AND ?"
            " GROUP BY user_id, this_week",
            (first.isoformat(), family_id, (first - timedelta(days=7)).isoformat(),
             (first + timedelta(days=6)).isoformat()))

    async def _top_and_slipping(self, g, family, rows: list[Any], start: datetime,
                                sweep: _Sweep) -> tuple[list[dict], list[dict]]:
        """The family's top performers of the week (by hours live), and who is slipping: a
        member (not a leader) there since before the week who checked in on fewer days than
        the week before, or on none."""
        days = {(r["user_id"], r["this_week"]): r["days"] for r in rows}
        top = sorted((r for r in rows if r["this_week"] and r["hours"] > 0),
                     key=lambda r: (-r["hours"], -r["diamonds"], r["user_id"]))[:TOP]
        leaders = {family["leader_user_id"], family["co_leader_user_id"]}
        members = await self.db.fetchall(
            "SELECT user_id FROM family_members WHERE family_id = ? AND left_at IS NULL"
            " AND joined_at < ? ORDER BY user_id", (family["id"], to_db(start)))
        slipping = []
        for m in members:
            if m["user_id"] in leaders:
                continue
            now, was = days.get((m["user_id"], 1), 0), days.get((m["user_id"], 0), 0)
            if now == 0 or now < was:
                slipping.append({**sweep.person(g, m["user_id"]), "days": now, "before": was})
        slipping.sort(key=lambda p: (p["days"], -p["before"], p["user_id"]))
        return ([{**sweep.person(g, r["user_id"]), "hours": r["hours"],
                  "diamonds": r["diamonds"], "days": r["days"]} for r in top], slipping)

    async def _daily_hours(self, g: int, family_id: int, first: date) -> dict[str, list]:
        """The family's hours live per local day of the digest's week and the week before
        (the leader digest's chart), by the guild's sources."""
        table, _ = await day_figures.checkins_or_figures(
            self.db, g, first - timedelta(days=7), first + timedelta(days=6))
        rows = await self.db.fetchall(
            f"SELECT local_date, sum(hours) AS hours FROM {table} WHERE family_id = ? AND"
            " local_date >= ? AND local_date < ? GROUP BY local_date",
            (family_id, (first - timedelta(days=7)).isoformat(),
             (first + timedelta(days=7)).isoformat()))
        hours = {r["local_date"]: r["hours"] for r in rows}
        days = [first + timedelta(days=i) for i in range(7)]
        return {"days": days, "hours": [hours.get(d.isoformat(), 0.0) for d in days],
                "prev_hours": [hours.get((d - timedelta(days=7)).isoformat(), 0.0)
                               for d in days]}

    async def _manager(self, g, start, end, before, base) -> dict | None:
        families = await self.db.fetchall(
            "SELECT id, name FROM families WHERE guild_id = ? AND archived_at IS NULL", (g,))
        if not families:
            return None
        stats = await self.kpis.family_stats(g, None, start, end)
        week, last = await self._checkin_totals(g, "guild_id = ?", (g,), base["start"])
        if not (week["checkins"] or last["checkins"] or stats.joins or stats.leaves):
            return None  # a quiet program: nothing to report
        prev = await self.kpis.family_stats(g, None, before, start)
        ranked = []
        for f in families:
            s = await self.kpis.family_stats(g, f["id"], start, end)
            hours, _ = await self._checkin_totals(g, "family_id = ?", (f["id"],),
                                                    base["start"])
            ranked.append({"name": f["name"], "members": s.members, "joins": s.joins,
                           "leaves": s.leaves,
                           "hours": hours["hours"] if hours["checkins"] else None})
        if self.scorecard is not None:  # the family's score and rank over the same week
            cards = await self.scorecard.week_cards(g, base["start"], base["end"], start, end)
            for f, row in zip(ranked, families, strict=True):
                card = cards.get(row["id"])
                f["score"], f["rank"] = (card.score, card.rank) if card else (None, None)
        ranked.sort(key=lambda f: (-f["members"], -(f["hours"] or 0), f["name"]))
        quality = await self.kpis.quality(g, None, start, end)
        policies = await self.policies.open_deadlines(g) if self.policies else []
        onboarded = (await self.onboarding.time_to_onboard(g, start, end)
                     if self.onboarding else None)
        return {**base, "policies": [_progress(st) for st in policies[:POLICIES]],
                "onboarded": onboarded,
                "stats": stats, "prev": prev, "families": ranked,
                "week": week, "last": last, "counted": stats.counted,
                "rate": await self._rate(g, None, base["start"], base["end"]),
                "quality": quality if quality.checkins else None}


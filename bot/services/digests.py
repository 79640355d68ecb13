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
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from statistics import median
from typing import Any

from bot.clock import Clock, from_db, to_db
from bot.db import Database
from bot.errors import UserError
from bot.localtime import at_local, iso_week, local_date
from bot.services.email import EmailService
from bot.services.kpis import KpiService

KINDS = ("digest_leader", "digest_manager", "digest_creator")
CHUNK = 200
# Is this person a program manager right now? (guild, user) → True/False, None when unknown.
ManagerCheck = Callable[[int, int], bool | None]
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


class DigestService:
    def __init__(self, db: Database, clock: Clock, email: EmailService, kpis: KpiService
                 ) -> None:
        self.db = db
        self.clock = clock
        self.email = email
        self.kpis = kpis

    async def schedule(self, guild_id: int) -> Schedule:
        row = await self.db.fetchone(
            "SELECT digest_day, digest_hour FROM email_settings WHERE guild_id = ?", (guild_id,))
        return Schedule() if row is None else Schedule(row[0], row[1])

    async def set_schedule(self, guild_id: int, actor_id: int, day: int, hour: int) -> Schedule:
        if not 0 <= day <= 6 or not 0 <= hour <= 23:
            raise UserError("email.bad_day")
        async with self.db.transaction() as tx:
            await self.email.members.guilds.ensure(tx, guild_id)
            await tx.execute(
                "INSERT INTO email_settings (guild_id, digest_day, digest_hour, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET"
                " digest_day = excluded.digest_day, digest_hour = excluded.digest_hour,"
                " updated_at = excluded.updated_at",
                (guild_id, day, hour, to_db(self.clock.now())))
            await self.email.audit.record(tx, guild_id, actor_id, "email.schedule", None,
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

    async def sweep(self, cap: int = 200, is_manager: ManagerCheck | None = None) -> int:
        """Queue the digests that are due (at most ``cap`` recipients); returns how many
        emails were queued. ``is_manager(guild, user)`` says whether someone is a program
        manager now (None: unknown, keep what their address remembers)."""
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
        return await self._queue(todo, leaders, now)

    async def _queue(self, todo: list, leaders, now: datetime) -> int:
        """Contents, rendering and queueing chunk by chunk, as a pipeline: the next chunk
        renders (in the rendering workers) while this one is written and sent."""
        queued = 0
        pending: tuple[list, asyncio.Future] | None = None
        try:
            for start in range(0, len(todo), CHUNK):
                log_rows, items = await self._prepare(todo[start:start + CHUNK], leaders, now)
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

    async def _prepare(self, chunk, leaders, now: datetime) -> tuple[list, list]:
        """The digest log rows of a chunk and the emails to render (empty digests have a log
        row but no email: they are not sent)."""
        contents = await self._creators(chunk)
        for i, (row, kind, moment) in enumerate(chunk):
            if kind != "digest_creator":
                contents[i] = await self._content(row, kind, moment, leaders)
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

    async def _creators(self, chunk) -> list[dict | None]:
        """Creator digests of a chunk, with one query per guild and digest moment."""
        contents: list[dict | None] = [None] * len(chunk)
        groups: dict[tuple[int, datetime], list[int]] = {}
        for i, (row, kind, moment) in enumerate(chunk):
            if kind == "digest_creator":
                groups.setdefault((row["guild_id"], moment), []).append(i)
        for (g, end), indexes in groups.items():
            start, before = end - timedelta(days=7), end - timedelta(days=14)
            users = [chunk[i][0]["user_id"] for i in indexes]
            marks = ",".join("?" * len(users))
            totals: dict[tuple[int, int], dict] = {}
            # ``+created_at``: look the users up by (guild, user) — a few rows each — rather
            # than scanning the whole guild's fortnight once per chunk.
            for r in await self.db.fetchall(
                "SELECT user_id, created_at >= ? AS this_week, count(*) AS checkins,"
                " sum(hours) AS hours, sum(diamonds) AS diamonds, sum(followers) AS followers"
                f" FROM checkins WHERE guild_id = ? AND user_id IN ({marks})"
                " AND +created_at >= ? AND +created_at < ? GROUP BY user_id, this_week",
                (to_db(start), g, *users, to_db(before), to_db(end)),
            ):
                totals[(r["user_id"], r["this_week"])] = dict(r)
            streaks = dict(await self.db.fetchall(
                f"SELECT user_id, current FROM checkin_streaks WHERE guild_id = ?"
                f" AND user_id IN ({marks})", (g, *users)))
            for i, user in zip(indexes, users, strict=True):
                week, prev = totals.get((user, 1), _ZERO), totals.get((user, 0), _ZERO)
                if not (week["checkins"] or prev["checkins"]):
                    continue
                tz = chunk[i][0]["tz"]
                contents[i] = {
                    "start": local_date(start, tz),
                    "end": local_date(end, tz) - timedelta(days=1),
                    "week": week, "prev": prev, "streak": streaks.get(user, 0)}
        return contents

    # -- contents ------------------------------------------------------------------------

    async def _content(self, row, kind: str, moment: datetime, leaders) -> dict | None:
        end = moment
        start, before = end - timedelta(days=7), end - timedelta(days=14)
        tz = row["tz"]
        base = {"start": local_date(start, tz), "end": local_date(end, tz) - timedelta(days=1)}
        g, u = row["guild_id"], row["user_id"]
        if kind == "digest_leader":
            family = leaders[(g, u)]
            return await self._leader(g, family, start, end, before, base)
        if kind == "digest_manager":
            return await self._manager(g, start, end, before, base)
        raise ValueError(kind)  # creators: see _creators (batched)

    async def _checkin_totals(self, where: str, params: tuple, start: datetime, end: datetime
                              ) -> dict:
        row = await self.db.fetchone(
            "SELECT count(*) AS checkins, coalesce(sum(hours), 0) AS hours,"
            " coalesce(sum(diamonds), 0) AS diamonds, coalesce(sum(followers), 0) AS followers"
            f" FROM checkins WHERE {where} AND created_at >= ? AND created_at < ?",
            (*params, to_db(start), to_db(end)))
        return dict(row)

    async def _leader(self, g, family, start, end, before, base) -> dict | None:
        stats = await self.kpis.family_stats(g, family["id"], start, end)
        prev = await self.kpis.family_stats(g, family["id"], before, start)
        pending = await self.db.fetchval(
            "SELECT count(*) FROM family_requests WHERE family_id = ? AND status = 'pending'",
            (family["id"],))
        if not (stats.members or stats.joins or stats.leaves or pending):
            return None
        week = await self._checkin_totals("family_id = ?", (family["id"],), start, end)
        last = await self._checkin_totals("family_id = ?", (family["id"],), before, start)
        checkins = daily = None
        if week["checkins"] or last["checkins"]:
            daily = await self._daily_hours(family["id"], base["start"])
            possible = max(1, stats.members * 7)
            checkins = {"count": week["checkins"], "rate": min(1.0, week["checkins"] / possible),
                        "hours": week["hours"], "diamonds": week["diamonds"],
                        "prev_count": last["checkins"], "prev_hours": last["hours"],
                        "prev_diamonds": last["diamonds"]}
        return {**base, "family": family["name"], "stats": stats, "prev": prev,
                "pending": pending, "checkins": checkins, "daily": daily}

    async def _daily_hours(self, family_id: int, first: date) -> dict[str, list]:
        """The family's hours live per local day of the digest's week and the week before
        (the leader digest's chart)."""
        rows = await self.db.fetchall(
            "SELECT local_date, sum(hours) AS hours FROM checkins WHERE family_id = ? AND"
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
        prev = await self.kpis.family_stats(g, None, before, start)
        ranked = []
        for f in families:
            s = await self.kpis.family_stats(g, f["id"], start, end)
            hours = await self._checkin_totals("family_id = ?", (f["id"],), start, end)
            ranked.append({"name": f["name"], "members": s.members, "joins": s.joins,
                           "leaves": s.leaves,
                           "hours": hours["hours"] if hours["checkins"] else None})
        ranked.sort(key=lambda f: (-f["members"], -(f["hours"] or 0), f["name"]))
        total = (await self._checkin_totals("guild_id = ?", (g,), start, end))["checkins"]
        minutes = [r[0] for r in await self.db.fetchall(
            "SELECT minutes FROM checkin_response WHERE guild_id = ? AND checkin_at >= ?"
            " AND checkin_at < ?", (g, to_db(start), to_db(end)))]
        quality = None
        if total:
            quality = {"answered": len(minutes), "total": total,
                       "median_minutes": round(median(minutes)) if minutes else 0}
        return {**base, "stats": stats, "prev": prev, "families": ranked, "quality": quality}

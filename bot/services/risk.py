"""Risk flags: a daily sweep raises each flag once per episode, with the figures that raised it.

**Episodes.** A flag is about a kind and a subject (a creator, a family; an unusual day's
earnings also name the day). It lives from the sweep that first sees it until a sweep no
longer does (``cleared_at``). The database holds at most one live flag per guild, kind and
subject (a partial unique index), so two sweeps, a sweep after a restart or two processes
never raise it twice; a flag acknowledged, resolved or dismissed stays so while its episode
lasts, and only a new episode (the condition gone, then back) raises a new flag.

**Kinds** (thresholds: guild settings, :mod:`bot.services.risk_settings`; README, *Insights*).
The sweep looks at the guild's last 7 complete local days (``D-7..D-1``):

- *sudden drop*: a creator's daily mean of hours (or diamonds) over those 7 days is below the
  median of their own 28 days before by ``drop_mads`` scaled median absolute deviations (at
  least a tenth of the median) and below ``drop_share`` of it; only with
  ``drop_min_baseline_days`` check-in days in the 28 (newcomers are never flagged);
- *gone quiet*: an active creator (in the program for ``quiet_days`` days at least) with no
  check-in and no imported stats for ``quiet_days`` days;
- *streak broken*: a stored streak of ``streak_min`` days or more whose last check-in is older
  than the rest days allow (the leaderboards' streak rule);
- *mismatch*: self-reported weekly hours or diamonds and imported ones differ by more than
  ``mismatch_tolerance``. Imported stats are the stats import's daily rows (``/stats import``,
  bot/services/platform_stats.py), read by :func:`imported_week` alone;
- *unusual earnings*: a day's diamonds at least ``earnings_factor`` times the creator's median
  day (of days with diamonds in the 60 days before, at least ``earnings_min_history`` of them)
  and the family's, and at least ``earnings_min``: a case for a monetisation-policy review;
- *family at risk*: over the last 30 days, attrition above ``family_attrition`` or a feedback
  rate below ``family_feedback`` (with 10 check-ins at least), from the figures of
  ``/family stats``.

Creators are the active members who do not lead a family. New flags go once to the managers'
channel (``managers_told_at``, set in the transaction that queues the post) and once to the
family leader's daily summary (``summary_id``: the summary that listed it).
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any

from bot.clock import Clock, from_db, to_db
from bot.db import Database, Transaction
from bot.delivery.queue import DeliveryQueue, Send
from bot.errors import NotAllowed, NotFound, UserError
from bot.localtime import day_start, local_date
from bot.services import bounds
from bot.services.audit import AuditLog
from bot.services.guilds import GuildService
from bot.services.kpis import KpiService
from bot.services.risk_settings import InsightSettings

KINDS = ("sudden_drop", "gone_quiet", "streak_broken", "mismatch", "unusual_earnings",
         "family_at_risk")
ACTIONS = {"acknowledge": "acknowledged", "resolve": "resolved", "dismiss": "dismissed"}
LIVE_STATES = ("open", "acknowledged")
WINDOW, BASELINE, HISTORY = 7, 28, 60  # days
FAMILY_DAYS = 30
FAMILY_MIN_CHECKINS = 10
MAD_SCALE = 1.4826  # a normal distribution's standard deviation ÷ its MAD
NOTE_MAX = 500
LISTED = 25  # flags a /risk list page shows

# Active members who lead no family, with their family and when they joined.
CREATORS = (
    "SELECT fm.user_id, fm.family_id, fm.joined_at FROM family_members fm"
    " WHERE fm.guild_id = ?1 AND fm.left_at IS NULL AND fm.user_id NOT IN ("
    " SELECT leader_user_id FROM families WHERE guild_id = ?1"
    " AND leader_user_id IS NOT NULL UNION SELECT co_leader_user_id FROM families"
    " WHERE guild_id = ?1 AND co_leader_user_id IS NOT NULL)"
)
# The sweep's reads, narrowed in SQL to the creators who may be flagged (named parameters).
# Creators with the day of their last check-in (an index probe each).
CREATORS_LAST = (
    "SELECT fm.user_id, fm.family_id, fm.joined_at, (SELECT max(c.local_date) FROM checkins c"
    " WHERE c.guild_id = fm.guild_id AND c.user_id = fm.user_id) AS last"
    " FROM family_members fm WHERE fm.guild_id = :g AND fm.left_at IS NULL"
    " AND fm.user_id NOT IN (SELECT leader_user_id FROM families WHERE guild_id = :g"
    " AND leader_user_id IS NOT NULL UNION SELECT co_leader_user_id FROM families"
    " WHERE guild_id = :g AND co_leader_user_id IS NOT NULL)"
)
# Who may have dropped. A drop needs a baseline median above zero (check-ins on at least half
# the baseline's days) and a recent mean at most (1 − share) × the median, which is at most the
# baseline's sum ÷ (its days ÷ 2) for values of zero or more: every creator :func:`_drop` could
# flag passes, most others do not (with the creators who have imported stats, for *mismatch*).
# One pass over the days, sums only.
MAY_DROP = """
    SELECT user_id FROM checkins WHERE guild_id = :g AND local_date BETWEEN :b0 AND :w1
    GROUP BY user_id HAVING user_id IN (SELECT value FROM json_each(:imported)) OR (
        sum(local_date < :w0) >= :least AND (
            total(CASE WHEN local_date >= :w0 THEN hours END) / :window
              <= total(CASE WHEN local_date < :w0 THEN hours END) / :half * (1 - :share)
            OR total(CASE WHEN local_date >= :w0 THEN diamonds END) / :window
              <= total(CASE WHEN local_date < :w0 THEN diamonds END) / :half * (1 - :share)))"""
# Their days (``date|hours|diamonds;…``), each creator's read from their own index range
# (ids: a JSON array).
DROP_DAYS = """
    SELECT user_id, group_concat(local_date || '|' || hours || '|' || diamonds, ';') AS days
    FROM checkins WHERE guild_id = :g AND user_id IN (SELECT value FROM json_each(:ids))
    AND local_date BETWEEN :b0 AND :w1 GROUP BY user_id"""
# Days of the window with enough diamonds to be unusual.
BIG_DAYS = (
    "SELECT user_id, local_date, diamonds FROM checkins WHERE guild_id = :g"
    " AND local_date BETWEEN :w0 AND :w1 AND diamonds >= :least AND diamonds > 0"
)
# Median day with diamonds over the history, per creator or per family (ids: a JSON array).
_MEDIAN = """
    WITH h AS (
        SELECT {key} AS k, diamonds, row_number() OVER (PARTITION BY {key} ORDER BY diamonds)
               AS i, count(*) OVER (PARTITION BY {key}) AS n
        FROM checkins WHERE {where} AND local_date BETWEEN :h0 AND :h1 AND diamonds > 0)
    SELECT k, max(n) AS n, avg(diamonds) AS med FROM h
    WHERE i IN ((n + 1) / 2, (n + 2) / 2) GROUP BY k"""
CREATOR_MEDIANS = _MEDIAN.format(
    key="user_id", where="guild_id = :g AND user_id IN (SELECT value FROM json_each(:ids))")
FAMILY_MEDIANS = _MEDIAN.format(
    key="family_id", where="family_id IN (SELECT value FROM json_each(:ids))")
STREAKS = (
    "SELECT user_id, current, last_date FROM checkin_streaks WHERE guild_id = ?"
    " AND current >= ? AND last_date < ?"
)
REST_DAYS = "SELECT rest_days FROM checkin_settings WHERE guild_id = ?"
RAISE = (
    "INSERT OR IGNORE INTO risk_flags (guild_id, kind, subject, user_id, family_id, figures,"
    " raised_at, raised_day) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
FLAG_COLUMNS = (
    "id, kind, subject, user_id, family_id, figures, state, raised_at, raised_day,"
    " cleared_at, acted_by, acted_at, note"
)


@dataclass(frozen=True)
class Flag:
    id: int
    kind: str
    subject: str
    user_id: int | None
    family_id: int | None
    figures: dict[str, Any]
    state: str
    raised_at: datetime
    raised_day: date
    cleared_at: datetime | None
    acted_by: int | None
    acted_at: datetime | None
    note: str | None

    @classmethod
    def of(cls, row: Any) -> Flag:
        return cls(
            row["id"], row["kind"], row["subject"], row["user_id"], row["family_id"],
            json.loads(row["figures"]), row["state"], from_db(row["raised_at"]),
            date.fromisoformat(row["raised_day"]),
            from_db(row["cleared_at"]) if row["cleared_at"] else None, row["acted_by"],
            from_db(row["acted_at"]) if row["acted_at"] else None, row["note"])


@dataclass(frozen=True)
class Raised:
    """A flag a sweep sees (raised unless its episode is live already)."""

    kind: str
    subject: str
    user_id: int | None
    family_id: int | None
    figures: dict[str, Any]


# Imported daily platform figures per creator over local days first..last.
IMPORTED_DAYS = (
    "SELECT user_id, sum(hours) AS hours, sum(diamonds) AS diamonds"
    " FROM platform_stats WHERE guild_id = ? AND period_kind = 'day' AND period BETWEEN ? AND ?"
    " GROUP BY user_id"
)


async def imported_week(db: Database, guild_id: int, first: date, last: date
                        ) -> dict[int, dict[str, float]]:
    """Imported platform stats per creator over the local days ``first..last`` (``hours``,
    ``diamonds``; the daily rows of bot/services/platform_stats.py), for *mismatch* and
    *gone quiet*: a creator with no imported day has no entry."""
    rows = await db.fetchall(IMPORTED_DAYS, (guild_id, first.isoformat(), last.isoformat()))
    return {r["user_id"]: {metric: float(r[metric]) for metric in ("hours", "diamonds")
                           if r[metric] is not None}  # a metric the files left out: none
            for r in rows}


# -- the analysis (pure: runs in a worker thread) --------------------------------------------

def _drop(baseline: list[float], recent: list[float], mads: float, share: float
          ) -> dict[str, float] | None:
    """Figures of a sudden drop of ``recent`` (daily values) against ``baseline``, or None."""
    med = median(baseline)
    if med <= 0:
        return None
    mad = median(abs(v - med) for v in baseline) * MAD_SCALE
    mean = sum(recent) / len(recent)
    limit = med - mads * max(mad, 0.1 * med)
    if mean < limit and mean <= med * (1 - share):
        return {"recent_mean": round(mean, 2), "baseline_median": round(med, 2),
                "baseline_mad": round(mad, 2)}
    return None


def analyse(today: date, settings: dict[str, float], creators: list[Any], days: list[Any],
            last_checkin: dict[int, str], streaks: list[Any], imported: dict[int, dict],
            quiet_imported: set[int]) -> list[Raised]:
    """Every creator flag the sweep sees on ``today`` (see the module's docstring)."""
    window_first = today - timedelta(days=WINDOW)
    base_first = window_first - timedelta(days=BASELINE)
    hist_first = window_first - timedelta(days=HISTORY)
    w0, b0, h0 = window_first.isoformat(), base_first.isoformat(), hist_first.isoformat()
    per_user: dict[int, dict[str, tuple[float, int]]] = defaultdict(dict)
    history: dict[int, list[int]] = defaultdict(list)
    family_history: dict[int, list[int]] = defaultdict(list)
    recent_days: list[Any] = []
    for r in days:
        d = r["local_date"]
        if d >= w0:
            recent_days.append(r)
        if d >= b0:
            per_user[r["user_id"]][d] = (r["hours"], r["diamonds"])
        if h0 <= d < w0 and r["diamonds"] > 0:
            history[r["user_id"]].append(r["diamonds"])
            if r["family_id"] is not None:
                family_history[r["family_id"]].append(r["diamonds"])
    family_median = {f: median(v) for f, v in family_history.items() if v}
    window = [(window_first + timedelta(days=i)).isoformat() for i in range(WINDOW)]
    baseline = [(base_first + timedelta(days=i)).isoformat() for i in range(BASELINE)]
    base_start = base_first.isoformat()
    quiet = int(settings["quiet_days"])
    raised: list[Raised] = []
    family_of = {}
    for c in creators:
        user, family = c["user_id"], c["family_id"]
        family_of[user] = family
        joined = c["joined_at"][:10]
        mine = per_user.get(user, {})
        # sudden drop
        if joined <= base_start and sum(1 for d in baseline if d in mine) >= settings[
                "drop_min_baseline_days"]:
            found = {}
            for i, metric in enumerate(("hours", "diamonds")):
                dropped = _drop([mine[d][i] if d in mine else 0.0 for d in baseline],
                                [mine[d][i] if d in mine else 0.0 for d in window],
                                settings["drop_mads"], settings["drop_share"])
                if dropped:
                    found[metric] = dropped
            if found:
                raised.append(Raised("sudden_drop", f"u:{user}", user, family, found))
        # gone quiet
        since = (today - date.fromisoformat(joined)).days
        last = last_checkin.get(user)
        limit = (today - timedelta(days=quiet)).isoformat()
        if since >= quiet and (last is None or last < limit) and user not in quiet_imported:
            raised.append(Raised("gone_quiet", f"u:{user}", user, family, {
                "last_checkin": last, "days": quiet if last is None else (
                    today - date.fromisoformat(last)).days - 1}))
        # mismatch (against the imported daily platform stats)
        theirs = imported.get(user)
        if theirs:
            hours = sum(mine[d][0] for d in window if d in mine)
            diamonds = sum(mine[d][1] for d in window if d in mine)
            off = {}
            for metric, own in (("hours", hours), ("diamonds", diamonds)):
                other = theirs.get(metric)
                if other is not None and abs(own - other) > settings[
                        "mismatch_tolerance"] * max(abs(other), 1):
                    off[metric] = {"reported": round(own, 2), "imported": round(other, 2)}
            if off:
                raised.append(Raised("mismatch", f"u:{user}", user, family, off))
    # unusual earnings
    factor, least = settings["earnings_factor"], settings["earnings_min"]
    for r in recent_days:
        user = r["user_id"]
        if user not in family_of or r["diamonds"] < least or r["diamonds"] <= 0:
            continue
        past = history.get(user, [])
        if len(past) < settings["earnings_min_history"]:
            continue
        mine_med = median(past)
        fam_med = family_median.get(family_of[user], mine_med)
        if r["diamonds"] >= factor * mine_med and r["diamonds"] >= factor * fam_med:
            raised.append(Raised("unusual_earnings", f"u:{user}:{r['local_date']}", user,
                                 family_of[user], {
                                     "day": r["local_date"], "diamonds": r["diamonds"],
                                     "creator_median": round(mine_med, 1),
                                     "family_median": round(fam_med, 1)}))
    # streak broken
    for s in streaks:
        if s["user_id"] in family_of:
            raised.append(Raised("streak_broken", f"u:{s['user_id']}", s["user_id"],
                                 family_of[s["user_id"]], {
                                     "streak": s["current"], "last_checkin": s["last_date"]}))
    return raised


def _narrowed(today: date, settings: dict[str, float], creators: list[Any], drops: list[Any],
              big: list[Any], mine: dict[int, tuple[int, float]], families: dict[int, float],
              streaks: list[Any], imported: dict[int, dict], quiet_imported: set[int]
              ) -> list[Raised]:
    """:func:`analyse` over what :meth:`RiskService.find` read: the creators who may have
    dropped with their days, the window's big days that pass the creator's own median, the
    medians."""
    days = [{"user_id": d["user_id"], "family_id": None, "local_date": day,
             "hours": float(hours), "diamonds": int(diamonds)}
            for d in drops for one in d["days"].split(";")
            for day, hours, diamonds in (one.split("|"),)]
    last = {c["user_id"]: c["last"] for c in creators if c["last"]}
    raised = [r for r in analyse(today, settings, creators, days, last, streaks, imported,
                                 quiet_imported)
              if r.kind != "unusual_earnings"]
    family_of = {c["user_id"]: c["family_id"] for c in creators}
    for r in big:
        user = r["user_id"]
        mine_med = mine[user][1]
        fam_med = families.get(family_of[user], mine_med)
        if r["diamonds"] >= settings["earnings_factor"] * fam_med:
            raised.append(Raised("unusual_earnings", f"u:{user}:{r['local_date']}", user,
                                 family_of[user], {
                                     "day": r["local_date"], "diamonds": r["diamonds"],
                                     "creator_median": round(mine_med, 1),
                                     "family_median": round(fam_med, 1)}))
    return raised


class RiskService:
    def __init__(self, db: Database, clock: Clock, audit: AuditLog, guilds: GuildService,
                 kpis: KpiService, settings: InsightSettings, deliveries: DeliveryQueue) -> None:
        self.db = db
        self.clock = clock
        self.audit = audit
        self.guilds = guilds
        self.kpis = kpis
        self.settings = settings
        self.deliveries = deliveries

    async def today(self, guild_id: int) -> date:
        return local_date(self.clock.now(), (await self.guilds.get(guild_id)).timezone)

    async def due(self, guild_id: int) -> bool:
        """Whether today's sweep (the guild's local day) has not run yet."""
        day = await self.today(guild_id)
        return not await self.db.fetchval(
            "SELECT 1 FROM risk_sweeps WHERE guild_id = ? AND day = ?",
            (guild_id, day.isoformat()))

    async def find(self, guild_id: int) -> list[Raised]:
        """Every flag the sweep sees now (nothing written): what :func:`analyse` finds over
        every creator's days, read narrowed in SQL to the creators who may be flagged
        (bench/reviews.py checks the two agree on the `large` program)."""
        today = await self.today(guild_id)
        tz = (await self.guilds.get(guild_id)).timezone
        settings = await self.settings.all(guild_id)
        w0 = today - timedelta(days=WINDOW)
        w1 = today - timedelta(days=1)
        b0 = w0 - timedelta(days=BASELINE)
        h0 = w0 - timedelta(days=HISTORY)
        creators = await self.db.fetchall(CREATORS_LAST, {"g": guild_id})
        family_of = {c["user_id"]: c["family_id"] for c in creators}
        imported = await imported_week(self.db, guild_id, w0, w1)
        may_drop = await self.db.fetchall(MAY_DROP, {
            "imported": json.dumps(sorted(imported)),
            "g": guild_id, "b0": b0.isoformat(), "w0": w0.isoformat(), "w1": w1.isoformat(),
            "least": max(BASELINE - BASELINE // 2, int(settings["drop_min_baseline_days"])),
            "window": float(WINDOW), "half": float(BASELINE // 2),
            "share": settings["drop_share"]})
        drops = await self.db.fetchall(DROP_DAYS, {
            "g": guild_id, "ids": json.dumps([r["user_id"] for r in may_drop]),
            "b0": b0.isoformat(), "w1": w1.isoformat()}) if may_drop else []
        big = [r for r in await self.db.fetchall(BIG_DAYS, {
            "g": guild_id, "w0": w0.isoformat(), "w1": w1.isoformat(),
            "least": settings["earnings_min"]}) if r["user_id"] in family_of]
        span = {"g": guild_id, "h0": h0.isoformat(), "h1": (w0 - timedelta(days=1)).isoformat()}
        mine = {r["k"]: (r["n"], r["med"]) for r in await self.db.fetchall(
            CREATOR_MEDIANS, {**span, "ids": json.dumps(sorted({r["user_id"] for r in big}))})}
        factor = settings["earnings_factor"]
        big = [r for r in big if r["user_id"] in mine
               and mine[r["user_id"]][0] >= settings["earnings_min_history"]
               and r["diamonds"] >= factor * mine[r["user_id"]][1]]
        families = {r["k"]: r["med"] for r in await self.db.fetchall(FAMILY_MEDIANS, {
            **span, "ids": json.dumps(sorted({family_of[r["user_id"]] for r in big}))})}
        rest = await self.db.fetchval(REST_DAYS, (guild_id,))
        broken_before = today - timedelta(days=(1 if rest is None else rest) + 1)
        streaks = await self.db.fetchall(STREAKS, (guild_id, int(settings["streak_min"]),
                                                   broken_before.isoformat()))
        quiet_from = today - timedelta(days=int(settings["quiet_days"]))
        quiet_imported = set(await imported_week(self.db, guild_id, quiet_from, w1))
        raised = await asyncio.to_thread(
            _narrowed, today, settings, creators, drops, big, mine, families, streaks,
            imported, quiet_imported)
        raised.extend(await self._families(guild_id, today, tz, settings))
        return raised

    async def _families(self, guild_id: int, today: date, tz: str,
                        settings: dict[str, float]) -> list[Raised]:
        start = day_start(today - timedelta(days=FAMILY_DAYS), tz)
        end = day_start(today, tz)
        stats = await self.kpis.stats_by_family(guild_id, start, end)
        quality = await self.kpis.quality_by_family(guild_id, start, end, medians=False)
        active = {r["id"] for r in await self.db.fetchall(
            "SELECT id FROM families WHERE guild_id = ? AND archived_at IS NULL", (guild_id,))}
        found = []
        for family in sorted(active):
            s, q = stats.get(family), quality.get(family)
            why: dict[str, Any] = {}
            if s is not None and s.attrition is not None and s.attrition > settings[
                    "family_attrition"]:
                why["attrition"] = round(s.attrition, 4)
                why["leaves"] = s.leaves
            if q is not None and q.checkins >= FAMILY_MIN_CHECKINS and q.feedback_rate < settings[
                    "family_feedback"]:
                why["feedback_rate"] = round(q.feedback_rate, 4)
                why["checkins"] = q.checkins
            if why:
                found.append(Raised("family_at_risk", f"f:{family}", None, family, why))
        return found

    async def sweep(self, guild_id: int) -> list[int]:
        """Raise what :meth:`find` sees and is not live yet, clear the live flags it no longer
        sees, and record today's sweep — one transaction. Returns the new flags' ids."""
        raised = await self.find(guild_id)
        today = await self.today(guild_id)
        now = to_db(self.clock.now())
        seen = {(r.kind, r.subject) for r in raised}
        async with self.db.transaction() as tx:
            before = await tx.fetchval(
                "SELECT coalesce(max(id), 0) FROM risk_flags WHERE guild_id = ?", (guild_id,))
            await tx.executemany(RAISE, [
                (guild_id, r.kind, r.subject, r.user_id, r.family_id, json.dumps(r.figures),
                 now, today.isoformat()) for r in raised])
            live = await tx.fetchall(
                "SELECT id, kind, subject FROM risk_flags WHERE guild_id = ?"
                " AND cleared_at IS NULL", (guild_id,))
            gone = [(now, r["id"]) for r in live if (r["kind"], r["subject"]) not in seen]
            await tx.executemany("UPDATE risk_flags SET cleared_at = ? WHERE id = ?", gone)
            new = [r[0] for r in await tx.fetchall(
                "SELECT id FROM risk_flags WHERE guild_id = ? AND id > ? ORDER BY id",
                (guild_id, before))]
            await tx.execute(
                "INSERT INTO risk_sweeps (guild_id, day, finished_at, raised) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (guild_id, day) DO UPDATE SET finished_at = excluded.finished_at,"
                " raised = raised + excluded.raised", (guild_id, today.isoformat(), now, len(new)))
        return new

    # -- reading and acting --------------------------------------------------------------

    async def get(self, guild_id: int, flag_id: int) -> Flag:
        if not 1 <= flag_id <= bounds.ID_MAX:  # a raw API call's number past SQLite's
            raise NotFound("insights.unknown_flag", value=flag_id)
        row = await self.db.fetchone(
            f"SELECT {FLAG_COLUMNS} FROM risk_flags WHERE guild_id = ? AND id = ?",
            (guild_id, flag_id))
        if row is None:
            raise NotFound("insights.unknown_flag", value=flag_id)
        return Flag.of(row)

    async def open_flags(self, guild_id: int, family_id: int | None = None, kind: str | None = None,
                   limit: int = LISTED) -> tuple[list[Flag], int]:
        """The live flags not resolved or dismissed (newest first): the first ``limit`` and
        how many in all."""
        if kind is not None and kind not in KINDS:
            raise UserError("insights.unknown_kind", value=kind)
        where = ("guild_id = ? AND cleared_at IS NULL AND state IN ('open', 'acknowledged')"
                 " AND (? IS NULL OR family_id = ?) AND (? IS NULL OR kind = ?)")
        params = (guild_id, family_id, family_id, kind, kind)
        rows = await self.db.fetchall(
            f"SELECT {FLAG_COLUMNS} FROM risk_flags WHERE {where} ORDER BY id DESC LIMIT ?",
            (*params, limit))
        total = await self.db.fetchval(f"SELECT count(*) FROM risk_flags WHERE {where}", params)
        return [Flag.of(r) for r in rows], total

    async def act(self, guild_id: int, actor_id: int, flag_id: int, action: str,
                  note: str | None, *, manager: bool) -> Flag:
        """Acknowledge, resolve (a note required) or dismiss a flag: a manager, or a leader of
        the flag's family. A resolved or dismissed flag stays so for its episode."""
        if action not in ACTIONS:
            raise UserError("insights.unknown_action", value=action)
        cleaned = bounds.clean_text(note, NOTE_MAX, "note") or None if note is not None else None
        if action == "resolve" and not cleaned:
            raise UserError("insights.note_needed")
        flag = await self.get(guild_id, flag_id)
        if not manager and not await self._leads(guild_id, actor_id, flag.family_id):
            raise NotAllowed("insights.not_yours")
        async with self.db.transaction() as tx:
            changed = await tx.fetchval(
                "UPDATE risk_flags SET state = ?, acted_by = ?, acted_at = ?,"
                " note = coalesce(?, note) WHERE id = ? AND guild_id = ?"
                " AND state IN ('open', 'acknowledged') AND NOT (state = ? ) RETURNING 1",
                (ACTIONS[action], actor_id, to_db(self.clock.now()), cleaned, flag.id, guild_id,
                 ACTIONS[action]))
            if not changed:
                closed = flag.state in ("resolved", "dismissed")
                raise UserError("insights.already_closed" if closed
                                else "insights.already_acknowledged")
            await self.audit.record(tx, guild_id, actor_id, f"risk.{action}", str(flag.id),
                                    kind=flag.kind, note=cleaned)
        return await self.get(guild_id, flag_id)

    async def _leads(self, guild_id: int, user_id: int, family_id: int | None) -> bool:
        if family_id is None:
            return False
        return bool(await self.db.fetchval(
            "SELECT 1 FROM families WHERE guild_id = ? AND id = ? AND archived_at IS NULL"
            " AND ? IN (leader_user_id, co_leader_user_id)", (guild_id, family_id, user_id)))

    # -- telling -------------------------------------------------------------------------

    async def untold(self, guild_id: int) -> list[Flag]:
        """Live flags the managers' channel has not been told about."""
        rows = await self.db.fetchall(
            f"SELECT {FLAG_COLUMNS} FROM risk_flags WHERE guild_id = ?"
            " AND managers_told_at IS NULL AND cleared_at IS NULL ORDER BY id", (guild_id,))
        return [Flag.of(r) for r in rows]

    async def tell_managers(self, guild_id: int, flags: list[Flag], post: Send | None) -> bool:
        """Mark ``flags`` told and queue ``post`` (None: no managers' channel, nothing posted)
        in one transaction: each flag is posted once."""
        if not flags:
            return False
        try:
            async with self.db.transaction() as tx:
                told = await self._mark_told(tx, [f.id for f in flags])
                if told != len(flags):  # another sweep told some meanwhile: roll back
                    raise _Raced()
                if post is not None:
                    await self.deliveries.add(tx, guild_id, [post])
        except _Raced:
            return False
        self.deliveries.notify()
        return post is not None

    async def _mark_told(self, tx: Transaction, ids: list[int]) -> int:
        now = to_db(self.clock.now())
        return sum([await tx.execute(
            "UPDATE risk_flags SET managers_told_at = ? WHERE id = ? AND managers_told_at IS NULL",
            (now, i)) for i in ids])

    async def guilds_to_sweep(self) -> list[tuple[int, int | None]]:
        """Every guild with a family, and its managers' channel (None: none set)."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT f.guild_id, gc.channel_id FROM families f LEFT JOIN"
            " guild_channels gc ON gc.guild_id = f.guild_id AND gc.kind = 'managers'"
            " WHERE f.archived_at IS NULL")
        return [(r["guild_id"], r["channel_id"]) for r in rows]


class _Raced(Exception):
    """Two sweeps told the same flags at once: the second posts nothing (rolled back)."""


async def flags_for_summary(db: Database, guild_id: int, family_id: int, summary_id: int
                            ) -> list[Flag]:
    """The family's new flags for the leader's daily summary ``summary_id`` (a reminders
    row): those no summary listed yet, claimed for this one (a retry of the same summary
    lists them again; another summary never)."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE risk_flags SET summary_id = ? WHERE guild_id = ? AND family_id = ?"
            " AND summary_id IS NULL AND cleared_at IS NULL AND state = 'open'",
            (summary_id, guild_id, family_id))
        rows = await tx.fetchall(
            f"SELECT {FLAG_COLUMNS} FROM risk_flags WHERE guild_id = ? AND family_id = ?"
            " AND summary_id = ? ORDER BY id", (guild_id, family_id, summary_id))
    return [Flag.of(r) for r in rows]

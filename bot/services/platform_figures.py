"""One truth per figure: which source the progress model follows for each metric.

A guild says per metric (hours, diamonds, new followers, valid days) whether its figures are
``imported`` — the platform's figure where one was imported for that creator and day (or, for
a month's total, that month), else the check-in — or ``checkins`` only (``stat_settings``; a
missing row means ``imported`` everywhere, which changes nothing until stats are imported).

The rule lives in one statement set, :func:`rebuild_statements`: it recomputes the week and
month rows of ``progress_totals`` for some creators and days from the check-ins and
``platform_stats`` (``progress_alltime`` follows by its triggers), so tiers, leaderboards,
pace and everything else that reads the progress model follow the setting. It runs

* when an import is applied or rolled back (the creators and days it touched),
* when the setting changes (the whole guild),
* on a check-in for a creator whose day or month has imported figures
  (:meth:`bot.services.progress.ProgressService.apply_now`; other check-ins keep their cheap
  incremental update).

Per day: ``checkins`` counts check-ins whatever the source; a metric follows the imported
figure when its source is ``imported`` and the platform row has it (a column missing from the
file is NULL: that figure stays the check-in's); a valid day is the platform's valid-day flag,
else its hours against ``CHECKIN_VALID_DAY_HOURS``, else the check-in's hours. A monthly import
(``period_kind = 'month'``) replaces the month's total of each metric it has; weeks cannot be
split out of it and keep the daily figures.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.clock import Clock, to_db
from bot.db import Database, SyncTransaction
from bot.errors import UserError
from bot.localtime import iso_week, month
from bot.services import day_figures

SOURCES = ("imported", "checkins")
SOURCE_METRICS = ("hours", "diamonds", "followers", "valid_days")
DEFAULT_TOLERANCE = 10.0

_WEEK = ("printf('%s-W%02d', strftime('%Y', {d}, '-3 days', 'weekday 4'),"
         " (CAST(strftime('%j', {d}, '-3 days', 'weekday 4') AS INTEGER) - 1) / 7 + 1)")
# Whether each metric follows imported figures (1) or check-ins (0), for guild :g.
_SOURCES = """
    SELECT coalesce(max(hours), 'imported') = 'imported' AS h,
           coalesce(max(diamonds), 'imported') = 'imported' AS d,
           coalesce(max(followers), 'imported') = 'imported' AS f,
           coalesce(max(valid_days), 'imported') = 'imported' AS v
    FROM stat_settings WHERE guild_id = :g"""
# Whose rows a rebuild recomputes: everyone's, the creators in temp.rebuild_users, or one.
# Each statement also takes the creators between :u1 and :u2 only: a big rebuild goes in
# slices of creators (CHUNK), so its sorts stay small (one statement over 450,000 days
# spends most of its time sorting).
_WHO = {"all": " AND {c} BETWEEN :u1 AND :u2",
        "some": " AND {c} BETWEEN :u1 AND :u2"
                " AND {c} IN (SELECT user_id FROM temp.rebuild_users)",
        "one": " AND {c} = :u"}
CHUNK = 500  # creators recomputed by one pass of the statements
WIDEST = (-(2**63), 2**63 - 1)

_DELETE = """
    DELETE FROM progress_totals WHERE guild_id = :g{users}
      AND ((period_kind = 'week' AND period BETWEEN :w1 AND :w2)
           OR (period_kind = 'month' AND period BETWEEN :m1 AND :m2))"""

# Every day of a creator counts once: the platform's day (with the check-in of that day,
# if any) or a check-in day without one. Days are summed once into week-and-month segments
# (a week that spans two months is two), keyed by a plain day number (the ISO week's label
# is written once per segment, not per day); weeks and months are summed from the segments
# and written in the order of progress_totals' indexes (kind, period, creator), which keeps
# each index's insertions together instead of scattered over the whole table.
_INSERT = f"""
    WITH src AS ({_SOURCES}),
    eff AS (
        SELECT p.user_id, p.period AS day, k.id IS NOT NULL AS checkin,
          CASE WHEN src.h AND p.hours IS NOT NULL THEN p.hours
               ELSE coalesce(k.hours, 0) END AS hours,
          CASE WHEN src.d AND p.diamonds IS NOT NULL THEN p.diamonds
               ELSE coalesce(k.diamonds, 0) END AS diamonds,
          CASE WHEN src.f AND p.followers IS NOT NULL THEN p.followers
               ELSE coalesce(k.followers, 0) END AS followers,
          CASE WHEN src.v AND p.valid_days IS NOT NULL THEN min(p.valid_days, 1)
               WHEN src.v AND p.hours IS NOT NULL THEN p.hours >= :valid
               ELSE coalesce(k.hours, 0) >= :valid END AS valid
        FROM platform_stats p CROSS JOIN src
        LEFT JOIN checkins k
          ON k.guild_id = :g AND k.user_id = p.user_id AND k.local_date = p.period
        WHERE p.guild_id = :g AND p.period_kind = 'day'
          AND p.period BETWEEN :a AND :b{{p_users}}
        UNION ALL
        SELECT k.user_id, k.local_date, 1, coalesce(k.hours, 0), coalesce(k.diamonds, 0),
               coalesce(k.followers, 0), coalesce(k.hours, 0) >= :valid
        FROM checkins k
        WHERE k.guild_id = :g AND k.local_date BETWEEN :a AND :b{{k_users}}
          AND NOT EXISTS (SELECT 1 FROM platform_stats p WHERE p.guild_id = :g
            AND p.user_id = k.user_id AND p.period_kind = 'day' AND p.period = k.local_date)
    ),
    seg AS (
        SELECT user_id, CAST((julianday(day) - 1721425.5) / 7 AS INTEGER) AS wk,
               substr(day, 1, 7) AS m, min(day) AS day1, sum(checkin) AS c, sum(valid) AS v,
               sum(hours) AS h, sum(diamonds) AS d, sum(followers) AS f
        FROM eff GROUP BY user_id, wk, m
    )
    INSERT INTO progress_totals (guild_id, user_id, period_kind, period, checkins, valid_days,
                                 hours, diamonds, followers)
    SELECT :g, user_id, 'week', {_WEEK.format(d='day1')} AS w, c, v, round(h, 2), d, f
    FROM (SELECT user_id, min(day1) AS day1, sum(c) AS c, sum(v) AS v, sum(h) AS h,
                 sum(d) AS d, sum(f) AS f FROM seg GROUP BY user_id, wk)
    WHERE w BETWEEN :w1 AND :w2
    UNION ALL
    SELECT :g, user_id, 'month', m, sum(c), sum(v), round(sum(h), 2), sum(d), sum(f)
    FROM seg WHERE m BETWEEN :m1 AND :m2 GROUP BY user_id, m
    ORDER BY 3, 4, 2"""

# A month with an imported total: its row exists even without a day of figures …
_MONTH_ROWS = """
    INSERT INTO progress_totals (guild_id, user_id, period_kind, period)
    SELECT guild_id, user_id, 'month', period FROM platform_stats
    WHERE guild_id = :g AND period_kind = 'month' AND period BETWEEN :m1 AND :m2{users}
    ON CONFLICT (guild_id, user_id, period_kind, period) DO NOTHING"""
# … and each metric the import has replaces the month's total.
_MONTH_TOTALS = f"""
    UPDATE progress_totals SET
        hours = CASE WHEN src.h AND m.hours IS NOT NULL THEN m.hours
                     ELSE progress_totals.hours END,
        diamonds = CASE WHEN src.d AND m.diamonds IS NOT NULL THEN m.diamonds
                        ELSE progress_totals.diamonds END,
        followers = CASE WHEN src.f AND m.followers IS NOT NULL THEN m.followers
                         ELSE progress_totals.followers END,
        valid_days = CASE WHEN src.v AND m.valid_days IS NOT NULL THEN m.valid_days
                          ELSE progress_totals.valid_days END
    FROM platform_stats m, ({_SOURCES}) src
    WHERE progress_totals.guild_id = :g AND progress_totals.period_kind = 'month'
      AND m.guild_id = :g AND m.period_kind = 'month' AND m.user_id = progress_totals.user_id
      AND m.period = progress_totals.period AND m.period BETWEEN :m1 AND :m2{{users}}"""

# Whether a creator's day or month has imported figures (the check-in path's test).
HAS_IMPORTED = """
    SELECT 1 FROM platform_stats WHERE guild_id = ? AND user_id = ?
      AND ((period_kind = 'day' AND period = ?) OR (period_kind = 'month' AND period = ?))
    LIMIT 1"""


def _span(first: date, last: date) -> tuple[date, date]:
    """Every day of the weeks and months that touch ``first`` … ``last``."""
    start = min(first - timedelta(days=first.weekday()), first.replace(day=1))
    end_month = last.replace(day=calendar.monthrange(last.year, last.month)[1])
    end = max(last + timedelta(days=6 - last.weekday()), end_month)
    return start, end


def rebuild_statements(
    guild_id: int, first: date, last: date, valid_day_hours: float, *, who: str = "all",
    user_id: int | None = None, users: tuple[int, int] = WIDEST,
) -> list[tuple[str, dict[str, Any]]]:
    """The statements that recompute ``progress_totals`` for the weeks and months touching
    ``first`` … ``last``: for everyone (``who="all"``), the creators in
    ``temp.rebuild_users`` (``"some"``, see :func:`rebuild`) or ``user_id`` (``"one"``);
    for "all" and "some", only those whose id is within ``users`` (see :func:`slices`)."""
    start, end = _span(first, last)
    params = {"g": guild_id, "a": start.isoformat(), "b": end.isoformat(),
              "w1": iso_week(first), "w2": iso_week(last), "m1": month(first),
              "m2": month(last), "valid": valid_day_hours, "u": user_id,
              "u1": users[0], "u2": users[1]}
    among = _WHO[who].format(c="user_id")
    month_users = _WHO[who].format(c="m.user_id")
    return [
        (_DELETE.format(users=among), params),
        (_INSERT.format(p_users=_WHO[who].format(c="p.user_id"),
                        k_users=_WHO[who].format(c="k.user_id")), params),
        (_MONTH_ROWS.format(users=among), params),
        (_MONTH_TOTALS.format(users=month_users), params),
        # campaign totals follow the same rule (bot/services/day_figures.py)
        *day_figures.campaign_statements(guild_id, first, last, among, params),
    ]


def slices(users: Sequence[int], size: int = CHUNK) -> list[tuple[int, int]]:
    """Sorted creator ids cut into ranges of ``size`` creators."""
    ordered = sorted(set(users))
    return [(ordered[i], ordered[min(i + size, len(ordered)) - 1])
            for i in range(0, len(ordered), size)]


def rebuild(tx: SyncTransaction, guild_id: int, first: date, last: date,
            valid_day_hours: float) -> None:
    """Recompute the progress model of the whole guild for the weeks and months touching
    ``first`` … ``last``, following its sources (inside ``tx``), creators by slices."""
    users = [r[0] for r in tx.fetchall(
        "SELECT DISTINCT user_id FROM checkins WHERE guild_id = ? UNION"
        " SELECT DISTINCT user_id FROM platform_stats WHERE guild_id = ? UNION"
        " SELECT DISTINCT user_id FROM progress_totals WHERE guild_id = ?",
        (guild_id, guild_id, guild_id))]
    for part in slices(users):
        for sql, params in rebuild_statements(guild_id, first, last, valid_day_hours,
                                              users=part):
            tx.execute(sql, params)


def period_days(kind: str, first: str, last: str) -> tuple[date, date]:
    """The first and last day of an import's periods (days, or whole months)."""
    if kind == "day":
        return date.fromisoformat(first), date.fromisoformat(last)
    start = date.fromisoformat(first + "-01")
    end = date.fromisoformat(last + "-01")
    return start, end.replace(day=calendar.monthrange(end.year, end.month)[1])


@dataclass(frozen=True)
class StatSettings:
    guild_id: int
    sources: dict[str, str]
    tolerance_pct: float = DEFAULT_TOLERANCE

    def source(self, metric: str) -> str:
        return self.sources.get(metric, "imported")


class FigureSources:
    """Reading and changing a guild's sources and reconciliation tolerance."""

    def __init__(self, db: Database, clock: Clock, valid_day_hours: float = 1.0) -> None:
        self.db = db
        self.clock = clock
        self.valid_day_hours = valid_day_hours

    async def get(self, guild_id: int) -> StatSettings:
        row = await self.db.fetchone(
            "SELECT hours, diamonds, followers, valid_days, tolerance_pct FROM stat_settings"
            " WHERE guild_id = ?", (guild_id,))
        if row is None:
            return StatSettings(guild_id, {m: "imported" for m in SOURCE_METRICS})
        return StatSettings(guild_id, {m: row[m] for m in SOURCE_METRICS},
                            row["tolerance_pct"])

    async def set(self, guild_id: int, actor_id: int, *, metric: str | None = None,
                  source: str | None = None, tolerance: float | None = None) -> StatSettings:
        """Change one metric's source (the whole guild's progress model is recomputed in
        the same transaction) and/or the tolerance."""
        if metric is not None and metric not in SOURCE_METRICS:
            raise UserError("stats.unknown_metric", value=metric)
        if source is not None and source not in SOURCES:
            raise UserError("stats.unknown_source", value=source)
        if tolerance is not None and not (0 <= tolerance <= 1000):
            raise UserError("stats.bad_tolerance", value=tolerance)
        now = to_db(self.clock.now())
        hours = self.valid_day_hours

        def change(tx: SyncTransaction) -> None:
            tx.execute("INSERT INTO stat_settings (guild_id, updated_at) VALUES (?, ?)"
                       " ON CONFLICT (guild_id) DO NOTHING", (guild_id, now))
            before = dict(tx.fetchone("SELECT * FROM stat_settings WHERE guild_id = ?",
                                      (guild_id,)))
            if metric is not None and source is not None:
                tx.execute(f"UPDATE stat_settings SET {metric} = ?, updated_at = ?"
                           " WHERE guild_id = ?", (source, now, guild_id))
            if tolerance is not None:
                tx.execute("UPDATE stat_settings SET tolerance_pct = ?, updated_at = ?"
                           " WHERE guild_id = ?", (tolerance, now, guild_id))
            after = dict(tx.fetchone("SELECT * FROM stat_settings WHERE guild_id = ?",
                                     (guild_id,)))
            if any(before[m] != after[m] for m in SOURCE_METRICS):
                span = tx.fetchone(
                    "SELECT min(a), max(b) FROM ("
                    " SELECT min(local_date) AS a, max(local_date) AS b FROM checkins"
                    " WHERE guild_id = :g UNION ALL"
                    " SELECT min(CASE period_kind WHEN 'day' THEN period"
                    "  ELSE period || '-01' END), max(CASE period_kind WHEN 'day' THEN period"
                    "  ELSE period || '-28' END) FROM platform_stats WHERE guild_id = :g)",
                    {"g": guild_id})
                if span[0] is not None:
                    rebuild(tx, guild_id, date.fromisoformat(span[0]),
                            date.fromisoformat(span[1]), hours)
            audit(tx, guild_id, actor_id, "stats.settings", None, now,
                  old={k: before[k] for k in (*SOURCE_METRICS, "tolerance_pct")},
                  new={k: after[k] for k in (*SOURCE_METRICS, "tolerance_pct")})

        await self.db.run(change)
        return await self.get(guild_id)


# The creators among :u (a JSON list) whose figure of :metric over :a … :b (days; months
# :m1 … :m2) came from imported figures: the metric follows imports and they have some.
_IMPORTED_USERS = """
    SELECT DISTINCT p.user_id FROM platform_stats p
    WHERE p.guild_id = :g AND p.user_id IN (SELECT value FROM json_each(:u))
      AND ((p.period_kind = 'day' AND p.period BETWEEN :a AND :b)
           OR (p.period_kind = 'month' AND p.period BETWEEN :m1 AND :m2))
      AND CASE :metric WHEN 'hours' THEN p.hours WHEN 'diamonds' THEN p.diamonds
                       ELSE p.followers END IS NOT NULL
      AND coalesce((SELECT CASE :metric WHEN 'hours' THEN s.hours
                                        WHEN 'diamonds' THEN s.diamonds
                                        ELSE s.followers END
                    FROM stat_settings s WHERE s.guild_id = :g), 'imported') = 'imported'"""
FOLLOWING = ("hours", "diamonds", "followers")  # the board metrics imports can supply


async def imported_users(db: Database, guild_id: int, metric: str, first: date | None,
                         last: date | None, users: Sequence[int]) -> frozenset[int]:
    """Which of ``users`` have a figure of ``metric`` between ``first`` and ``last`` (None:
    all time) taken from the platform's imports, as the guild's sources say: a board marks
    them (📥), the others' figures are their check-ins."""
    if metric not in FOLLOWING or not users:
        return frozenset()
    import json

    a, b = (first or date(1970, 1, 1)), (last or date(9999, 12, 31))
    rows = await db.fetchall(_IMPORTED_USERS, {
        "g": guild_id, "u": json.dumps(list(users)), "a": a.isoformat(), "b": b.isoformat(),
        "m1": month(a), "m2": month(b), "metric": metric})
    return frozenset(r[0] for r in rows)


def audit(tx: SyncTransaction, guild_id: int, actor_id: int | None, action: str,
          target: str | None, now: str, **details: Any) -> None:
    """An audit entry inside a synchronous unit of work (the same row as
    :meth:`bot.services.audit.AuditLog.record` writes)."""
    import json

    tx.execute(
        "INSERT INTO audit_log (guild_id, actor_id, action, target, details, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (guild_id, actor_id, action, target, json.dumps(details, default=str), now))

"""Per-day figures that follow the guild's sources, for everything that reads days rather
than the progress model: campaign totals and standings, day boards and the loose days of a
custom range, and the digests.

The rule is :mod:`bot.services.platform_figures`' (one truth per figure): for each creator and
day, a metric (hours, diamonds, new followers) is the platform's figure when the guild's
source for it is ``imported`` and an import has it for that day, else the check-in's. A day
exists for a creator when it has a check-in or an imported row. Monthly imports cannot be
split into days: day-based figures keep the daily ones. Counting metrics (``days``: check-in
days; ``streak``) stay the check-ins'.

``campaign_totals`` (0014) is kept by triggers on check-ins; :func:`campaign_statements`
recomputes it by this rule for the campaigns touching some days, and runs wherever the
progress model is recomputed (an import, a rollback, a change of source, a check-in on an
imported day: :func:`bot.services.platform_figures.rebuild_statements`) and when a campaign's
days or metric change (:mod:`bot.services.campaigns.editing`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.db import Database

FOLLOWING = ("hours", "diamonds", "followers")  # the metrics an import can supply per day

# Whether each metric follows imported figures (1) or check-ins (0), for guild :g.
_SOURCES = """
    SELECT coalesce(max(hours), 'imported') = 'imported' AS h,
           coalesce(max(diamonds), 'imported') = 'imported' AS d,
           coalesce(max(followers), 'imported') = 'imported' AS f
    FROM stat_settings WHERE guild_id = :g"""
_EFF = {m: (f"CASE WHEN src.{m[0]} AND p.{m} IS NOT NULL THEN p.{m}"
            f" ELSE coalesce(k.{m}, 0) END") for m in FOLLOWING}
_IMPORTED = {m: f"(src.{m[0]} AND p.{m} IS NOT NULL)" for m in FOLLOWING}

# Each creator's figures per day over the days that satisfy {cond} (a condition on a day
# column written as ``{d}``), with (guild_id, user_id, day, checkin, hours, diamonds,
# followers, imported_<metric>). {users} narrows the creators (a condition on ``user_id``).
_DAYS = """
    SELECT x.user_id, x.day, k.id IS NOT NULL AS checkin, k.family_id AS checkin_family,
           {hours} AS hours, {diamonds} AS diamonds, {followers} AS followers,
           {imp_hours} AS imported_hours, {imp_diamonds} AS imported_diamonds,
           {imp_followers} AS imported_followers
    FROM (SELECT user_id, local_date AS day FROM checkins
          WHERE guild_id = :g AND {checkin_cond}{users}
          UNION
          SELECT user_id, period FROM platform_stats
          WHERE guild_id = :g AND period_kind = 'day' AND {platform_cond}{users}) x
    CROSS JOIN ({sources}) src
    LEFT JOIN checkins k ON k.guild_id = :g AND k.user_id = x.user_id AND k.local_date = x.day
    LEFT JOIN platform_stats p ON p.guild_id = :g AND p.user_id = x.user_id
         AND p.period_kind = 'day' AND p.period = x.day"""


def days_sql(cond: str, users: str = "") -> str:
    """The per-day figures (see ``_DAYS``) over the days where ``cond`` holds (``{d}`` names
    the day column), guild ``:g``."""
    return _DAYS.format(
        checkin_cond=cond.format(d="local_date"), platform_cond=cond.format(d="period"),
        users=users, sources=_SOURCES,
        **{m: _EFF[m] for m in FOLLOWING},
        **{f"imp_{m}": _IMPORTED[m] for m in FOLLOWING})


def value_of(metric: str) -> str:
    """A metric's value in one row of :func:`days_sql`."""
    return metric if metric in FOLLOWING else "checkin"


def sums_sql(metric: str, cond: str) -> str:
    """(user_id, v, imported) per creator: ``metric`` summed over the days where ``cond``
    holds, and whether some of it is the platform's figure."""
    imported = f"max(imported_{metric})" if metric in FOLLOWING else "0"
    return (f"SELECT user_id, sum({value_of(metric)}) AS v, {imported} AS imported"
            f" FROM ({days_sql(cond)}) GROUP BY user_id")


async def has_imports(db: Database, guild_id: int, first: date, last: date) -> bool:
    """Whether an applied daily import of the guild covers a day of ``first … last`` (the
    cheap test before reading days by the rule: without one, the check-ins are the figures)."""
    return await db.fetchval(
        "SELECT EXISTS (SELECT 1 FROM stat_imports WHERE guild_id = ? AND state = 'applied'"
        " AND granularity = 'day' AND first_period <= ? AND last_period >= ?)",
        (guild_id, last.isoformat(), first.isoformat())) == 1


async def sums(db: Database, guild_id: int, metric: str, first: date, last: date
               ) -> tuple[dict[int, float], frozenset[int]]:
    """Everyone's ``metric`` over their local days ``first … last`` by the rule, and who has
    a figure from the platform in it."""
    rows = await db.fetchall(sums_sql(metric, "{d} BETWEEN :a AND :b"),
                             {"g": guild_id, "a": first.isoformat(), "b": last.isoformat()})
    return ({r["user_id"]: float(round(r["v"], 2)) for r in rows},
            frozenset(r["user_id"] for r in rows if r["imported"]))


async def imported_on_days(db: Database, guild_id: int, metric: str, days: Sequence[str],
                           users: Sequence[int]) -> frozenset[int]:
    """Which of ``users`` have a figure of ``metric`` on one of ``days`` (ISO dates) that is
    the platform's, as the guild's sources say (a day board marks them 📥)."""
    if metric not in FOLLOWING or not users or not days:
        return frozenset()
    rows = await db.fetchall(
        f"SELECT DISTINCT p.user_id FROM platform_stats p CROSS JOIN ({_SOURCES}) src"
        f" WHERE p.guild_id = :g AND p.period_kind = 'day'"
        f" AND p.user_id IN (SELECT value FROM json_each(:u))"
        f" AND p.period IN (SELECT value FROM json_each(:days))"
        f" AND {_IMPORTED[metric]}",
        {"g": guild_id, "u": json.dumps(list(users)), "days": json.dumps(list(days))})
    return frozenset(r[0] for r in rows)


# The applied daily imports over the days ? … ? (guild, last day, first day) …
IMPORTS_OVER = ("SELECT id FROM stat_imports WHERE guild_id = ? AND state = 'applied'"
                " AND granularity = 'day' AND first_period <= ? AND last_period >= ?"
                " ORDER BY id")
# … and those applied or rolled back after a campaign finished (guild, last day, first day,
# campaign).
IMPORTS_SINCE = ("SELECT s.id FROM stat_imports s JOIN campaigns c ON c.id = ?"
                 " AND c.finished_at IS NOT NULL WHERE s.guild_id = ? AND s.state <> 'staged'"
                 " AND s.granularity = 'day' AND s.first_period <= ? AND s.last_period >= ?"
                 " AND (s.applied_at > c.finished_at OR s.rolled_back_at > c.finished_at)"
                 " ORDER BY s.id")


# Check-in-shaped rows (guild_id, user_id, family_id, local_date, checkin, hours, diamonds,
# followers) by the rule, for statements written over ``checkins``: a day without a check-in
# counts for the family its creator was in that day.
_TABLE = """(SELECT {g} AS guild_id, e.user_id, e.day AS local_date, e.checkin, e.hours,
       e.diamonds, e.followers,
       coalesce(e.checkin_family, (SELECT fm.family_id FROM family_members fm
           WHERE fm.guild_id = {g} AND fm.user_id = e.user_id
             AND substr(fm.joined_at, 1, 10) <= e.day
             AND (fm.left_at IS NULL OR substr(fm.left_at, 1, 10) > e.day)
           ORDER BY fm.joined_at DESC LIMIT 1)) AS family_id
    FROM ({days}) e)"""


async def checkins_or_figures(db: Database, guild_id: int, first: date, last: date
                              ) -> tuple[str, str]:
    """What a statement over check-ins of the local days ``first … last`` reads instead of
    ``checkins`` to follow the guild's sources, and how it counts check-in days there:
    ``("checkins", "count(*)")`` when nothing was imported for those days (the plain table and
    its indexes), else the rows by the rule (inlined: a guild id and two dates, typed)."""
    if not await has_imports(db, guild_id, first, last):
        return "checkins", "count(*)"
    days = days_sql(f"{{d}} BETWEEN '{first.isoformat()}' AND '{last.isoformat()}'")
    g = str(int(guild_id))
    return _TABLE.format(g=g, days=days.replace(":g", g)), "sum(checkin)"


# -- campaign totals ----------------------------------------------------------------------
_AFFECTED = ("SELECT id FROM campaigns WHERE guild_id = :g AND metric <> 'streak'"
             " AND last_day >= :cf AND first_day <= :cl")
_CAMPAIGN_DELETE = f"""
    DELETE FROM campaign_totals WHERE campaign_id IN ({_AFFECTED}){{users}}"""
_CAMPAIGN_INSERT = """
    WITH aff AS (SELECT id, metric, first_day, last_day FROM campaigns
                 WHERE guild_id = :g AND metric <> 'streak'
                   AND last_day >= :cf AND first_day <= :cl),
    lim AS (SELECT min(first_day) AS a, max(last_day) AS b FROM aff),
    eff AS ({days})
    INSERT INTO campaign_totals (campaign_id, guild_id, user_id, days, value)
    SELECT c.id, :g, e.user_id, count(*),
           round(sum(CASE c.metric WHEN 'hours' THEN e.hours WHEN 'diamonds' THEN e.diamonds
                     WHEN 'followers' THEN e.followers ELSE e.checkin END), 2)
    FROM aff c JOIN eff e ON e.day BETWEEN c.first_day AND c.last_day
    GROUP BY c.id, e.user_id"""


def campaign_statements(guild_id: int, first: date, last: date, users: str,
                        params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The statements that recompute ``campaign_totals`` by the rule for the campaigns whose
    days touch ``first … last``, for the creators ``users`` selects (a condition on
    ``user_id`` over ``params``, as :func:`bot.services.platform_figures.rebuild_statements`
    writes them; empty: everyone)."""
    cond = ("{d} BETWEEN (SELECT a FROM lim) AND (SELECT b FROM lim)")
    mine = {**params, "g": guild_id, "cf": first.isoformat(), "cl": last.isoformat()}
    return [(_CAMPAIGN_DELETE.format(users=users), mine),
            (_CAMPAIGN_INSERT.format(days=days_sql(cond, users)), mine)]

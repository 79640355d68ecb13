"""Family KPIs over a period, for /family stats and the reports.

Who is counted is :mod:`bot.services.population`'s rule, over the period's days: creators,
and leaders and co-leaders as the server's setting says (by default only if they streamed in
the period). Definitions (a period is ``start <= t < end``):
- members: counted memberships begun before ``end`` and not ended before it
  (``members_start``: the same at ``start``);
- joins / leaves: creators' memberships started / ended in the period (a membership that
  began with an appointment as leader or co-leader is neither);
- attrition = leaves / average members, average = (members at start + members at end) / 2
  (None when both are 0);
- reasons: leaves by leave reason (removals, transfers and archiving by how they ended);
- median tenure: median days in the family of the memberships that ended in the period;
- service quality: check-ins made in the period, how many got a leader's feedback, and the
  median minutes from check-in to the first feedback (leaders' own check-ins left out when
  leaders are not counted).
For the whole program (``family_id`` None) a transfer is neither a join nor a leave.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import Any

from bot.clock import from_db, to_db
from bot.db import Database
from bot.services import population


@dataclass(frozen=True)
class FamilyStats:
    start: datetime
    end: datetime
    members: int
    members_start: int
    joins: int
    leaves: int
    attrition: float | None
    median_tenure_days: float | None
    reasons: dict[str, int] = field(default_factory=dict)
    counted: str = population.DEFAULT_RULE  # who was counted (the report's footnote)


# A membership that began as the other half of a transfer (program-wide it is no join).
# Each statement comes twice: for one family, and for the whole program, where a transfer
# (a membership begun the moment another ended by transfer) is neither a join nor a leave.
# The last parameter of each is the people left out (a JSON array): the leaders who do not
# count in the period (population.Population.uncounted).
QUALITY_OF_FAMILY = (
    "SELECT r.minutes FROM checkins c LEFT JOIN checkin_response r ON r.checkin_id = c.id"
    " WHERE c.guild_id = ? AND c.created_at >= ? AND c.created_at < ? AND c.family_id = ?"
    " AND c.user_id NOT IN (SELECT value FROM json_each(?))"
)
QUALITY_OF_PROGRAM = (
    "SELECT r.minutes FROM checkins c LEFT JOIN checkin_response r ON r.checkin_id = c.id"
    " WHERE c.guild_id = ? AND c.created_at >= ? AND c.created_at < ?"
    " AND c.user_id NOT IN (SELECT value FROM json_each(?))"
)
# (guild, family, when, when, left out)
ACTIVE_IN_FAMILY = (
    "SELECT count(*) FROM family_members fm WHERE fm.guild_id = ? AND fm.family_id = ?"
    " AND fm.joined_at < ? AND (fm.left_at IS NULL OR fm.left_at >= ?)"
    " AND fm.user_id NOT IN (SELECT value FROM json_each(?))"
)
# (guild, when, when, left out)
ACTIVE_IN_PROGRAM = (
    "SELECT count(*) FROM family_members fm WHERE fm.guild_id = ?"
    " AND fm.joined_at < ? AND (fm.left_at IS NULL OR fm.left_at >= ?)"
    " AND fm.user_id NOT IN (SELECT value FROM json_each(?))"
)
JOINS_OF_FAMILY = (
    "SELECT count(*) FROM family_members fm WHERE fm.guild_id = ? AND fm.family_id = ?"
    " AND fm.joined_at >= ? AND fm.joined_at < ? AND fm.started_as = 'creator'"
)
JOINS_OF_PROGRAM = (
    "SELECT count(*) FROM family_members fm WHERE fm.guild_id = ?"
    " AND fm.joined_at >= ? AND fm.joined_at < ? AND fm.started_as = 'creator'"
    " AND NOT EXISTS (SELECT 1 FROM family_members p WHERE p.guild_id = fm.guild_id"
    " AND p.user_id = fm.user_id AND p.ended_by = 'transfer' AND p.left_at = fm.joined_at)"
)
ENDED_IN_FAMILY = (
    "SELECT fm.joined_at, fm.left_at, coalesce(fm.leave_reason, fm.ended_by) AS why"
    " FROM family_members fm WHERE fm.guild_id = ? AND fm.family_id = ?"
    " AND fm.left_at >= ? AND fm.left_at < ? AND fm.started_as = 'creator'"
)
ENDED_IN_PROGRAM = (
    "SELECT fm.joined_at, fm.left_at, coalesce(fm.leave_reason, fm.ended_by) AS why"
    " FROM family_members fm WHERE fm.guild_id = ? AND fm.left_at >= ? AND fm.left_at < ?"
    " AND fm.ended_by != 'transfer' AND fm.started_as = 'creator'"
)


@dataclass(frozen=True)
class Quality:
    checkins: int
    with_feedback: int
    median_response_minutes: float | None

    @property
    def feedback_rate(self) -> float:
        return self.with_feedback / self.checkins if self.checkins else 0.0


def _quality(minutes: list[float | None]) -> Quality:
    answered = [m for m in minutes if m is not None]
    return Quality(len(minutes), len(answered), median(answered) if answered else None)


def _stats(start: datetime, end: datetime, members_start: int, members_end: int, joins: int,
           ended: list[Any], rule: str) -> FamilyStats:
    average = (members_start + members_end) / 2
    reasons: dict[str, int] = {}
    for row in ended:
        reasons[row["why"]] = reasons.get(row["why"], 0) + 1
    tenures = [
        (from_db(r["left_at"]) - from_db(r["joined_at"])).total_seconds() / 86400
        for r in ended
    ]
    return FamilyStats(
        start=start, end=end, members=members_end, members_start=members_start,
        joins=joins, leaves=len(ended),
        attrition=len(ended) / average if average else None,
        median_tenure_days=median(tenures) if tenures else None,
        reasons=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        counted=rule,
    )


@dataclass(frozen=True)
class KpiReport:
    """/family stats: membership KPIs and service quality of a family or the program."""

    stats: FamilyStats
    quality: Quality


# Every family at once (the scorecard): the same figures as the one-family statements above,
# grouped by family. (guild, start, end, left out)
QUALITY_BY_FAMILY = """
    WITH q AS MATERIALIZED (
        SELECT c.family_id, r.minutes FROM checkins c
        LEFT JOIN checkin_response r ON r.checkin_id = c.id
        WHERE c.guild_id = ? AND c.created_at >= ? AND c.created_at < ?
          AND c.family_id IS NOT NULL AND c.user_id NOT IN (SELECT value FROM json_each(?))),
    answered AS (
        SELECT family_id, minutes, row_number() OVER (PARTITION BY family_id ORDER BY minutes)
               AS i, count(*) OVER (PARTITION BY family_id) AS n
        FROM q WHERE minutes IS NOT NULL),
    medians AS (  -- the middle answer, or the mean of the two middle ones
        SELECT family_id, avg(minutes) AS median_minutes FROM answered
        WHERE i IN ((n + 1) / 2, (n + 2) / 2) GROUP BY family_id)
    SELECT q.family_id, count(*) AS checkins, count(q.minutes) AS with_feedback,
           m.median_minutes
    FROM q LEFT JOIN medians m ON m.family_id = q.family_id GROUP BY q.family_id"""
# The same counts without the medians (guild, start, end, left out).
FEEDBACK_COUNTS_BY_FAMILY = (
    "SELECT c.family_id, count(*) AS checkins, count(r.checkin_id) AS with_feedback,"
    " NULL AS median_minutes FROM checkins c"
    " LEFT JOIN checkin_response r ON r.checkin_id = c.id"
    " WHERE c.guild_id = ? AND c.created_at >= ? AND c.created_at < ?"
    " AND c.family_id IS NOT NULL AND c.user_id NOT IN (SELECT value FROM json_each(?))"
    " GROUP BY c.family_id"
)
# (start, end, guild, left out)
MEMBERS_BY_FAMILY = (
    "SELECT fm.family_id,"
    " sum(fm.joined_at < ?1 AND (fm.left_at IS NULL OR fm.left_at >= ?1)"
    "     AND fm.user_id NOT IN (SELECT value FROM json_each(?4))) AS at_start,"
    " sum(fm.joined_at < ?2 AND (fm.left_at IS NULL OR fm.left_at >= ?2)"
    "     AND fm.user_id NOT IN (SELECT value FROM json_each(?4))) AS at_end,"
    " sum(fm.joined_at >= ?1 AND fm.joined_at < ?2 AND fm.started_as = 'creator') AS joins"
    " FROM family_members fm WHERE fm.guild_id = ?3 AND fm.joined_at < ?2"
    " GROUP BY fm.family_id"
)
ENDED_BY_FAMILY = (
    "SELECT fm.family_id, fm.joined_at, fm.left_at, coalesce(fm.leave_reason, fm.ended_by)"
    " AS why FROM family_members fm WHERE fm.guild_id = ? AND fm.left_at >= ? AND fm.left_at < ?"
    " AND fm.started_as = 'creator'"
)


class KpiService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def stats_by_family(self, guild_id: int, start: datetime, end: datetime
                              ) -> dict[int, FamilyStats]:
        """:meth:`family_stats` of every family that had a membership before ``end``, in a
        few statements (the scorecard); ``tests/test_insights_scorecard.py`` checks they
        agree family by family."""
        counted = await self._population(guild_id, start, end)
        s, e = to_db(start), to_db(end)
        rows = await self.db.fetchall(MEMBERS_BY_FAMILY, (s, e, guild_id, counted.uncounted()))
        ended: dict[int, list[Any]] = {}
        for r in await self.db.fetchall(ENDED_BY_FAMILY, (guild_id, s, e)):
            ended.setdefault(r["family_id"], []).append(r)
        return {r["family_id"]: _stats(start, end, r["at_start"] or 0, r["at_end"] or 0,
                                       r["joins"] or 0, ended.get(r["family_id"], []),
                                       counted.rule)
                for r in rows}

    async def quality_by_family(self, guild_id: int, start: datetime, end: datetime, *,
                                medians: bool = True) -> dict[int, Quality]:
        """:meth:`quality` of every family with a check-in in the period (without
        ``medians``: the counts only, the median left None)."""
        left_out = (await self._population(guild_id, start, end)).left_out_values()
        rows = await self.db.fetchall(QUALITY_BY_FAMILY if medians else FEEDBACK_COUNTS_BY_FAMILY,
                                      (guild_id, to_db(start), to_db(end), left_out))
        return {r["family_id"]: Quality(r["checkins"], r["with_feedback"], r["median_minutes"])
                for r in rows}

    async def report(self, guild_id: int, family_id: int | None, start: datetime,
                     end: datetime) -> KpiReport:
        """/family stats: membership KPIs and service quality of a family or the program."""
        return KpiReport(await self.family_stats(guild_id, family_id, start, end),
                         await self.quality(guild_id, family_id, start, end))

    async def quality(self, guild_id: int, family_id: int | None, start: datetime,
                      end: datetime) -> Quality:
        left_out = (await self._population(guild_id, start, end)).left_out_values()
        if family_id is None:
            rows = await self.db.fetchall(QUALITY_OF_PROGRAM,
                                          (guild_id, to_db(start), to_db(end), left_out))
        else:
            rows = await self.db.fetchall(QUALITY_OF_FAMILY, (
                guild_id, to_db(start), to_db(end), family_id, left_out))
        return _quality([r["minutes"] for r in rows])

    async def family_stats(
        self, guild_id: int, family_id: int | None, start: datetime, end: datetime
    ) -> FamilyStats:
        program = family_id is None
        scope = (guild_id,) if program else (guild_id, family_id)
        s, e = to_db(start), to_db(end)
        counted = await self._population(guild_id, start, end)
        left_out = counted.uncounted()

        async def active_at(when: str) -> int:
            return await self.db.fetchval(ACTIVE_IN_PROGRAM if program else ACTIVE_IN_FAMILY,
                                          (*scope, when, when, left_out))

        joins = await self.db.fetchval(JOINS_OF_PROGRAM if program else JOINS_OF_FAMILY,
                                       (*scope, s, e))
        ended = await self.db.fetchall(ENDED_IN_PROGRAM if program else ENDED_IN_FAMILY,
                                       (*scope, s, e))
        members_start, members_end = await active_at(s), await active_at(e)
        return _stats(start, end, members_start, members_end, joins, ended, counted.rule)

    async def _population(self, guild_id: int, start: datetime, end: datetime
                          ) -> population.Population:
        return await population.population(self.db, guild_id, *population.days_of(start, end))

"""Family KPIs over a period, for /family stats and the reports.

Definitions (a period is ``start <= t < end``):
- members: memberships begun before ``end`` and not ended before it (``members_start``: the
  same at ``start``), so members = members_start + joins - leaves;
- joins / leaves: memberships started / ended in the period;
- attrition = leaves / average members, average = (members at start + members at end) / 2
  (None when both are 0);
- reasons: leaves by leave reason (removals, transfers and archiving by how they ended);
- median tenure: median days in the family of the memberships that ended in the period;
- service quality: check-ins made in the period, how many got a leader's feedback, and the
  median minutes from check-in to the first feedback.
For the whole program (``family_id`` None) a transfer is neither a join nor a leave.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

from bot.clock import from_db, to_db
from bot.db import Database


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


# A membership that began as the other half of a transfer (program-wide it is no join).
# Each statement comes twice: for one family, and for the whole program, where a transfer
# (a membership begun the moment another ended by transfer) is neither a join nor a leave.
QUALITY_OF_FAMILY = (
    "SELECT r.minutes FROM checkins c LEFT JOIN checkin_response r ON r.checkin_id = c.id"
    " WHERE c.guild_id = ? AND c.created_at >= ? AND c.created_at < ? AND c.family_id = ?"
)
QUALITY_OF_PROGRAM = (
    "SELECT r.minutes FROM checkins c LEFT JOIN checkin_response r ON r.checkin_id = c.id"
    " WHERE c.guild_id = ? AND c.created_at >= ? AND c.created_at < ?"
)
# (guild, family, when, when)
ACTIVE_IN_FAMILY = (
    "SELECT count(*) FROM family_members fm WHERE fm.guild_id = ? AND fm.family_id = ?"
    " AND fm.joined_at < ? AND (fm.left_at IS NULL OR fm.left_at >= ?)"
)
# (guild, when, when)
ACTIVE_IN_PROGRAM = (
    "SELECT count(*) FROM family_members fm WHERE fm.guild_id = ?"
    " AND fm.joined_at < ? AND (fm.left_at IS NULL OR fm.left_at >= ?)"
)
JOINS_OF_FAMILY = (
    "SELECT count(*) FROM family_members fm WHERE fm.guild_id = ? AND fm.family_id = ?"
    " AND fm.joined_at >= ? AND fm.joined_at < ?"
)
JOINS_OF_PROGRAM = (
    "SELECT count(*) FROM family_members fm WHERE fm.guild_id = ?"
    " AND fm.joined_at >= ? AND fm.joined_at < ?"
    " AND NOT EXISTS (SELECT 1 FROM family_members p WHERE p.guild_id = fm.guild_id"
    " AND p.user_id = fm.user_id AND p.ended_by = 'transfer' AND p.left_at = fm.joined_at)"
)
ENDED_IN_FAMILY = (
    "SELECT fm.joined_at, fm.left_at, coalesce(fm.leave_reason, fm.ended_by) AS why"
    " FROM family_members fm WHERE fm.guild_id = ? AND fm.family_id = ?"
    " AND fm.left_at >= ? AND fm.left_at < ?"
)
ENDED_IN_PROGRAM = (
    "SELECT fm.joined_at, fm.left_at, coalesce(fm.leave_reason, fm.ended_by) AS why"
    " FROM family_members fm WHERE fm.guild_id = ? AND fm.left_at >= ? AND fm.left_at < ?"
    " AND fm.ended_by != 'transfer'"
)


@dataclass(frozen=True)
class Quality:
    checkins: int
    with_feedback: int
    median_response_minutes: float | None

    @property
    def feedback_rate(self) -> float:
        return self.with_feedback / self.checkins if self.checkins else 0.0


@dataclass(frozen=True)
class KpiReport:
    """/family stats: membership KPIs and service quality of a family or the program."""

    stats: FamilyStats
    quality: Quality


class KpiService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def report(self, guild_id: int, family_id: int | None, start: datetime,
                     end: datetime) -> KpiReport:
        """/family stats: membership KPIs and service quality of a family or the program."""
        return KpiReport(await self.family_stats(guild_id, family_id, start, end),
                         await self.quality(guild_id, family_id, start, end))

    async def quality(self, guild_id: int, family_id: int | None, start: datetime,
                      end: datetime) -> Quality:
        if family_id is None:
            rows = await self.db.fetchall(QUALITY_OF_PROGRAM,
                                          (guild_id, to_db(start), to_db(end)))
        else:
            rows = await self.db.fetchall(QUALITY_OF_FAMILY,
                                          (guild_id, to_db(start), to_db(end), family_id))
        minutes = [r["minutes"] for r in rows if r["minutes"] is not None]
        return Quality(len(rows), len(minutes), median(minutes) if minutes else None)

    async def family_stats(
        self, guild_id: int, family_id: int | None, start: datetime, end: datetime
    ) -> FamilyStats:
        program = family_id is None
        scope = (guild_id,) if program else (guild_id, family_id)
        s, e = to_db(start), to_db(end)

        async def active_at(when: str) -> int:
            return await self.db.fetchval(ACTIVE_IN_PROGRAM if program else ACTIVE_IN_FAMILY,
                                          (*scope, when, when))

        joins = await self.db.fetchval(JOINS_OF_PROGRAM if program else JOINS_OF_FAMILY,
                                       (*scope, s, e))
        ended = await self.db.fetchall(ENDED_IN_PROGRAM if program else ENDED_IN_FAMILY,
                                       (*scope, s, e))
        members_start, members_end = await active_at(s), await active_at(e)
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
        )

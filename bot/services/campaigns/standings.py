"""Standings: each participant's value of the campaign's metric, ranks, and a creator's or a
family's progress towards the goal.

Values: the goal metric summed over the campaign's local days from each creator's check-ins,
or for hours, diamonds and followers the platform's daily figures where the guild's sources
say so (:mod:`bot.services.day_figures`; ``days`` counts check-in days; ``streak`` is the
longest streak inside the campaign). The
campaign's days are named in the guild's zone; each creator's check-ins are counted by their
own local day, as everywhere else.

The board (:meth:`CampaignStandings.board`) reads ``campaign_totals`` (0014: the same sums,
kept by triggers on every check-in write) for its first page and the viewer's own rank, so a
board view does not sum a whole program's check-ins and rank everyone; the participants are
asked of the database with the rule :meth:`~CampaignStore.participants` applies.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.services import audience as audience_of
from bot.services import day_figures
from bot.services.campaigns import arithmetic as cm
from bot.services.campaigns.models import (
    Campaign,
    CreatorProgress,
    FamilyProgress,
    Standings,
)
from bot.services.campaigns.store import CampaignStore
from bot.services.leaderboards import Row

REST_DAYS = "SELECT rest_days FROM checkin_settings WHERE guild_id = ?"
CHECKIN_DAYS = (
    "SELECT user_id, local_date FROM checkins WHERE guild_id = ? AND local_date BETWEEN ? AND ?"
)
HOURS = (
    "SELECT user_id, sum(hours) AS v FROM checkins WHERE guild_id = ?"
    " AND local_date BETWEEN ? AND ? GROUP BY user_id"
)
DIAMONDS = (
    "SELECT user_id, sum(diamonds) AS v FROM checkins WHERE guild_id = ?"
    " AND local_date BETWEEN ? AND ? GROUP BY user_id"
)
FOLLOWERS = (
    "SELECT user_id, sum(followers) AS v FROM checkins WHERE guild_id = ?"
    " AND local_date BETWEEN ? AND ? GROUP BY user_id"
)
DAYS = (
    "SELECT user_id, count(*) AS v FROM checkins WHERE guild_id = ?"
    " AND local_date BETWEEN ? AND ? GROUP BY user_id"
)
# metric → its statement (``streak`` is computed from the days, below)
SUMS = {"hours": HOURS, "diamonds": DIAMONDS, "followers": FOLLOWERS, "days": DAYS}

# Who is on a board, as a condition on a campaign_totals row ``t``: the rule of
# CampaignStore.participants (enrolled; the audience of an automatic campaign, today, for a
# draft or scheduled one; both while it runs). The audience conditions are audience.py's
# CREATORS_OF_* (active members of active families; of the chosen families; holding one of
# the chosen tiers); tests/test_views_campaign_board.py checks the two stay the same.
ENROLLED_WHO = (
    "EXISTS (SELECT 1 FROM campaign_enrolments e WHERE e.campaign_id = t.campaign_id"
    " AND e.user_id = t.user_id)"
)
_MEMBER = (
    "EXISTS (SELECT 1 FROM family_members fm JOIN families f ON f.id = fm.family_id"
    " AND f.archived_at IS NULL WHERE fm.guild_id = t.guild_id AND fm.user_id = t.user_id"
    " AND fm.left_at IS NULL"
)
AUDIENCE_WHO = {
    "all": _MEMBER + ")",
    "families": _MEMBER + " AND fm.family_id IN"
                " (SELECT j.value FROM json_each(:audience_ids) j))",
    "tiers": _MEMBER + " AND EXISTS (SELECT 1 FROM member_tiers mt WHERE mt.guild_id ="
             " fm.guild_id AND mt.user_id = fm.user_id AND mt.tier_id IN"
             " (SELECT j.value FROM json_each(:audience_ids) j)))",
}
# The board's first page: participants above zero, highest first, ties by user id, straight
# from the index (the first ``size`` rows are all that is read).
BOARD_TOP = (
    "SELECT t.user_id, t.value FROM campaign_totals t INDEXED BY campaign_totals_rank"
    " WHERE t.campaign_id = :campaign_id AND t.value > 0 AND ({who})"
    " ORDER BY t.value DESC, t.user_id LIMIT :size"
)
# The viewer's value and rank: 1 + the participants above them (ties share a rank).
BOARD_ME = (
    "SELECT me.value, 1 + (SELECT count(*) FROM campaign_totals t"
    " INDEXED BY campaign_totals_rank WHERE t.campaign_id = :campaign_id"
    " AND t.value > me.value AND ({who})) AS rank"
    " FROM (SELECT t.value FROM campaign_totals t WHERE t.campaign_id = :campaign_id"
    " AND t.user_id = :viewer_id AND t.value > 0 AND ({who})) AS me"
)


@dataclass(frozen=True)
class CampaignBoard:
    """A campaign board's first page (ranked as :func:`~.arithmetic.ranked`) and the
    viewer's own row (None when they are not on the board)."""

    rows: list[Row]
    me: Row | None
    # creators shown whose figure holds the platform's (imported), not only their check-ins
    imported: frozenset[int] = frozenset()


class CampaignStandings(CampaignStore):
    async def values(self, guild_id: int, metric: str, first: date, last: date
                     ) -> dict[int, float]:
        """Everyone's value of ``metric`` over their local days ``first..last``."""
        if metric == "streak":
            rest = await self.db.fetchval(REST_DAYS, (guild_id,))
            rows = await self.db.fetchall(
                CHECKIN_DAYS, (guild_id, first.isoformat(), last.isoformat()))
            days: dict[int, set[date]] = defaultdict(set)
            for r in rows:
                days[r["user_id"]].add(date.fromisoformat(r["local_date"]))
            return {u: float(cm.best_streak(d, first, last, 1 if rest is None else rest))
                    for u, d in days.items()}
        if metric not in SUMS:
            raise KeyError(metric)
        if metric in day_figures.FOLLOWING and await day_figures.has_imports(
                self.db, guild_id, first, last):  # one truth per figure
            return (await day_figures.sums(self.db, guild_id, metric, first, last))[0]
        rows = await self.db.fetchall(SUMS[metric], (guild_id, first.isoformat(),
                                                     last.isoformat()))
        return {r["user_id"]: float(round(r["v"], 2)) for r in rows}

    async def standings(self, found: Campaign) -> Standings:
        """The participants (→ family) and their values."""
        people = await self.participants(found)
        everyone = await self.values(found.guild_id, found.metric, found.first_day,
                                     found.last_day)
        return Standings(people, {u: everyone.get(u, 0.0) for u in people})

    async def board_rows(self, found: Campaign) -> list[Row]:
        """The campaign board as leaderboard rows (rendered with the leaderboards' lines):
        the participants ranked, ties shared, zeros left out."""
        return [Row(rank, user_id, value)
                for rank, user_id, value in cm.ranked((await self.standings(found)).values)]

    def _who(self, found: Campaign) -> str:
        """Who is on ``found``'s board, as :meth:`participants` says."""
        if found.opt_in or found.state not in ("draft", "scheduled", "running"):
            return ENROLLED_WHO
        audience = AUDIENCE_WHO[found.audience]
        if found.state == "running":  # newcomers to the audience count
            return f"{ENROLLED_WHO} OR {audience}"
        return audience

    async def board(self, found: Campaign, viewer_id: int, size: int) -> CampaignBoard:
        """The campaign board's first ``size`` rows and the viewer's row: the same ranks and
        values as :meth:`board_rows`, read from the kept totals."""
        if found.metric == "streak":  # not a sum, not kept: ranked from everyone's days
            rows = await self.board_rows(found)
            me = next((r for r in rows if r.user_id == viewer_id), None)
            return CampaignBoard(rows[:size], me)
        who = self._who(found)  # written from the constants above only
        top, mine = BOARD_TOP.format(who=who), BOARD_ME.format(who=who)
        params: dict[str, Any] = {"campaign_id": found.id, "size": size, "viewer_id": viewer_id,
                                  "audience_ids": audience_of.id_list(found.audience_ids)}
        ranked = cm.ranked_in_order((r["user_id"], float(r["value"]))
                                    for r in await self.db.fetchall(top, params))
        rows = [Row(rank, user_id, value) for rank, user_id, value in ranked]
        me = next((r for r in rows if r.user_id == viewer_id), None)
        if me is None:
            row = await self.db.fetchone(mine, params)
            me = Row(row["rank"], viewer_id, float(row["value"])) if row else None
        return CampaignBoard(rows, me, await self.imported(found, rows, me))

    async def imported(self, found: Campaign, rows: list[Row], me: Row | None
                       ) -> frozenset[int]:
        """Who among ``rows`` and ``me`` has a figure from the platform in the campaign."""
        if found.metric not in day_figures.FOLLOWING or not await day_figures.has_imports(
                self.db, found.guild_id, found.first_day, found.last_day):
            return frozenset()
        days = [(found.first_day + timedelta(days=i)).isoformat() for i in range(found.days)]
        return await day_figures.imported_on_days(
            self.db, found.guild_id, found.metric, days,
            [r.user_id for r in rows] + ([me.user_id] if me else []))

    async def progress_of(self, guild_id: int, user_id: int, campaign: Campaign | None
                          ) -> CreatorProgress:
        """A creator's progress in ``campaign`` (None: the one they most likely mean)."""
        found = campaign or await self.current_for(guild_id, user_id)
        now = await self.standings(found)
        people, values = now.people, now.values
        in_audience = user_id in people or user_id in await self.audience(guild_id, found)
        rank = next((r for r, u, _ in cm.ranked(values) if u == user_id), None)
        family_id = people.get(user_id)
        family = (await self.family_standing(found, family_id, people, values)
                  if family_id else None)
        return CreatorProgress(found, user_id, user_id in people, in_audience,
                               values.get(user_id, 0.0), rank, family)

    async def family_progress(self, guild_id: int, campaign: Campaign | None, family_id: int,
                              viewer_id: int) -> FamilyProgress:
        found = campaign or await self.current_for(guild_id, viewer_id)
        return await self.progress_of_family(found, family_id)

    async def progress_of_family(self, found: Campaign, family_id: int) -> FamilyProgress:
        now = await self.standings(found)
        return await self.family_standing(found, family_id, now.people, now.values)

    async def family_standing(self, found: Campaign, family_id: int,
                              people: dict[int, int | None], values: dict[int, float]
                              ) -> FamilyProgress:
        """A family's progress from :meth:`standings` already read (the weekly digests read
        them once for every family)."""
        family = await self.families.get(found.guild_id, family_id)
        target = found.target_creator
        members = sorted(((u, values.get(u, 0.0), bool(target and values.get(u, 0.0) >= target))
                          for u, f in people.items() if f == family_id),
                         key=lambda m: (-m[1], m[0]))
        return FamilyProgress(found, family_id, family.name, members,
                              round(sum(m[1] for m in members), 2))

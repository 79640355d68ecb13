"""A finished campaign's results: the snapshot's summary with the uplift, who reached the
goal in each family, the CSV, and how the announcements went."""

from __future__ import annotations

import csv
import io
from collections import defaultdict

from bot.clock import from_db
from bot.errors import UserError
from bot.services import day_figures, population
from bot.services.campaigns import arithmetic as cm
from bot.services.campaigns.models import MANAGERS, Campaign, PostReport, Results
from bot.services.campaigns.store import CampaignStore

# A reward's state: as its delivery 'campaign-reward:<campaign>:<user>' went (a role already
# in place: 'had'), else as recorded (none; or granted, had, failed before the queue).
REWARD_COUNTS = (
    "SELECT CASE WHEN d.id IS NULL THEN r.reward_state WHEN d.state = 'sent' THEN"
    " CASE d.outcome WHEN 'already' THEN 'had' ELSE 'granted' END"
    " WHEN d.state = 'failed' THEN 'failed' ELSE 'pending' END AS reward, count(*) AS n"
    " FROM campaign_results r LEFT JOIN deliveries d ON d.guild_id = r.guild_id"
    " AND d.dedupe_key = 'campaign-reward:' || r.campaign_id || ':' || r.user_id"
    " WHERE r.campaign_id = ? GROUP BY reward"
)
RESULT_ROWS = (
    "SELECT r.*, f.name AS family,"
    " CASE WHEN d.id IS NULL THEN r.reward_state WHEN d.state = 'sent' THEN"
    " CASE d.outcome WHEN 'already' THEN 'had' ELSE 'granted' END"
    " WHEN d.state = 'failed' THEN 'failed' ELSE 'pending' END AS reward"
    " FROM campaign_results r LEFT JOIN families f ON f.id = r.family_id"
    " LEFT JOIN deliveries d ON d.guild_id = r.guild_id"
    " AND d.dedupe_key = 'campaign-reward:' || r.campaign_id || ':' || r.user_id"
    " WHERE r.campaign_id = ? ORDER BY r.participant DESC, r.value DESC, r.user_id"
)
# A post's state: as its delivery 'campaign-post:<id>' went (queued: pending, sending:
# claimed), else as recorded (pending, skipped; or sent, failed before the queue).
POST_STATES = (
    "SELECT CASE d.state WHEN 'queued' THEN 'pending' WHEN 'sending' THEN 'claimed'"
    " ELSE coalesce(d.state, p.state) END AS state,"
    " CASE WHEN d.id IS NULL THEN p.error ELSE d.error END AS error, count(*) AS n"
    " FROM campaign_posts p LEFT JOIN deliveries d ON d.guild_id = p.guild_id"
    " AND d.dedupe_key = 'campaign-post:' || p.id"
    " WHERE p.campaign_id = ? AND p.family_id != ? GROUP BY 1, 2"
)


class CampaignResults(CampaignStore):
    async def results(self, guild_id: int, campaign_id: int) -> Results:
        found = await self.get(guild_id, campaign_id)
        await self._results_ready(found)
        s = found.summary or {}
        rewards = {r["reward"]: r["n"] for r in await self.db.fetchall(
            REWARD_COUNTS, (campaign_id,))}
        u = s["uplift"]
        compared = u.get("compared")  # None in results taken before the uplift was honest
        uplift = cm.Uplift(cm.Group(*u["participants"]), cm.Group(*u["others"]),
                           (cm.Group(*compared[0]), cm.Group(*compared[1])) if compared else None,
                           u.get("days", 0))
        reached: dict[int, list[int]] = defaultdict(list)
        if found.target_creator:  # with only a family goal, nobody reaches one of their own
            for r in await self.db.fetchall(
                    "SELECT family_id, user_id FROM campaign_results WHERE campaign_id = ? AND"
                    " participant = 1 AND reached = 1 AND family_id IS NOT NULL"
                    " ORDER BY value DESC, user_id", (campaign_id,)):
                reached[r["family_id"]].append(r["user_id"])
        return Results(found, s["audience"], s["participants"], s["reached"], s["families"],
                       uplift, rewards, dict(reached), await self.post_report(campaign_id),
                       from_db(s["final_at"]) if s.get("final_at") else None,
                       s.get("counted", population.DEFAULT_RULE), s.get("source"),
                       s.get("imports", []), await self._later_imports(found))

    async def _later_imports(self, found: Campaign) -> list[int]:
        """Daily imports applied or rolled back over the campaign's days after its results
        were taken: they changed its board's figures, not its results."""
        if found.metric not in day_figures.FOLLOWING:
            return []
        rows = await self.db.fetchall(day_figures.IMPORTS_SINCE, (
            found.id, found.guild_id, found.last_day.isoformat(), found.first_day.isoformat()))
        return [r["id"] for r in rows]

    async def _results_ready(self, found: Campaign) -> Campaign:
        """The campaign, if its results are taken; else why not (not over yet, or over and
        waiting for the last check-in window: see the life cycle)."""
        if found.state == "finished" and found.summary:
            return found
        if found.state == "running" and found.ends_at <= self.clock.now():
            raise UserError("campaigns.results_pending", at=await self.final_at(found))
        raise UserError("campaigns.no_results_yet", state=found.state)

    async def results_csv(self, guild_id: int, campaign_id: int) -> str:
        found = await self._results_ready(await self.get(guild_id, campaign_id))
        rows = await self.db.fetchall(RESULT_ROWS, (campaign_id,))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["user_id", "family_id", "family", "participant", f"{found.metric}",
                         f"{found.metric}_before", "reached", "reward"])
        for r in rows:
            writer.writerow([r["user_id"], r["family_id"] or "", r["family"] or "",
                             r["participant"], _plain(r["value"]), _plain(r["before"]),
                             r["reached"], r["reward"]])
        return out.getvalue()

    async def post_report(self, campaign_id: int) -> PostReport:
        """How the family-channel announcements went (every stage; not the managers' copy),
        as the delivery queue has them."""
        states: dict[str, int] = defaultdict(int)
        reasons: dict[str, int] = defaultdict(int)
        for r in await self.db.fetchall(POST_STATES, (campaign_id, MANAGERS)):
            states[r["state"]] += r["n"]
            if r["state"] == "failed":
                reasons[r["error"] or "unexpected"] += r["n"]
        return PostReport(dict(states), dict(reasons))


def _plain(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.2f}"

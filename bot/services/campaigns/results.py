"""A finished campaign's results: the snapshot's summary with the uplift, who reached the
goal in each family, the CSV, and how the announcements went."""

from __future__ import annotations

import csv
import io
from collections import defaultdict

from bot.errors import UserError
from bot.services.campaigns import arithmetic as cm
from bot.services.campaigns.models import MANAGERS, PostReport, Results
from bot.services.campaigns.store import CampaignStore


class CampaignResults(CampaignStore):
    async def results(self, guild_id: int, campaign_id: int) -> Results:
        found = await self.get(guild_id, campaign_id)
        if found.state != "finished" or not found.summary:
            raise UserError("campaigns.no_results_yet", state=found.state)
        s = found.summary
        rewards = {r["reward_state"]: r["n"] for r in await self.db.fetchall(
            "SELECT reward_state, count(*) AS n FROM campaign_results WHERE campaign_id = ?"
            " GROUP BY reward_state", (campaign_id,))}
        uplift = cm.Uplift(cm.Group(*s["uplift"]["participants"]),
                           cm.Group(*s["uplift"]["others"]))
        reached: dict[int, list[int]] = defaultdict(list)
        if found.target_creator:  # with only a family goal, nobody reaches one of their own
            for r in await self.db.fetchall(
                    "SELECT family_id, user_id FROM campaign_results WHERE campaign_id = ? AND"
                    " participant = 1 AND reached = 1 AND family_id IS NOT NULL"
                    " ORDER BY value DESC, user_id", (campaign_id,)):
                reached[r["family_id"]].append(r["user_id"])
        return Results(found, s["audience"], s["participants"], s["reached"], s["families"],
                       uplift, rewards, dict(reached), await self.post_report(campaign_id))

    async def results_csv(self, guild_id: int, campaign_id: int) -> str:
        found = await self.get(guild_id, campaign_id)
        if found.state != "finished":
            raise UserError("campaigns.no_results_yet", state=found.state)
        rows = await self.db.fetchall(
            "SELECT r.*, f.name AS family FROM campaign_results r LEFT JOIN families f"
            " ON f.id = r.family_id WHERE r.campaign_id = ? ORDER BY r.participant DESC,"
            " r.value DESC, r.user_id", (campaign_id,))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["user_id", "family_id", "family", "participant", f"{found.metric}",
                         f"{found.metric}_before", "reached", "reward"])
        for r in rows:
            writer.writerow([r["user_id"], r["family_id"] or "", r["family"] or "",
                             r["participant"], _plain(r["value"]), _plain(r["before"]),
                             r["reached"], r["reward_state"]])
        return out.getvalue()

    async def post_report(self, campaign_id: int) -> PostReport:
        """How the family-channel announcements went (every stage; not the managers' copy)."""
        states: dict[str, int] = defaultdict(int)
        reasons: dict[str, int] = defaultdict(int)
        for r in await self.db.fetchall(
                "SELECT state, error, count(*) AS n FROM campaign_posts WHERE campaign_id = ?"
                " AND family_id != ? GROUP BY state, error", (campaign_id, MANAGERS)):
            states[r["state"]] += r["n"]
            if r["state"] == "failed":
                reasons[r["error"] or "unexpected"] += r["n"]
        return PostReport(dict(states), dict(reasons))


def _plain(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.2f}"

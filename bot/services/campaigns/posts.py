"""The campaigns' post and reward queue, as the sender in ``cogs/_campaign_posts.py`` drains
it: claiming announcements, settling them, and the reward roles still to give."""

from __future__ import annotations

from dataclasses import replace

from bot.clock import to_db
from bot.services.campaigns.models import Post, post_from_row
from bot.services.campaigns.store import CampaignStore

POST_ATTEMPTS = 3


class CampaignPosts(CampaignStore):
    # -- reward roles --------------------------------------------------------------------------

    async def pending_rewards(self, limit: int = 50) -> list[tuple[int, int, int, int]]:
        """(campaign, guild, user, role) still to be given, oldest campaign first."""
        rows = await self.db.fetchall(
            "SELECT r.campaign_id, r.guild_id, r.user_id, c.reward_role_id FROM"
            " campaign_results r JOIN campaigns c ON c.id = r.campaign_id WHERE"
            " r.reward_state = 'pending' ORDER BY r.campaign_id, r.user_id LIMIT ?", (limit,))
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def reward_done(self, campaign_id: int, user_id: int, state: str,
                          error: str | None = None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE campaign_results SET reward_state = ?, reward_error = ? WHERE"
                " campaign_id = ? AND user_id = ? AND reward_state = 'pending'",
                (state, error, campaign_id, user_id))

    # -- the announcement queue ----------------------------------------------------------------

    async def claim_posts(self, limit: int = 10) -> list[Post]:
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT * FROM campaign_posts WHERE state = 'pending' ORDER BY id LIMIT ?",
                (limit,))
            if rows:
                marks = ",".join("?" * len(rows))
                await tx.execute(
                    f"UPDATE campaign_posts SET state = 'claimed', claimed_at = ?, attempts ="
                    f" attempts + 1 WHERE id IN ({marks})",
                    (to_db(self.clock.now()), *[r["id"] for r in rows]))
        return [replace(post_from_row(r), claimed_at=self.clock.now(),
                        attempts=r["attempts"] + 1)
                for r in rows]

    async def ambiguous_posts(self) -> list[Post]:
        """Rows a dead process claimed: sent or not, only the channel can tell."""
        rows = await self.db.fetchall(
            "SELECT * FROM campaign_posts WHERE state = 'claimed' ORDER BY id")
        return [post_from_row(r) for r in rows]

    async def finish_post(self, post: Post, *, message_id: int | None = None,
                          error: str | None = None, retry: bool = False) -> None:
        if message_id is not None:
            state = "sent"
        elif retry and post.attempts < POST_ATTEMPTS:
            state = "pending"
        else:
            state = "failed"
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE campaign_posts SET state = ?, message_id = ?, error = ?, sent_at = ?"
                " WHERE id = ?", (state, message_id, error,
                                  to_db(self.clock.now()) if message_id else None, post.id))

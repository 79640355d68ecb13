"""Handing the campaigns' stage posts and reward roles to the Discord delivery queue.

A stage post is recorded by the sweep (``campaign_posts``, ``pending``) in the transaction of
its stage. :meth:`CampaignPosts.queue_posts` then has it rendered (by the cog: templates and
buttons) and hands it over in one transaction: the record becomes ``claimed`` and the delivery
``campaign-post:<post id>`` is queued, so a post is never queued twice and a crash in between
leaves it pending for the next pass. The queue row says whether Discord took it (the reports
read it back). A managers' copy of the results waits until the family posts of its stage are
settled, since it reports how they went.

Reward roles are queued by the sweep when the campaign finishes (:data:`REWARD_KIND`, one
``role_add`` per member who reached the goal: nobody loses a role); the sender records
whether the member already had it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.clock import to_db
from bot.delivery.queue import Send
from bot.services.campaigns.models import MANAGERS, Post, post_from_row
from bot.services.campaigns.store import CampaignStore
from bot.text import split_text

log = logging.getLogger(__name__)

POST_KIND = "campaign_post"
REWARD_KIND = "campaign_reward"
REWARD_REASON = "Familia: campaign reward"
# A post's payload (``content``, ``components``, ``files``), rendered by the cog.
Render = Callable[[Post], Awaitable[dict[str, Any]]]

# Pending posts in order; a managers' copy only once no family post of its stage is pending
# or in the queue still.
POSTS_TO_QUEUE = (
    "SELECT p.* FROM campaign_posts p WHERE p.state = 'pending' AND (p.family_id != :managers"
    " OR NOT EXISTS (SELECT 1 FROM campaign_posts f LEFT JOIN deliveries d"
    " ON d.guild_id = f.guild_id AND d.dedupe_key = 'campaign-post:' || f.id"
    " WHERE f.campaign_id = p.campaign_id AND f.stage = p.stage AND f.family_id != :managers"
    " AND (f.state = 'pending' OR d.state IN ('queued', 'sending'))))"
    " ORDER BY p.id LIMIT :limit"
)
HAND_OVER = (
    "UPDATE campaign_posts SET state = 'claimed', claimed_at = ? WHERE id = ?"
    " AND state = 'pending'"
)
UNRENDERABLE = (
    "UPDATE campaign_posts SET state = 'failed', error = 'unexpected' WHERE id = ?"
    " AND state = 'pending'"
)
MANAGERS_WAITING = (
    "SELECT 1 FROM campaign_posts WHERE state = 'pending' AND family_id = ? LIMIT 1"
)


def post_key(post_id: int) -> str:
    """The dedupe key of a stage post's delivery."""
    return f"campaign-post:{post_id}"


def reward_key(campaign_id: int, user_id: int) -> str:
    return f"campaign-reward:{campaign_id}:{user_id}"


def reward_send(campaign_id: int, user_id: int, role_id: int) -> Send:
    return Send(REWARD_KIND, reward_key(campaign_id, user_id), "role_add", user_id,
                {"reason": REWARD_REASON}, source=f"campaign-reward:{campaign_id}",
                role_id=role_id)


class CampaignPosts(CampaignStore):
    async def queue_posts(self, render: Render, limit: int = 50) -> dict[int, list[str]]:
        """Hand the pending stage posts over to the delivery queue, each rendered by
        ``render``; returns the dedupe keys queued, by guild. A post that cannot be rendered
        is recorded as failed (``unexpected``)."""
        rows = await self.db.fetchall(POSTS_TO_QUEUE,
                                      {"managers": MANAGERS, "limit": limit})
        queued: dict[int, list[str]] = {}
        for post in map(post_from_row, rows):
            try:
                payload = await render(post)
            except Exception:
                log.exception("campaign post %s could not be rendered", post.id)
                async with self.db.transaction() as tx:
                    await tx.execute(UNRENDERABLE, (post.id,))
                continue
            if post.claimed_at is not None:  # left claimed by the poster before the queue
                last = len(split_text(payload.get("content", ""))) - 1
                payload["nonces"] = [f"cp{post.id}p{i}" for i in range(last)] + [f"cp{post.id}"]
            send = Send(POST_KIND, post_key(post.id), "channel", post.channel_id, payload,
                        source=f"campaign:{post.campaign_id}", channel_id=post.channel_id,
                        sent_since=post.claimed_at)
            async with self.db.transaction() as tx:
                if not await tx.execute(HAND_OVER, (to_db(self.clock.now()), post.id)):
                    continue  # handed over by a concurrent pass
                await self.deliveries.add(tx, post.guild_id, [send])
            queued.setdefault(post.guild_id, []).append(send.dedupe_key)
        if queued:
            self.deliveries.notify()
        return queued

    async def managers_copy_waiting(self) -> bool:
        """A managers' copy of results is still to be handed over (its family posts are not
        all settled yet)."""
        return bool(await self.db.fetchval(MANAGERS_WAITING, (MANAGERS,)))

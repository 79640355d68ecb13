"""The campaign clock's hands: run the sweep, post the queued announcements, give reward roles.

Woken every 30 s by the scheduler (and right after a manager schedules a campaign). One pass
at a time. Announcements are claimed rows (``campaign_posts``) sent with a nonce derived from
the row (Discord deduplicates a resend within minutes) and marked sent with the message id.
Every announcement carries a button whose custom id ends with the row's id, so a row that a
dead process left ``claimed`` is settled by reading the channel: found → sent, else resent.

Reward roles are given one member at a time (the diff: members who already have the role are
recorded as such, nobody loses a role), so discord.py's rate-limit handling paces them.
"""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord

from bot.delivery.sender import failure_reason
from bot.services.campaigns import Post
from bot.text import split_text

if TYPE_CHECKING:
    from bot.app import FamiliaBot

log = logging.getLogger(__name__)
RESOLVE_SLACK = timedelta(seconds=60)


async def results_file(service: Any, guild_id: int, campaign_id: int) -> discord.File:
    """Every creator's figures of a finished campaign, as a CSV attachment."""
    data = (await service.results_csv(guild_id, campaign_id)).encode()
    return discord.File(io.BytesIO(data), filename=f"campaign-{campaign_id}-results.csv")


class CampaignPoster:
    def __init__(self, bot: FamiliaBot, views: Any) -> None:
        self.bot = bot
        self.views = views  # builds the buttons of a post: (campaign, post_id, locale) -> View
        self._lock = asyncio.Lock()
        self._resolved = False

    @property
    def service(self):
        return self.bot.services.campaigns

    async def tick(self) -> None:
        if self._lock.locked():
            return  # a pass is running; it will see whatever is due
        async with self._lock:
            done = await self.service.sweep()
            if any(done.values()):
                log.info("campaigns: %s", done)
            if not self.bot.is_ready():
                return
            if not self._resolved:
                await self.resolve_ambiguous()
                self._resolved = True
            await self.drain()
            await self.grant_rewards()

    # -- announcements -------------------------------------------------------------------------

    async def render(self, post: Post) -> tuple[str, discord.ui.View, list[discord.File]]:
        """A post's text, buttons and files: a family's announcement, or the managers' copy
        of the results (the analysis of ``/campaign results`` with its CSV)."""
        campaign = await self.service.get(post.guild_id, post.campaign_id)
        locale = (await self.bot.services.guilds.get(post.guild_id)).locale
        if post.for_managers:
            results = await self.service.results(post.guild_id, campaign.id)
            text = self.bot.templates.render(locale, "discord/campaigns/results.md.j2",
                                             results=results)
            return (text, self.views(campaign, post, locale),
                    [await results_file(self.service, post.guild_id, campaign.id)])
        family = results = None
        if post.stage == "results":
            results = await self.service.results(post.guild_id, campaign.id)
        elif post.stage != "start":
            family = await self.service.progress_of_family(campaign, post.family_id)
        text = self.bot.templates.render(
            locale, "discord/campaigns/announcement.md.j2", campaign=campaign,
            stage=post.stage, family=family, results=results, family_id=post.family_id,
            late=post.late)
        return text, self.views(campaign, post, locale), []

    async def drain(self) -> None:
        while posts := await self.service.claim_posts():
            for post in posts:
                await self.deliver(post)

    async def deliver(self, post: Post) -> None:
        try:
            text, view, files = await self.render(post)
            channel = self.bot.get_partial_messageable(post.channel_id, guild_id=post.guild_id)
            *lead, last = split_text(text)  # a long description: clean cuts, buttons last
            for i, part in enumerate(lead):
                await channel.send(part, nonce=f"cp{post.id}p{i}",
                                   allowed_mentions=discord.AllowedMentions.none())
            message = await channel.send(last, view=view, files=files, nonce=f"cp{post.id}",
                                         allowed_mentions=discord.AllowedMentions.none())
        except Exception as exc:
            reason = failure_reason(exc)
            if reason == "unexpected":
                log.exception("campaign post %s failed", post.id)
            await self.service.finish_post(post, error=reason or "discord_unavailable",
                                           retry=reason is None)
        else:
            await self.service.finish_post(post, message_id=message.id)

    async def resolve_ambiguous(self) -> None:
        for post in await self.service.ambiguous_posts():
            try:
                found = await self._find(post)
            except discord.HTTPException as exc:
                await self.service.finish_post(post, error=failure_reason(exc) or "unreadable")
                continue
            if found:
                await self.service.finish_post(post, message_id=found)
            else:
                await self.service.finish_post(post, error="resent", retry=True)

    async def _find(self, post: Post) -> int | None:
        """The id of the bot's message for ``post`` in its channel, if it got there."""
        if post.claimed_at is None:
            return None
        channel = self.bot.get_partial_messageable(post.channel_id, guild_id=post.guild_id)
        after = discord.Object(discord.utils.time_snowflake(post.claimed_at - RESOLVE_SLACK))
        suffix = f":{post.id}"
        async for message in channel.history(limit=200, after=after):
            if message.author.id != (self.bot.user.id if self.bot.user else 0):
                continue
            for row in message.components:
                for item in getattr(row, "children", []):
                    if (getattr(item, "custom_id", None) or "").endswith(suffix):
                        return message.id
        return None

    # -- reward roles --------------------------------------------------------------------------

    async def grant_rewards(self) -> None:
        while todo := await self.service.pending_rewards():
            for campaign_id, guild_id, user_id, role_id in todo:
                state, error = await self._grant(guild_id, user_id, role_id)
                await self.service.reward_done(campaign_id, user_id, state, error)

    async def _grant(self, guild_id: int, user_id: int, role_id: int) -> tuple[str, str | None]:
        guild = self.bot.get_guild(guild_id)
        role = guild.get_role(role_id) if guild else None
        if guild is None or role is None:
            return "failed", "role_gone"
        try:
            member = guild.get_member(user_id) or await guild.fetch_member(user_id)
        except discord.NotFound:
            return "failed", "left_server"
        except discord.HTTPException as exc:
            return "failed", failure_reason(exc)
        if role in member.roles:
            return "had", None
        try:
            await member.add_roles(role, reason="Familia: campaign reward")
        except discord.HTTPException as exc:
            return "failed", failure_reason(exc)
        return "granted", None

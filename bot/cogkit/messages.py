"""Small helpers for what cogs post on their own (not in reply to a command)."""

from __future__ import annotations

from typing import Any

import discord

NO_PINGS = discord.AllowedMentions.none()


async def locale_of(bot: Any, guild_id: int, user_id: int | None = None) -> str:
    """The language of messages a member did not ask for (see MemberService.locale_of)."""
    return await bot.services.members.locale_of(guild_id, user_id)


async def channel_of(bot: Any, channel_id: int | None) -> Any:
    if not channel_id:
        return None
    channel = bot.get_channel(channel_id)
    if channel is None:
        try:
            channel = await bot.fetch_channel(channel_id)
        except discord.HTTPException:
            return None
    return channel

"""A tier sweep's promotions, announced in each family's channel (in the server's language):
one queued post per family, keyed by who was promoted to what (so never twice). Used by
``/tier sweep apply`` and by the scheduled sweep's Approve."""

from __future__ import annotations

import hashlib
from typing import Any

from bot.delivery.queue import Send
from bot.services.tiers import TierChange


async def promotions(bot: Any, guild_id: int, changes: list[TierChange]) -> list[Send]:
    locale = (await bot.services.guilds.get(guild_id)).locale
    by_family: dict[int, list[TierChange]] = {}
    for change in changes:
        if change.promotion:
            by_family.setdefault(change.family_id, []).append(change)
    channels = await bot.services.tiers.family_channels(guild_id)
    posts = []
    for family_id, promoted in by_family.items():
        channel_id = channels.get(family_id)  # one read for every family
        if not channel_id:
            continue
        text = bot.templates.render(locale, "discord/families/promotions.md.j2",
                                    changes=promoted)
        which = ",".join(f"{c.user_id}:{c.new.id if c.new else 0}" for c in promoted)
        key = f"tier-promotions:{family_id}:{hashlib.sha1(which.encode()).hexdigest()[:16]}"
        posts.append(Send("tier_promotion", key, "channel", channel_id,
                          {"content": text}, channel_id=channel_id))
    return posts

"""Founding a family, for every place that does it (/family create, the /setup wizard): its
role and private channel are made on Discord first, then the record is stored (and the
Discord objects removed again if storing fails, so a refused call leaves nothing half-done);
the leaders are asked by DM to accept the program agreement."""

from __future__ import annotations

from typing import Any

import discord

from bot.cogkit import discord_ops as dd
from bot.cogkit.agreement import AgreeButton
from bot.cogkit.buttons import labels
from bot.delivery.queue import Send
from bot.services.families import AGREEMENT_VERSION, Appointed, Family
from bot.services.families.store import Posts

label = labels("discord/families/labels.j2")


async def agreement_dm(bot: Any, guild_id: int, *user_ids: int | None) -> Posts[Appointed]:
    """The DM asking a newly appointed leader to accept the program agreement (an Accept
    button), in their language; the families service queues it for those who have not."""
    locales = {u: await bot.services.members.locale_of(guild_id, u)
               for u in user_ids if u is not None}

    def dm(made: Appointed) -> list[Send]:
        locale = locales[made.user_id]
        text = bot.templates.render(
            locale, "discord/families/appointed.md.j2", family=made.family,
            position=made.position, actor_id=made.actor_id, version=AGREEMENT_VERSION)
        view = discord.ui.View(timeout=None)
        view.add_item(AgreeButton(label(bot, locale, "accept"), guild_id=guild_id,
                                  version=AGREEMENT_VERSION))
        key = (f"family-appointed:{made.family.id}:{made.position}:{made.user_id}"
               f":{AGREEMENT_VERSION}")
        return [Send("family_agreement", key, "dm", made.user_id, {
            "content": text, "mentions": {"users": []}, "components": view.to_components()})]
    return dm


async def found_family(bot: Any, guild: discord.Guild, actor_id: int, name: str,
                       leader_id: int, *, co_leader_id: int | None = None,
                       capacity: int | None = None) -> Family:
    """Create the family ``name`` (checked by ``families.check_new`` already) with its role
    and private channel, led by ``leader_id``."""
    dd.need(guild, dd.MANAGE_ROLES, dd.MANAGE_CHANNELS)
    settings = await bot.services.guilds.get(guild.id)
    role = channel = None
    try:
        role = await dd.create_role(guild, name)
        channel = await dd.create_channel(guild, name, role,
                                          settings.channels.get("family_category"),
                                          settings.manager_role_id)
        # Given here, not queued: Discord's answer is what tells whether Familia can hand
        # out the new role at all (its own role high enough), before anything is stored.
        for user_id in filter(None, (leader_id, co_leader_id)):
            await dd.set_roles(guild, user_id, add=[role.id])
        family: Family = await bot.services.families.create(
            guild.id, actor_id, name, leader_id, co_leader_id=co_leader_id,
            capacity=capacity, channel_id=channel.id, role_id=role.id,
            ask_agreement=await agreement_dm(bot, guild.id, leader_id, co_leader_id),
        )
    except Exception:
        await dd.delete_quietly(channel, role)
        raise
    return family

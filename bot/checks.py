"""Permission checks, the same decorators on every command.

- ``manager_only()``: Manage Server permission, or the guild's configured manager role.
- ``creator_only()``: a member in the program (creator, leader or manager).
- Leader-of-this-family checks live with families: :func:`require_leader_of`.
"""

from __future__ import annotations

import discord
from discord import app_commands

from bot.errors import NotAllowed
from bot.interactions import Denied, familia
from bot.services.guilds import GuildSettings


def member_is_manager(member: discord.Member, settings: GuildSettings) -> bool:
    if member.guild_permissions.manage_guild:
        return True
    return settings.manager_role_id is not None and any(
        role.id == settings.manager_role_id for role in member.roles
    )


async def is_manager(interaction: discord.Interaction) -> bool:
    member = interaction.user
    if interaction.guild_id is None or not isinstance(member, discord.Member):
        return False
    settings = await familia(interaction).services.guilds.get(interaction.guild_id)
    return member_is_manager(member, settings)


def manager_only():
    """Only program managers may run the command."""

    async def predicate(interaction: discord.Interaction) -> bool:
        if await is_manager(interaction):
            return True
        raise Denied(NotAllowed("common.managers_only"))

    return app_commands.check(predicate)


def creator_only():
    """Only members of the program (or managers) may run the command."""

    async def predicate(interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        member = await familia(interaction).services.members.get(
            interaction.guild_id, interaction.user.id
        )
        if (member is not None and member.in_program) or await is_manager(interaction):
            return True
        raise Denied(NotAllowed("common.program_only"))

    return app_commands.check(predicate)

"""Permission checks, the same decorators on every command.

- ``manager_only()``: Manage Server permission, or the guild's configured manager role.
- ``creator_only()``: a member in the program (creator, leader or manager).
- ``leader_or_manager()``: a family leader or co-leader, or a manager; which family a leader
  may act on is checked by the families service (their own only).
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


async def require_creator(interaction: discord.Interaction) -> bool:
    """A member of the program (or a manager), else refused: ``creator_only`` as a call, for
    buttons that re-check what their command checked."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    member = await familia(interaction).services.members.get(
        interaction.guild_id, interaction.user.id
    )
    if (member is not None and member.in_program) or await is_manager(interaction):
        return True
    raise Denied(NotAllowed("common.program_only"))


def creator_only():
    """Only members of the program (or managers) may run the command."""
    return app_commands.check(require_creator)


async def led_family(interaction: discord.Interaction):
    """The active family ``interaction.user`` leads or co-leads, or None."""
    if interaction.guild_id is None:
        return None
    return await familia(interaction).services.families.family_led_by(
        interaction.guild_id, interaction.user.id
    )


def leader_or_manager():
    """Only family leaders (for their own family) and managers may run the command."""

    async def predicate(interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        if await is_manager(interaction) or await led_family(interaction) is not None:
            return True
        raise Denied(NotAllowed("families.leaders_only"))

    return app_commands.check(predicate)

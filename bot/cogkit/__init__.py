"""The toolkit every cog uses: where an interaction happened, restart-proof buttons, and
options that arrive typed (a family, a tier, a day…) with autocomplete and a localised refusal.

Cogs import from here, never from another cog.
"""

from __future__ import annotations

import discord

from bot.errors import UserError


def guild_id(interaction: discord.Interaction) -> int:
    """The guild the interaction happened in. Every Familia command is guild-only; should one
    arrive from a DM anyway, the user gets the same refusal as a guild-only command."""
    if interaction.guild_id is None:
        raise UserError("common.guild_only")
    return interaction.guild_id


def guild(interaction: discord.Interaction) -> discord.Guild:
    """The cached guild of the interaction (refused, like :func:`guild_id`, outside one)."""
    if interaction.guild is None:
        raise UserError("common.guild_only")
    return interaction.guild

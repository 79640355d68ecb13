"""Option helpers shared by cogs: autocomplete and choices (private, not an extension)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T

from bot import timezones


async def timezone_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=z, value=z) for z in timezones.search(current)]


LANGUAGE_CHOICES = [
    app_commands.Choice(name=_T("English"), value="en"),
    app_commands.Choice(name=_T("Spanish"), value="es"),
]

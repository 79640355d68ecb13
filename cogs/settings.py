"""/settings: a manager views and changes the guild's program settings."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import manager_only
from bot.cogkit.options import LANGUAGE_CHOICES, ZoneText, timezone_autocomplete
from bot.interactions import reply

CHANNEL_KIND_CHOICES = [
    app_commands.Choice(name=_T("Announcements"), value="announcements"),
    app_commands.Choice(name=_T("Leaderboard"), value="leaderboard"),
    app_commands.Choice(name=_T("Managers' log"), value="managers"),
    app_commands.Choice(name=_T("Family channels category"), value="family_category"),
]

LEADERS_CHOICES = [
    app_commands.Choice(name=_T("On the days they stream"), value="streaming"),
    app_commands.Choice(name=_T("Always, like creators"), value="always"),
    app_commands.Choice(name=_T("Never"), value="never"),
]


class SettingsCog(commands.Cog):
    settings = app_commands.Group(
        name=_T("settings"),
        description=_T("View or change this server's Familia settings (managers)"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    async def _show(self, interaction: discord.Interaction, changed: str | None = None) -> None:
        current = await self.bot.services.guilds.get(cogkit.guild_id(interaction))
        await reply(interaction, "discord/settings/view.md.j2", settings=current, changed=changed)

    @settings.command(name=_T("view"), description=_T("Show the current settings"))
    @manager_only()
    async def view(self, interaction: discord.Interaction) -> None:
        await self._show(interaction)

    @settings.command(name=_T("timezone"), description=_T("Set the program's time zone"))
    @app_commands.describe(zone=_T("An IANA time zone, for example America/Mexico_City"))
    @app_commands.autocomplete(zone=timezone_autocomplete)
    @manager_only()
    async def timezone(self, interaction: discord.Interaction, zone: ZoneText) -> None:
        await self.bot.services.guilds.set_timezone(
            cogkit.guild_id(interaction), interaction.user.id, zone
        )
        await self._show(interaction, changed="timezone")

    @settings.command(name=_T("language"), description=_T("Set the program's default language"))
    @app_commands.describe(language=_T("The language used when a member has not chosen one"))
    @app_commands.choices(language=LANGUAGE_CHOICES)
    @manager_only()
    async def language(self, interaction: discord.Interaction, language: str) -> None:
        await self.bot.services.guilds.set_locale(
            cogkit.guild_id(interaction), interaction.user.id, language
        )
        interaction.extras.pop("locale", None)
        await self._show(interaction, changed="language")

    @settings.command(
        name=_T("manager-role"), description=_T("Set or clear the role of program managers")
    )
    @app_commands.describe(role=_T("Members with this role are managers; leave empty to clear"))
    @manager_only()
    async def manager_role(
        self, interaction: discord.Interaction, role: discord.Role | None = None
    ) -> None:
        await self.bot.services.guilds.set_manager_role(
            cogkit.guild_id(interaction), interaction.user.id, role.id if role else None
        )
        await self._show(interaction, changed="manager_role")

    @settings.command(
        name=_T("figures"), description=_T("Choose whether leaders count in the figures")
    )
    @app_commands.describe(leaders=_T("When leaders and co-leaders count in every figure"))
    @app_commands.choices(leaders=LEADERS_CHOICES)
    @manager_only()
    async def figures(self, interaction: discord.Interaction, leaders: str) -> None:
        await self.bot.services.guilds.set_leaders_count(
            cogkit.guild_id(interaction), interaction.user.id, leaders
        )
        await self._show(interaction, changed="figures")

    @settings.command(name=_T("channel"), description=_T("Choose where Familia posts"))
    @app_commands.rename(kind=_T("purpose"))
    @app_commands.describe(
        kind=_T("What Familia posts there"),
        channel=_T("The channel (a category for family channels); leave empty to clear"),
    )
    @app_commands.choices(kind=CHANNEL_KIND_CHOICES)
    @manager_only()
    async def channel(
        self,
        interaction: discord.Interaction,
        kind: str,
        channel: discord.TextChannel | discord.CategoryChannel | None = None,
    ) -> None:
        await self.bot.services.guilds.set_channel(
            cogkit.guild_id(interaction),
            interaction.user.id,
            kind,
            channel.id if channel else None,
            is_category=isinstance(channel, discord.CategoryChannel) if channel else None,
        )
        await self._show(interaction, changed="channel")


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(SettingsCog(bot))

"""/me: anyone sets their own time zone and language."""

from __future__ import annotations

import io
import json

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.cogkit.options import LANGUAGE_CHOICES, ZoneText, timezone_autocomplete
from bot.interactions import FamiliaView, familia, locale_for, reply

FOLLOW = "auto"


class MeCog(commands.Cog):
    me = app_commands.Group(
        name=_T("me"), description=_T("Your own Familia preferences"), guild_only=True
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    async def _show(self, interaction: discord.Interaction, changed: str | None = None) -> None:
        guild_id, user_id = cogkit.guild_id(interaction), interaction.user.id
        member = await self.bot.services.members.get(guild_id, user_id)
        guild = await self.bot.services.guilds.get(guild_id)
        await reply(
            interaction, "discord/me/view.md.j2", member=member, guild=guild, changed=changed
        )

    @me.command(name=_T("view"), description=_T("Show your time zone and language"))
    async def view(self, interaction: discord.Interaction) -> None:
        await self._show(interaction)

    @me.command(name=_T("timezone"), description=_T("Set your own time zone"))
    @app_commands.describe(zone=_T("An IANA time zone; leave empty to use the server's"))
    @app_commands.autocomplete(zone=timezone_autocomplete)
    async def timezone(self, interaction: discord.Interaction,
                       zone: ZoneText | None = None) -> None:
        await self.bot.services.members.set_timezone(
            cogkit.guild_id(interaction), interaction.user.id, zone
        )
        await self._show(interaction, changed="timezone")

    @me.command(name=_T("language"), description=_T("Set the language Familia speaks to you"))
    @app_commands.describe(language=_T("Your language, or Automatic to follow Discord"))
    @app_commands.choices(
        language=[*LANGUAGE_CHOICES, app_commands.Choice(name=_T("Automatic"), value=FOLLOW)]
    )
    async def language(self, interaction: discord.Interaction, language: str) -> None:
        await self.bot.services.members.set_locale(
            cogkit.guild_id(interaction),
            interaction.user.id,
            None if language == FOLLOW else language,
        )
        interaction.extras.pop("locale", None)
        await self._show(interaction, changed="language")

    @me.command(name=_T("export"), description=_T("Get a file with all Familia holds about you"))
    async def export(self, interaction: discord.Interaction) -> None:
        data = await self.bot.services.privacy.export(
            cogkit.guild_id(interaction), interaction.user.id
        )
        blob = json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()
        file = discord.File(io.BytesIO(blob), filename=f"familia-{interaction.user.id}.json")
        await reply(interaction, "discord/me/export.md.j2", tables=len(data), files=[file])

    @me.command(name=_T("delete"), description=_T("Delete all Familia holds about you"))
    async def delete(self, interaction: discord.Interaction) -> None:
        await reply(interaction, "discord/me/delete_confirm.md.j2", view=DeleteConfirm())


class DeleteConfirm(FamiliaView):
    """Asks once more before deleting; only the person who asked sees it (ephemeral)."""

    def __init__(self) -> None:
        super().__init__(timeout=300)

    @discord.ui.button(label="✓", style=discord.ButtonStyle.danger, custom_id="familia:me:delete")
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        # the answer is in the language they had: read before their settings go with the rest
        await locale_for(interaction)
        counts = await familia(interaction).services.privacy.delete(
            cogkit.guild_id(interaction), interaction.user.id
        )
        await reply(interaction, "discord/me/deleted.md.j2", rows=sum(counts.values()))
        self.stop()


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(MeCog(bot))

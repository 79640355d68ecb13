"""/me: anyone sets their own time zone and language."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.cogkit.buttons import PersistentButton
from bot.cogkit.options import LANGUAGE_CHOICES, ZoneText, timezone_autocomplete
from bot.errors import UserError
from bot.interactions import familia, locale_for, reply

FOLLOW = "auto"
CONFIRM_WINDOW = timedelta(minutes=5)  # a /me delete confirmation expires (and says so)


class MeCog(commands.Cog):
    me = app_commands.Group(
        name=_T("me"), description=_T("Your own Familia preferences"), guild_only=True
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(DeleteConfirm)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(DeleteConfirm)

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
        view = discord.ui.View(timeout=None)
        view.add_item(DeleteConfirm())
        await reply(interaction, "discord/me/delete_confirm.md.j2", view=view)


class DeleteConfirm(PersistentButton, custom_id="familia:me:delete"):
    """Asks once more before deleting; only the person who asked sees it (ephemeral). It
    deletes the clicker's own data in the server clicked in, and answers even after a
    restart: a confirmation older than ``CONFIRM_WINDOW`` says it expired."""

    style = discord.ButtonStyle.danger
    default_label = "✓"

    async def run(self, interaction: discord.Interaction) -> None:
        bot = familia(interaction)
        asked = interaction.message.created_at if interaction.message else None
        if asked is None or bot.clock.now() - asked > CONFIRM_WINDOW:
            raise UserError("common.confirm_expired")
        # the answer is in the language they had: read before their settings go with the rest
        await locale_for(interaction)
        counts = await bot.services.privacy.delete(
            cogkit.guild_id(interaction), interaction.user.id
        )
        await reply(interaction, "discord/me/deleted.md.j2", rows=sum(counts.values()))


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(MeCog(bot))

"""/email: an address per member, verified by a code; preferences; the digest schedule.

The email machinery (the sender task, the web server, the digest sweep) is built in the
composition root (``bot/compose.py``) and started and stopped by the bot, not here.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import is_manager, manager_only
from bot.cogkit.options import LANGUAGE_CHOICES, CodeText, EmailText
from bot.i18n import normalise
from bot.interactions import reply

DAY_CHOICES = [
    app_commands.Choice(name=_T(day), value=i)
    for i, day in enumerate(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                             "Saturday", "Sunday"))
]


class EmailCog(commands.Cog):
    email = app_commands.Group(
        name=_T("email"), description=_T("Get Familia's emails: your address and what to send"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    @property
    def service(self):
        return self.bot.services.email

    # -- commands ------------------------------------------------------------------------

    @email.command(name=_T("set"), description=_T("Set your email address; a code is sent to it"))
    @app_commands.describe(address=_T("Your email address, like name@example.com"))
    async def set_(self, interaction: discord.Interaction, address: EmailText) -> None:
        found = await self.service.set_address(
            cogkit.guild_id(interaction), interaction.user.id, address,
            normalise(interaction.locale.value))
        await reply(interaction, "discord/email/code_sent.md.j2", masked=found.masked,
                    minutes=15)

    @email.command(name=_T("verify"), description=_T("Confirm your address with the code"))
    @app_commands.describe(code=_T("The 6-digit code from the email"))
    async def verify(self, interaction: discord.Interaction, code: CodeText) -> None:
        found = await self.service.verify(
            cogkit.guild_id(interaction), interaction.user.id, code,
            await is_manager(interaction))
        await reply(interaction, "discord/email/preferences.md.j2", found=found,
                    changed="verified")

    @email.command(name=_T("preferences"),
                   description=_T("See or change which emails you get"))
    @app_commands.describe(
        digest=_T("The weekly digest"), day=_T("The day your weekly digest comes"),
        campaigns=_T("News about campaigns and events"),
        broadcasts=_T("Announcements from the program managers"),
        reminders=_T("Check-in reminders by email"), language=_T("The language of your emails"))
    # day's choices are ints and language's strings: one decorator cannot type both
    @app_commands.choices(day=DAY_CHOICES, language=LANGUAGE_CHOICES)  # type: ignore[misc]
    async def preferences(
        self, interaction: discord.Interaction, digest: bool | None = None,
        day: int | None = None, campaigns: bool | None = None, broadcasts: bool | None = None,
        reminders: bool | None = None, language: str | None = None,
    ) -> None:
        found = await self.service.set_preferences(
            cogkit.guild_id(interaction), interaction.user.id,
            await is_manager(interaction), weekly_digest=digest, digest_day=day,
            campaigns=campaigns, broadcasts=broadcasts, reminders=reminders, locale=language)
        changed = any(v is not None for v in (digest, day, campaigns, broadcasts, reminders,
                                              language))
        await reply(interaction, "discord/email/preferences.md.j2", found=found,
                    changed="saved" if changed else None)

    @email.command(name=_T("remove"), description=_T("Forget your email address"))
    async def remove(self, interaction: discord.Interaction) -> None:
        await self.service.remove(cogkit.guild_id(interaction), interaction.user.id)
        await reply(interaction, "discord/email/removed.md.j2")

    @email.command(name=_T("schedule"),
                   description=_T("When weekly digests go out in this server (managers)"))
    @app_commands.describe(day=_T("The day digests go out"),
                           hour=_T("The hour (0-23), in each person's own time zone"))
    @app_commands.choices(day=DAY_CHOICES)
    @manager_only()
    async def schedule(self, interaction: discord.Interaction, day: int,
                       hour: app_commands.Range[int, 0, 23] = 9) -> None:
        found = await self.bot.services.digests.set_schedule(
            cogkit.guild_id(interaction), interaction.user.id, day, hour)
        await reply(interaction, "discord/email/schedule.md.j2", schedule=found)


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(EmailCog(bot))

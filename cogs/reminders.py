"""/reminders dm on|off and /reminders why; delivers what the reminder sweep claims.

APScheduler only wakes the sweep (every REMINDER_SWEEP_SECONDS, plus one catch-up at start);
ReminderService decides what is due and guarantees each reminder is sent at most once.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import creator_only
from bot.cogkit.messages import NO_PINGS, channel_of, locale_of
from bot.interactions import reply
from bot.services.reminders import Due, Outcome

log = logging.getLogger("familia.reminders")
JOB_ID = "familia:reminders:sweep"
DMS_CLOSED = 50007

ROLLCALL_MENTIONS = 60  # a mention is at most 25 characters with its comma


class RemindersCog(commands.Cog, name="Reminders"):
    reminders = app_commands.Group(
        name=_T("reminders"), description=_T("Your check-in reminders"), guild_only=True
    )
    dm = app_commands.Group(name=_T("dm"), description=_T("A personal reminder by DM"),
                            parent=reminders)

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.jobs.every(JOB_ID, self.sweep,
                            seconds=self.bot.settings.reminder_sweep_seconds, catch_up=True)

    async def cog_unload(self) -> None:
        self.bot.jobs.remove(JOB_ID)

    async def sweep(self) -> list[tuple[Due, Outcome]]:
        await self.bot.wait_until_ready()
        return await self.bot.services.reminders.sweep(self.deliver)

    # -- delivery ----------------------------------------------------------------------------

    async def deliver(self, due: Due) -> Outcome:
        if due.kind == "rollcall":
            await self._rollcall(due, due.users)
            return Outcome("sent", "channel")
        name = "reminder_dm.md.j2" if due.kind == "dm" else "summary.md.j2"
        locale = await locale_of(self.bot, due.guild_id, due.recipient_id)
        text = self.bot.templates.render(locale, f"discord/checkins/{name}", due=due)
        try:
            user = self.bot.get_user(due.recipient_id) or await self.bot.fetch_user(
                due.recipient_id)
            await user.send(text, allowed_mentions=NO_PINGS)
            return Outcome("sent", "dm")
        except discord.Forbidden as exc:
            if exc.code != DMS_CLOSED:
                raise
        # DMs closed: fall back to the family channel, and say so in the record.
        if due.kind == "dm":
            await self._rollcall(due, [due.recipient_id])
        else:
            channel = await channel_of(self.bot, due.channel_id)
            if channel is None:
                return Outcome("failed", "none", {"error": "dms_closed_no_channel"})
            guild_locale = await locale_of(self.bot, due.guild_id)
            await channel.send(self.bot.templates.render(
                guild_locale, "discord/checkins/summary.md.j2", due=due), allowed_mentions=NO_PINGS)
        return Outcome("sent", "channel", {"fallback": "dms_closed"})

    async def _rollcall(self, due: Due, users: list[int]) -> None:
        channel = await channel_of(self.bot, due.channel_id)
        if channel is None:
            raise LookupError(f"family channel {due.channel_id} not found")
        locale = await locale_of(self.bot, due.guild_id)
        # One message per family; a very big one is cut into messages of ROLLCALL_MENTIONS
        # names so that each stays within Discord's 2,000 characters.
        for start in range(0, len(users), ROLLCALL_MENTIONS):
            part = users[start:start + ROLLCALL_MENTIONS]
            text = self.bot.templates.render(locale, "discord/checkins/rollcall.md.j2", due=due,
                                             users=part)
            await channel.send(text, allowed_mentions=discord.AllowedMentions(
                everyone=False, roles=False, users=[discord.Object(u) for u in part]))

    # -- commands ----------------------------------------------------------------------------

    @dm.command(name=_T("on"), description=_T("Get a DM if you have not checked in by a time"))
    @app_commands.describe(time=_T("Your local time, such as 20:00"))
    @creator_only()
    async def dm_on(self, interaction: discord.Interaction, time: str) -> None:
        value = await self.bot.services.reminders.set_dm(
            cogkit.guild_id(interaction), interaction.user.id, time
        )
        zone = await self.bot.services.members.timezone_of(
            cogkit.guild_id(interaction), interaction.user.id
        )
        await reply(interaction, "discord/checkins/reminders_set.md.j2", time=value, zone=zone)

    @dm.command(name=_T("off"), description=_T("Stop the personal DM reminder"))
    @creator_only()
    async def dm_off(self, interaction: discord.Interaction) -> None:
        await self.bot.services.reminders.set_dm(
            cogkit.guild_id(interaction), interaction.user.id, None
        )
        await reply(interaction, "discord/checkins/reminders_set.md.j2", time=None, zone=None)

    @reminders.command(name=_T("why"), description=_T("What reminders were sent to you lately"))
    @creator_only()
    async def why(self, interaction: discord.Interaction) -> None:
        guild_id, user_id = cogkit.guild_id(interaction), interaction.user.id
        items = await self.bot.services.reminders.why(guild_id, user_id)
        dm_time = await self.bot.services.reminders.dm_time(guild_id, user_id)
        zone = await self.bot.services.members.timezone_of(guild_id, user_id)
        await reply(interaction, "discord/checkins/why.md.j2", items=items, dm_time=dm_time,
                    zone=zone)


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(RemindersCog(bot))

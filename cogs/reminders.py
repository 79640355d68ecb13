"""/reminders dm on|off and /reminders why; renders what the reminder sweep claims.

APScheduler only wakes the sweep (every REMINDER_SWEEP_SECONDS, plus one catch-up at start);
ReminderService decides what is due and queues each reminder's messages exactly once in the
Discord delivery queue; the one sender (:mod:`bot.delivery.sender`) delivers them.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import creator_only
from bot.cogkit.messages import locale_of
from bot.cogkit.options import TimeText
from bot.delivery.queue import Send
from bot.interactions import reply
from bot.services.reminders import Due, Outcome

log = logging.getLogger("familia.reminders")
JOB_ID = "familia:reminders:sweep"

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
        """Queue what is due, and report it once the sender has delivered it."""
        await self.bot.wait_until_ready()
        reminders = self.bot.services.reminders
        return await reminders.settled(await reminders.sweep(self.render))

    # -- what is sent ------------------------------------------------------------------------

    async def render(self, due: Due) -> list[Send]:
        """A reminder's Discord messages: a roll-call in the family channel, or a DM (the
        recipient's language) whose fallback, if the DMs are closed, is the family channel
        (the server's language)."""
        key, source = f"reminder:{due.id}", f"reminder:{due.id}"
        if due.kind == "rollcall":
            return [await self._rollcall(due, due.users, key)]
        name = "reminder_dm.md.j2" if due.kind == "dm" else "summary.md.j2"
        locale = await locale_of(self.bot, due.guild_id, due.recipient_id)
        text = self.bot.templates.render(locale, f"discord/checkins/{name}", due=due)
        fallback = None
        if due.kind == "dm" and due.channel_id:
            fallback = await self._rollcall(due, [due.recipient_id], f"{key}:fallback")
        elif due.channel_id:
            guild_locale = await locale_of(self.bot, due.guild_id)
            fallback = Send("summary", f"{key}:fallback", "channel", due.channel_id, {
                "content": self.bot.templates.render(
                    guild_locale, "discord/checkins/summary.md.j2", due=due),
            }, source=source, channel_id=due.channel_id)
        payload = {"content": text, "fallback": asdict(fallback) if fallback else None}
        return [Send(due.kind, key, "dm", due.recipient_id, payload, source=source)]

    async def _rollcall(self, due: Due, users: list[int], key: str) -> Send:
        """One message per family; a very big one is cut into messages of ROLLCALL_MENTIONS
        names so that each stays within Discord's 2,000 characters."""
        locale = await locale_of(self.bot, due.guild_id)
        parts = [self.bot.templates.render(locale, "discord/checkins/rollcall.md.j2", due=due,
                                           users=users[start:start + ROLLCALL_MENTIONS])
                 for start in range(0, len(users), ROLLCALL_MENTIONS)]
        if due.channel_id is None:
            raise LookupError(f"reminder {due.id}: the family has no channel")
        return Send("rollcall", key, "channel", due.channel_id,
                    {"parts": parts, "mentions": {"users": users}},
                    source=f"reminder:{due.id}", channel_id=due.channel_id)

    # -- commands ----------------------------------------------------------------------------

    @dm.command(name=_T("on"), description=_T("Get a DM if you have not checked in by a time"))
    @app_commands.describe(time=_T("Your local time, such as 20:00"))
    @creator_only()
    async def dm_on(self, interaction: discord.Interaction, time: TimeText) -> None:
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
                    zone=zone, split=True)


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(RemindersCog(bot))

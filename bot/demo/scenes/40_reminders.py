"""Reminders that never spam: a creator's own DM reminder, the family's roll-call naming only
who has not checked in, the leader's daily summary, and what was sent, asked afterwards."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

TITLE = "Reminders"


async def play(demo) -> None:
    maria, rosa, ana = demo.people["maria"], demo.person("rosa"), demo.person("ana")
    services, gid = demo.bot.services, demo.guild.id
    zone = ZoneInfo((await services.guilds.get(gid)).timezone)
    due = (demo.bot.clock.now().astimezone(zone) - timedelta(minutes=1)).strftime("%H:%M")
    _, channel = await demo.family_led_by(rosa)
    if channel is not None:
        demo.skip(channel)
    demo.narrate("ana has not checked in today; she asks for a DM at a time of her own")
    await demo.command(ana, "reminders", {"time": due}, subcommand=["dm", "on"])
    demo.narrate("maria sets the daily roll-call and the leaders' summary (here: a minute ago)")
    await demo.command(maria, "checkins", {"roll-call": due, "summary": due},
                       subcommand="settings")
    cog = demo.bot.get_cog("Reminders")
    if cog is None:
        return
    demo.narrate("the reminder sweep (every minute) finds them due and sends each once")
    await cog.sweep()
    await cog.sweep()  # a second sweep sends nothing more
    if channel is not None:
        demo.posts(channel)
    demo.dms(ana)
    demo.dms(rosa)
    await demo.command(ana, "reminders", subcommand="why")

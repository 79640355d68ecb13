"""Weekly digests by email: the leader's (with a chart of her family's days), the manager's
(the whole program) and a creator's (her own week, in Spanish) — then the leader leaves the
list with the one-click unsubscribe her mail app offers (RFC 8058)."""

from __future__ import annotations

import re
from datetime import time, timedelta

import aiohttp
from babel.dates import format_date

from bot.clock import FrozenClock
from bot.compose import DIGESTS_JOB
from bot.localtime import at_local, local_date

TITLE = "Weekly digests"
ROSA, LUCIA, MARIA = "rosa@example.org", "lucia@example.org", "maria@example.org"


async def play(demo) -> None:
    maria, rosa = demo.people["maria"], demo.person("rosa")
    lucia = demo.person("lucia", locale="es-419")
    services = demo.bot.services
    tz = (await services.guilds.get(demo.guild.id)).timezone
    tomorrow = local_date(demo.bot.clock.now(), tz) + timedelta(days=1)
    demo.narrate("maria has weekly digests go out on " + format_date(tomorrow, "EEEE")
                 + "s at 09:00, in each reader's own time zone")
    await demo.command(maria, "email", {"day": tomorrow.weekday(), "hour": 9},
                       subcommand="schedule")
    demo.narrate("digests are on for leaders and managers; a creator opts in")
    await demo.command(lucia, "email", {"digest": True}, subcommand="preferences")
    demo.narrate("the next morning: the week that just ended, for each of them; the leader's "
                 "has a chart of her family's days inline in the HTML part")
    services.digests.clock = FrozenClock(at_local(tomorrow, time(10), tz))
    try:
        await demo.bot.jobs.run(DIGESTS_JOB)
    finally:
        services.digests.clock = demo.bot.clock
    digests = await demo.mail(ROSA, lines=13)
    await demo.mail(MARIA, lines=10)
    await demo.mail(LUCIA, lines=8)
    if not digests:
        return
    link = re.search(r"<(https?://[^>]+)>", str(digests[0]["List-Unsubscribe"]))
    if link is None:
        return
    demo.narrate("rosa's mail app shows an Unsubscribe button; it posts the one-click request")
    async with aiohttp.ClientSession() as http, http.post(
            link.group(1), data={"List-Unsubscribe": "One-Click"}) as answer:
        demo.narrate(f"the bot answers {answer.status} {answer.reason}; rosa checks in Discord")
    await demo.command(rosa, "email", subcommand="preferences")
    demo.narrate(f"every email of this run is saved as an .eml file in {demo.settings.outbox_dir}"
                 " — open one with any mail app")

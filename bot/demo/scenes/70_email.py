"""A leader adds her email address (a code by mail, a wrong try, the right one), a creator
does it in Spanish, and a week later the leader's digest arrives — then she leaves the list
with the one-click unsubscribe her mail app offers (RFC 8058)."""

from __future__ import annotations

import re
from datetime import time, timedelta

import aiohttp
from babel.dates import format_date

from bot.clock import FrozenClock
from bot.compose import DIGESTS_JOB
from bot.localtime import at_local, local_date

TITLE = "7 · Email"
SOFIA, LUCIA = "sofia@example.org", "lucia@example.org"


async def play(demo) -> None:
    sofia, lucia = demo.person("sofia"), demo.person("lucia", locale="es-419")
    await demo.command(sofia, "email", {"address": SOFIA}, subcommand="set")
    code = _code(await demo.mail(SOFIA))
    if code is None:
        return
    demo.narrate("a wrong code is refused, and says how many tries are left")
    await demo.command(sofia, "email", {"code": "000000" if code != "000000" else "111111"},
                       subcommand="verify")
    await demo.command(sofia, "email", {"code": code}, subcommand="verify")

    demo.narrate("lucía's Discord is in Spanish, so her code email is too")
    await demo.command(lucia, "email", {"address": LUCIA}, subcommand="set")
    code = _code(await demo.mail(LUCIA, lines=4))
    if code is not None:
        await demo.command(lucia, "email", {"code": code}, subcommand="verify")

    services = demo.bot.services
    tz = (await services.guilds.get(demo.guild.id)).timezone
    tomorrow = local_date(demo.bot.clock.now(), tz) + timedelta(days=1)
    demo.narrate("maria has weekly digests go out on " + format_date(tomorrow, "EEEE")
                 + "s at 09:00, in each reader's own time zone")
    await demo.command(demo.people["maria"], "email", {"day": tomorrow.weekday(), "hour": 9},
                       subcommand="schedule")
    demo.narrate("the next morning: sofia's leader digest of the week that just ended, with a "
                 "chart of her family's days inline in the HTML part")
    services.digests.clock = FrozenClock(at_local(tomorrow, time(10), tz))
    try:
        await demo.bot.jobs.run(DIGESTS_JOB)
    finally:
        services.digests.clock = demo.bot.clock
    digests = await demo.mail(SOFIA, lines=14)
    if not digests:
        return
    link = re.search(r"<(https?://[^>]+)>", str(digests[0]["List-Unsubscribe"]))
    if link is None:
        return
    demo.narrate("her mail app shows an Unsubscribe button; it posts the one-click request")
    async with aiohttp.ClientSession() as http, http.post(
            link.group(1), data={"List-Unsubscribe": "One-Click"}) as answer:
        demo.narrate(f"the bot answers {answer.status} {answer.reason}; sofia checks in Discord")
    await demo.command(sofia, "email", subcommand="preferences")
    demo.narrate(f"every email of this run is saved as an .eml file in {demo.settings.outbox_dir}"
                 " — open one with any mail app")


def _code(mails) -> str | None:
    for mail in mails:
        found = re.search(r"\b(\d{6})\b", mail.get_body(preferencelist=("plain",)).get_content())
        if found:
            return found.group(1)
    return None

"""A manager runs a three-day campaign for a new family (the program's month-long one goes on
meanwhile): options and a form, a private preview, Schedule, the start announcement in the
family channel with its Enrol button, a creator's progress, and three days later the results
post and the manager's analysis with a CSV."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FrozenClock
from bot.localtime import local_date

TITLE = "A campaign"


async def play(demo) -> None:
    maria = demo.people["maria"]
    lucia = demo.person("lucia", locale="es-419")
    channel = demo.emu.channel_by_name(demo.guild, "soles")
    if channel is None:
        demo.narrate("no family channel: the families scene did not run")
        return
    demo.skip(channel)  # what earlier scenes showed
    services, gid = demo.bot.services, demo.guild.id
    today = local_date(demo.bot.clock.now(), (await services.guilds.get(gid)).timezone)
    options = {"name": "Spring push", "metric": "hours", "start": today.isoformat(),
               "end": (today + timedelta(days=2)).isoformat(), "target": 3.0,
               "audience": "families", "families": "Soles", "reminders": "lastday"}
    demo.narrate("an end before the start is refused before the form opens; nothing is stored")
    await demo.command(maria, "campaign", options | {"end": "2020-01-01"}, subcommand="new")
    opened = await demo.command(maria, "campaign", options, subcommand="new")
    if opened.modal is None:
        return
    preview = await demo.fill(maria, opened, {
        "description": "Three hours live in three days, any time you like. Go live together!",
        "reward": "A shout-out on Monday's stream"})
    head = await preview.wait_message()
    schedule = next((c for c in head.custom_ids if c.startswith("familia:cp:schedule:")), None)
    if schedule is None:
        return
    demo.narrate("nothing is posted until she schedules it; it starts today, so at once")
    await demo.click(maria, head, schedule, "Schedule it")
    posts = await demo.wait_posts(channel)
    post = next((p for p in posts if any(c.startswith("familia:cp:enrol:")
                                         for c in p.custom_ids)), None)
    if post is None:
        return
    enrol = next(c for c in post.custom_ids if c.startswith("familia:cp:enrol:"))
    await demo.click(lucia, post, enrol, "Inscribirme")
    await demo.command(lucia, "campaign", subcommand="progress")
    # three days: it ends before the program's own campaign is halfway (its reminder would
    # post in every family channel)
    demo.narrate("three days later, once every creator's last chance to enter the last day"
                 " has passed: the sweep posts the results in the family channel, once")
    found = await services.campaigns.resolve(gid, "Spring push")
    final = await services.campaigns.final_at(found)
    services.campaigns.clock = FrozenClock(max(demo.bot.clock.now() + timedelta(days=3), final))
    cog = demo.bot.get_cog("Campaigns")
    if cog is not None:
        await cog.tick()
        await cog.tick()
    await demo.settled()
    demo.posts(channel)
    await demo.command(maria, "campaign", {"campaign": "Spring push"}, subcommand="results")
    services.campaigns.clock = demo.bot.clock
